/**
 * The lanes scenario: how one lane's pace holds while another lane is throttled (every create
 * answered 429) or down (every create answered 503, for longer than the retry budget), against
 * its pace alone; and that the down lane's orders are all created after recovery, none failed.
 *
 * One stack (API and one worker process) on the sandbox at BENCH_LANES_LATENCY_MS. The measured
 * lane is CryptoProcessing; the neighbour is AlphaPo. Each run posts the neighbour's orders
 * first (so they are waiting, throttled or held by the breaker), then the measured lane's, and
 * times the measured lane from its first POST to its last `created` result. The retry budget is
 * cut to 3 attempts 100 ms apart, so a 20 s outage outlasts it many times over.
 */
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import type { RedisClient } from '../src/redis/connect.ts';
import { order, runTag } from './orders.ts';
import { deletePrefix } from './redis-tools.ts';
import { chunks, laneQueueCounts, postBatches, startSandboxProcess, startStack, waitForCreated, type SandboxInfo } from './stack.ts';

export interface LanesOptions {
  dir: string;
  redis: RedisClient;
  redisUrl: string;
  orders: number;
  latencyMs: number;
  concurrency: number;
  outageSeconds: number;
  timeoutMs: number;
  logLevel: string;
  progress: (msg: string) => void;
  cleanup: Array<() => Promise<unknown>>;
}

async function faults(sb: SandboxInfo, rule?: Record<string, unknown>): Promise<void> {
  const res = await request(
    `${sb.url}/_sandbox/faults`,
    rule ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule) } : { method: 'DELETE' },
  );
  await res.body.text();
  if (res.statusCode >= 300) throw new Error(`sandbox faults: HTTP ${res.statusCode}`);
}

function bodies(connector: 'cryptoprocessing/invoice' | 'alphapo/invoice', count: number): Array<{ body: string; count: number }> {
  const tag = runTag();
  const list = Array.from({ length: count }, (_, i) => order(connector, `${tag}-${i}`, i));
  return chunks(list, 500).map((b) => ({ body: JSON.stringify({ orders: b }), count: b.length }));
}

export async function scenarioLanes(o: LanesOptions): Promise<Record<string, unknown>> {
  const prefix = `bench-${runTag()}-lanes`;
  o.cleanup.push(() => deletePrefix(o.redis, prefix));
  const sb = await startSandboxProcess(o.dir, o.latencyMs, 'sandbox-lanes');
  o.cleanup.push(() => sb.child.stop());
  const stack = await startStack({
    dir: o.dir,
    redisUrl: o.redisUrl,
    prefix,
    sandbox: sb.info,
    concurrency: o.concurrency,
    workers: 1,
    logLevel: o.logLevel,
    name: 'lanes',
    env: { CREATE_ATTEMPTS: '3', CREATE_BACKOFF_MS: '100', RATE_LIMIT_DELAY_MS: '1000', BREAKER_FAILURES: '5', BREAKER_OPEN_MS: '1000', BREAKER_MAX_MS: '4000' },
  });
  o.cleanup.push(() => stack.stop());
  const resultsKey = `${prefix}:invoice-results:wait`;

  /** Posts `count` measured-lane orders and times them to their last `created` result. */
  const measured = async (): Promise<number> => {
    const b = bodies('cryptoprocessing/invoice', o.orders);
    const base = await o.redis.llen(resultsKey);
    const t0 = performance.now();
    await postBatches(stack.apiUrl, b, 2);
    await waitForCreated(o.redis, prefix, o.orders, o.timeoutMs, base);
    return (o.orders / (performance.now() - t0)) * 1000;
  };

  o.progress(`lanes: warm-up, then ${o.orders} CryptoProcessing orders alone`);
  await measured();
  const alone = await measured();

  o.progress('lanes: the same while AlphaPo answers every create with 429');
  await faults(sb.info, { provider: 'alphapo', fault: '429' });
  let base = await o.redis.llen(resultsKey);
  await postBatches(stack.apiUrl, bodies('alphapo/invoice', o.orders), 2);
  const throttled = await measured();
  await faults(sb.info);
  // The throttled AlphaPo orders and the measured ones: all created before the next phase.
  await waitForCreated(o.redis, prefix, o.orders * 2, o.timeoutMs, base);

  o.progress(`lanes: the same while AlphaPo answers every create with 503 for ${o.outageSeconds} s (the retry budget is 3 attempts)`);
  await faults(sb.info, { provider: 'alphapo', fault: '5xx', status: 503 });
  const outageStart = performance.now();
  base = await o.redis.llen(resultsKey);
  await postBatches(stack.apiUrl, bodies('alphapo/invoice', o.orders), 2);
  const down = await measured();
  const left = o.outageSeconds * 1000 - (performance.now() - outageStart);
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  const failedDuringOutage = (await laneQueueCounts(o.redis, prefix, 'invoice-create', 'failed')).failed ?? 0;
  await faults(sb.info);
  const recoveryStart = performance.now();
  // Every AlphaPo order of the outage, created after it: count created results since the outage began.
  await waitForCreated(o.redis, prefix, o.orders * 2, o.timeoutMs, base);
  const recoverySeconds = (performance.now() - recoveryStart) / 1000;
  const failed = (await laneQueueCounts(o.redis, prefix, 'invoice-create', 'failed')).failed ?? 0;
  await stack.stop();
  await sb.child.stop();
  const r = (n: number): number => Math.round(n);
  return {
    latencyMs: o.latencyMs,
    concurrency: o.concurrency,
    ordersPerRun: o.orders,
    alonePerSecond: r(alone),
    neighbourThrottledPerSecond: r(throttled),
    neighbourDownPerSecond: r(down),
    throttledRatio: Math.round((throttled / alone) * 100) / 100,
    downRatio: Math.round((down / alone) * 100) / 100,
    outageSeconds: o.outageSeconds,
    outageOrders: o.orders,
    failedDuringOutage,
    failedAfterRecovery: failed,
    recoverySeconds: Math.round(recoverySeconds * 10) / 10,
  };
}

export function lanesRows(l: Record<string, number>): Array<[string, string, string]> {
  return [
    [`lanes: CryptoProcessing alone (${l.ordersPerRun} orders, ${l.latencyMs} ms provider)`, `${l.alonePerSecond}/s`, ''],
    ['lanes: with AlphaPo throttled (every create 429)', `${l.neighbourThrottledPerSecond}/s`, `${l.throttledRatio}x of alone (target >= 0.5)`],
    ['lanes: with AlphaPo down (every create 503)', `${l.neighbourDownPerSecond}/s`, `${l.downRatio}x of alone (target >= 0.5)`],
    [
      `lanes: AlphaPo down ${l.outageSeconds} s, then back`,
      `${l.outageOrders} created in ${l.recoverySeconds} s`,
      `failed: ${l.failedDuringOutage} during, ${l.failedAfterRecovery} after (target 0)`,
    ],
  ];
}
