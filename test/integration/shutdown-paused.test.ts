/**
 * SIGTERM while a lane is paused: by a 429 with a long Retry-After, by a provider capacity limit
 * (CryptoSteroid's cap on unpaid invoices) and by an open breaker. A paused lane holds no job, so
 * the worker process must stop as promptly as an idle one: exit 0, through the shutdown handler,
 * with no forced close. (Before, BullMQ's rate-limit wait, restarted by a job that ended in a pause
 * after close() had begun, held close() for its 30 s ceiling, past Kubernetes' grace period.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { startWorkerProcess, workerEnv, type WorkerProcess } from '../helpers/worker-process.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

/** The messages of a worker's JSON log lines. */
function messages(output: string): string[] {
  return output
    .split('\n')
    .map((l) => {
      try {
        return String((JSON.parse(l) as { msg?: unknown }).msg);
      } catch {
        return '';
      }
    })
    .filter(Boolean);
}

async function waitForLine(w: WorkerProcess, msg: string): Promise<void> {
  for (;;) {
    if (messages(w.output()).includes(msg)) return;
    if (w.child.exitCode !== null) throw new Error(`the worker exited before logging "${msg}":\n${w.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM; it must exit 0 through the handler, with no forced close. Answers how long it took (reported, not asserted). */
async function stopCleanly(w: WorkerProcess): Promise<number> {
  const started = performance.now();
  const { code } = await w.kill('SIGTERM');
  const ms = Math.round(performance.now() - started);
  const said = messages(w.output());
  assert.equal(code, 0, w.output().slice(-3000));
  assert.ok(said.includes('shutting down') && said.includes('stopped'), 'stopped through the shutdown handler');
  assert.deepEqual(
    said.filter((m) => /forcing close|did not close|took too long/.test(m)),
    [],
    'no forced close',
  );
  return ms;
}

describe('SIGTERM with a paused lane', { timeout: 120_000 }, () => {
  let sandbox: Sandbox;
  let t: TestSystem;
  let stub: Server;
  let stubUrl: string;
  /** What the stub provider answers, and how many requests it has had (each answered 400 ms after the one before, so jobs are in flight at SIGTERM). */
  let answer: { status: number; headers: Record<string, string>; body: string } = { status: 429, headers: {}, body: '' };
  let seen = 0;
  const running: WorkerProcess[] = [];
  before(async () => {
    // CryptoSteroid's cap at one unpaid invoice: the second order meets it.
    sandbox = await startSandbox({ port: 0, cryptosteroidNewCap: 1 });
    t = await startTestSystem({ role: 'api', useSandbox: sandbox });
    // A provider that answers every request the same way, each a little later than the one before.
    stub = createServer((_req, res) => {
      const { status, headers, body } = answer;
      setTimeout(() => res.writeHead(status, headers).end(body), 400 * seen++);
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const w of running) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await t?.close();
    await sandbox?.close();
    stub?.closeAllConnections();
    await new Promise((r) => stub?.close(r));
  });

  const start = (extra: Record<string, string>): WorkerProcess => {
    const w = startWorkerProcess(workerEnv(sandbox, t.prefix, { HOST: '127.0.0.1', OPS_PORT: '0', CREATE_CONCURRENCY: '4', ...extra }));
    running.push(w);
    return w;
  };

  it('paused by a 429 with Retry-After: 600', async () => {
    await t.system.intake.acceptMany(Array.from({ length: 6 }, (_, i) => sampleOrder('cryptoprocessing', `p429-${i}`)));
    answer = { status: 429, headers: { 'retry-after': '600', 'content-type': 'text/plain' }, body: 'error code: 1015' };
    seen = 0;
    const w = start({ CRYPTOPROCESSING_BASE_URL: stubUrl, LANES: 'cryptoprocessing' });
    await waitForLine(w, 'provider throttled us; slowing the lane');
    const ms = await stopCleanly(w);
    console.log(`# 429 pause: stopped in ${ms} ms`);
  });

  it('paused by a provider capacity limit', async () => {
    await t.system.intake.acceptMany(Array.from({ length: 4 }, (_, i) => sampleOrder('cryptosteroid', `pcap-${i}`)));
    const w = start({ LANES: 'cryptosteroid' });
    await waitForLine(w, 'account at a provider capacity limit; lane waits');
    const ms = await stopCleanly(w);
    console.log(`# capacity pause: stopped in ${ms} ms`);
  });

  it('paused by an open breaker', async () => {
    answer = { status: 502, headers: { 'content-type': 'text/html' }, body: '<html><body>502 Bad Gateway</body></html>' };
    seen = 0;
    await t.system.intake.acceptMany(Array.from({ length: 6 }, (_, i) => sampleOrder('alphapo', `pbrk-${i}`)));
    const w = start({ ALPHAPO_BASE_URL: stubUrl, LANES: 'alphapo', BREAKER_FAILURES: '1', BREAKER_OPEN_MS: '600000', BREAKER_MAX_MS: '600000' });
    await waitForLine(w, 'lane breaker opened; the lane sends nothing for a while');
    const ms = await stopCleanly(w);
    console.log(`# breaker pause: stopped in ${ms} ms`);
  });
});
