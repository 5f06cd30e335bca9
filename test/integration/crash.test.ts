/**
 * Guarantee 1 across a worker killed with SIGKILL while its create request is in flight: the
 * restarted worker never makes a second invoice, and never reports the order as failed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { startWorkerProcess, workerEnv } from '../helpers/worker-process.ts';

describe('worker killed mid-request', () => {
  let sandbox: Sandbox;
  let t: TestSystem;
  before(async () => {
    sandbox = await startSandbox({ port: 0 });
    t = await startTestSystem({ useSandbox: sandbox, role: 'api' });
  });
  after(async () => {
    await t.close();
    await sandbox.close();
  });

  const cases = [
    { provider: 'cryptoprocessing', commit: true, expect: 'parked' },
    { provider: 'alphapo', commit: false, expect: 'created' },
    { provider: 'cryptosteroid', commit: true, expect: 'parked' },
  ] as const;

  for (const c of cases) {
    it(`${c.provider}: SIGKILL while the provider ${c.commit ? 'has committed' : 'has not committed'} → one invoice at most, ${c.expect}`, async () => {
      const id = `kill-${c.provider}`;
      sandbox.addFault({ provider: c.provider, fault: 'hang', count: 1, commit: c.commit });
      const first = startWorkerProcess(workerEnv(sandbox, t.prefix));
      assert.equal((await t.post('/v1/invoices', sampleOrder(c.provider, id))).status, 202);
      await t.waitFor(async () => (sandbox.stats()[c.provider].byStatus.hang ?? 0) >= 1, 'the request to be in flight');
      const killed = await first.kill('SIGKILL');
      assert.equal(killed.signal, 'SIGKILL');

      const second = startWorkerProcess(workerEnv(sandbox, t.prefix));
      try {
        const rec = await t.waitFor(
          async () => {
            const r = await t.system.store.get(c.provider, id);
            return r && (r.status !== 'queued' || r.reconcile) ? r : null;
          },
          `the restarted worker to settle ${id}`,
          30_000,
        );
        assert.equal(sandbox.count(c.provider, id), c.commit || c.expect === 'created' ? 1 : 0);
        assert.ok(sandbox.count(c.provider, id) <= 1, 'never two invoices');
        // The relay publishes just after the record changes: wait for it when a result is owed.
        if (c.expect === 'created') await t.waitFor(async () => (await t.results()).some((r) => r.foreign_id === id), 'the created result');
        const results = (await t.results()).filter((r) => r.foreign_id === id);
        assert.equal(
          results.some((r) => r.status === 'rejected' || r.status === 'failed'),
          false,
          'never reported as failed',
        );
        if (c.expect === 'created') {
          assert.equal(rec.status, 'created');
          assert.deepEqual(
            results.map((r) => r.status),
            ['created'],
          );
        } else {
          assert.equal(rec.status, 'queued');
          assert.ok(rec.reconcile, 'parked for reconciliation with a reason');
          // Announced as parked (once, when the relay has run), and nothing else.
          assert.ok(
            results.every((r) => r.event === 'parked'),
            'no transition published',
          );
          assert.ok(results.length <= 1);
        }
        if (c.provider === 'cryptosteroid') {
          assert.equal(sandbox.stats().cryptosteroid.received, 1, 'CryptoSteroid is never re-sent after an unknown outcome');
        }
      } finally {
        await second.kill('SIGTERM');
      }
    });
  }
});
