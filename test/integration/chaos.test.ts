/**
 * The chaos run in small and pinned (`npm run chaos` is the large one, same harness and checks):
 * 150 orders over the four connectors through the API process and two worker processes, on a
 * Redis of its own (AOF), with the sandbox's random source seeded and a fixed fault schedule:
 * 5xx, 429, resets, commits whose answer is lost, a committed hang, latency; duplicated and
 * late callbacks; forged, tampered and replayed callbacks; one worker SIGKILLed mid-intake and
 * one Redis restart. Then every guarantee is checked (see test/chaos/checks.ts). Recovery
 * figures are printed, never asserted (a busy 2-core machine). No wait of the run has a fixed
 * deadline: each goes on while what it awaits still moves and gives up after 60 s without any
 * progress (see harness.ts), so a busy machine makes this test slower, not red; the safety cap and
 * the test's timeout are there for a run that never ends.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos, type ChaosOptions } from '../chaos/harness.ts';

const options: ChaosOptions = {
  orders: 150,
  seed: 424242,
  workers: 2,
  // 15 min timers last 4.5 s, CryptoSteroid's 30 min 9 s.
  timeScale: 0.005,
  schedule: { paid: 0.4, partly: 0.2, expired: 0.25, failed: 0.15, delayMs: 1000 },
  habits: { duplicateRate: 0.2, lateRate: 0.2 },
  // Count-limited rules: the same requests are hit on every run.
  faults: [
    { fault: 'latency', count: 30, ms: 200 },
    { fault: '5xx', count: 8 },
    { fault: '429', count: 6 },
    { fault: 'reset', count: 3 },
    { fault: 'commit-then-drop', count: 2, provider: 'cryptoprocessing' },
    { fault: 'commit-then-drop', count: 2, provider: 'cryptosteroid' },
    { fault: 'hang', count: 1, commit: true, provider: 'alphapo' },
    { fault: 'hang', count: 1, provider: 'cryptoprocessing', kind: 'payment_request' },
  ],
  events: [
    { afterAccepted: 50, action: 'kill-worker' },
    { afterAccepted: 100, action: 'redis-shutdown' },
  ],
  restartDelayMs: [500, 500],
  forged: 36,
  ratePerSec: 25,
  maxBatch: 10,
  duplicateShare: 0.1,
  conflictShare: 0.05,
  finishAfterMs: 15_000,
  stallMs: 60_000,
  capMs: 20 * 60_000,
};

describe('chaos, small and pinned', () => {
  it('150 orders through faults, a worker SIGKILL and a Redis restart: every guarantee holds', { timeout: 22 * 60_000 }, async (t) => {
    const report = await runChaos(options);
    for (const c of report.checks) t.diagnostic(`${c.ok ? 'pass' : 'FAIL'}: ${c.name}: ${c.detail}`);
    for (const k of report.kills) t.diagnostic(`SIGKILL ${k.worker}: ${k.stalled} stalled jobs, all done after ${k.recoverMs ?? 'n/a'} ms`);
    for (const r of report.restarts)
      t.diagnostic(`redis ${r.how}: down ${r.downtimeMs} ms, next result after ${r.nextResultMs ?? 'n/a'} ms, probe lost ${r.probe.lost} of ${r.probe.acked}`);
    t.diagnostic(`durations: ${JSON.stringify(report.durations)}`);
    t.diagnostic(`settle: ${report.settle.detail}`);

    // The faults really happened, so the checks below mean something.
    assert.equal(report.kills.length, 1, 'one worker killed');
    assert.equal(report.restarts.length, 1, 'one Redis restart');
    const stats = report.sandbox.stats as Record<string, { byStatus: Record<string, number> }>;
    const outcomes = Object.values(stats).flatMap((s) => Object.keys(s.byStatus));
    for (const label of ['429', 'reset', 'dropped', 'hang']) assert.ok(outcomes.includes(label), `fault ${label} injected`);
    assert.ok(
      outcomes.some((l) => /^50\d$/.test(l)),
      'a 5xx injected',
    );
    assert.ok((report.sandbox.deliveries.duplicates ?? 0) > 0 && (report.sandbox.deliveries.late ?? 0) > 0, 'duplicate and late callbacks delivered');
    assert.equal(report.acceptedOrders, options.orders, 'every order accepted (some may be answered "existing" after a lost answer)');

    for (const c of report.checks) assert.ok(c.ok, `${c.name}: ${c.detail}\n${c.examples.join('\n')}${report.settle.settled ? '' : `\n(${report.settle.detail})`}`);
  });
});
