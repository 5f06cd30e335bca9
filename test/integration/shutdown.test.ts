/**
 * Graceful shutdown under load: a real worker process (`src/main.ts --role worker`) gets SIGTERM
 * while it is busy. It must finish the jobs in flight and exit cleanly, leaving no job active;
 * a second worker then takes the rest, and every order ends created exactly once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSandbox, SANDBOX_CREDENTIALS, type Sandbox } from '../../src/sandbox/index.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ORDERS = 200;

interface Worker {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function startWorker(sandbox: Sandbox, prefix: string): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'worker'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      HOST: '127.0.0.1',
      OPS_PORT: '0',
      LOG_LEVEL: 'info',
      CREATE_CONCURRENCY: '8',
      SHUTDOWN_TIMEOUT_MS: '20000',
      CRYPTOPROCESSING_BASE_URL: sandbox.baseUrls.cryptoprocessing,
      CRYPTOPROCESSING_API_KEY: SANDBOX_CREDENTIALS.cryptoprocessing.apiKey,
      CRYPTOPROCESSING_API_SECRET: SANDBOX_CREDENTIALS.cryptoprocessing.apiSecret,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  child.stderr?.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

describe('graceful shutdown', () => {
  let sandbox: Sandbox;
  let t: TestSystem;
  const workers: Worker[] = [];
  before(async () => {
    sandbox = await startSandbox({ port: 0 });
    // The producer side only: orders are accepted here and worked on by the child processes.
    t = await startTestSystem({ role: 'api', useSandbox: sandbox });
  });
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await t.close();
    await sandbox.close();
  });

  it('SIGTERM under load finishes the jobs in flight, leaves none active, and a new worker completes the rest exactly once', async () => {
    // Slow provider answers keep jobs in flight when the signal comes.
    sandbox.addFault({ provider: 'cryptoprocessing', fault: 'latency', ms: 250 });
    const ids = Array.from({ length: ORDERS }, (_, i) => `sd-${i}`);
    const results = await t.system.intake.acceptMany(ids.map((id) => sampleOrder('cryptoprocessing', id)));
    assert.equal(results.filter((r) => r.outcome === 'accepted').length, ORDERS);

    const first = startWorker(sandbox, t.prefix);
    workers.push(first);
    await t
      .waitFor(async () => ((await t.createCounts('completed')).completed ?? 0) >= 16, 'the first worker to be busy', 60_000)
      .catch((err: Error) => {
        throw new Error(`${err.message}; worker exit code ${first.child.exitCode}; its output:\n${first.lines.slice(-30).join('\n')}`);
      });
    first.child.kill('SIGTERM');
    const code = await first.exited;
    assert.equal(code, 0, first.lines.slice(-20).join('\n'));
    const messages = first.lines.map((l) => {
      try {
        return (JSON.parse(l) as { msg?: string }).msg;
      } catch {
        return undefined;
      }
    });
    assert.ok(messages.includes('shutting down') && messages.includes('stopped'), 'shut down through the handler');
    assert.equal(messages.includes('workers did not finish in time; forcing close'), false);

    const afterFirst = await t.createCounts('active', 'completed', 'failed');
    assert.equal(afterFirst.active, 0, 'no job left active by the stopped worker');
    assert.equal(afterFirst.failed, 0);
    assert.ok((afterFirst.completed ?? 0) < ORDERS, 'the signal came while work was left (otherwise this test proves nothing)');
    // Whatever the first worker finished, it also published.
    const published = (await t.results()).filter((r) => r.status === 'created').length;
    assert.equal(published, afterFirst.completed);

    sandbox.clearFaults();
    const second = startWorker(sandbox, t.prefix);
    workers.push(second);
    await t.waitFor(async () => (await t.createCounts('completed')).completed === ORDERS, 'every order completed', 60_000);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);

    const counts = await t.createCounts('active', 'wait', 'delayed', 'failed', 'completed');
    assert.deepEqual(counts, { active: 0, wait: 0, delayed: 0, failed: 0, completed: ORDERS });
    const records = await Promise.all(ids.map((id) => t.system.store.get('cryptoprocessing', id)));
    assert.deepEqual(
      records.filter((r) => r?.status !== 'created').map((r) => r?.foreign_id),
      [],
      'every order ends created',
    );
    assert.deepEqual(
      ids.filter((id) => sandbox.count('cryptoprocessing', id) !== 1),
      [],
      'exactly one invoice per order',
    );
    const created = (await t.results()).filter((r) => r.status === 'created');
    assert.equal(created.length, ORDERS, 'one created result per order');
  });
});
