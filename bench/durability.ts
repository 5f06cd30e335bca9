/**
 * Scenario `durability`: what `DURABILITY=replica` (src/redis/durability.ts) costs. A private primary and
 * two replicas of it (`redis-server` on loopback ports, the memory settings docker-compose.yml
 * ships, no persistence): one linked directly, one through a proxy that delays the link by
 * BENCH_DURABILITY_LINK_MS each way (a replica in another zone). The sandbox at 0 ms, and one stack
 * (API and one worker process) per mode on the same Redis, taking turns run by run:
 *
 * - `off`;
 * - `replica`, DURABILITY_REPLICAS=1: the loopback replica answers first;
 * - `replica, far`, DURABILITY_REPLICAS=2: the delayed replica must confirm too.
 *
 * For each mode:
 *
 * - create throughput: BENCH_DURABILITY_ORDERS orders posted in batches of 500 (2 in flight), from
 *   the first POST to the last `created` result (the median of 3 runs, after a warm-up);
 * - accept latency: BENCH_DURABILITY_SINGLES orders posted one per request, 16 in flight, in two
 *   halves: the time to the 202, p50 / p99, and the rate (the worker creates them meanwhile);
 * - WAITs Redis executed per order in each phase (from INFO commandstats): one per batch of
 *   accepts, and the group commit of concurrent submissions, show here.
 *
 * A WAIT costs one round trip to the replica plus its apply: on loopback next to nothing, across
 * a network that network's round trip, once per group of confirmations.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { missingOnPath, startRedisServer, type LocalRedis } from '../test/helpers/redis-server.ts';
import { order, CONNECTORS, runTag } from './orders.ts';
import { deletePrefix, info } from './redis-tools.ts';
import { startSandboxProcess, startStack, systemRun, waitForCreated } from './stack.ts';

export interface DurabilityBenchOptions {
  dir: string;
  /** One-way delay of the far replica's link, ms. */
  linkMs: number;
  orders: number;
  singles: number;
  concurrency: number;
  timeoutMs: number;
  logLevel: string;
  progress: (msg: string) => void;
  cleanup: Array<() => Promise<unknown>>;
}

const SHIPPED_REDIS_ARGS = ['--maxmemory-policy', 'noeviction', '--hash-max-listpack-value', '1024'];
const RUNS = 3;

async function waitCalls(redis: LocalRedis['client']): Promise<number> {
  const stats = await info(redis, 'commandstats');
  return Number(/calls=(\d+)/.exec(stats.cmdstat_wait ?? '')?.[1] ?? 0);
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** `count` single POSTs, `inflight` at a time; each must be answered 202. */
async function singlePosts(apiUrl: string, count: number, inflight: number): Promise<{ p50Ms: number; p99Ms: number; perSecond: number }> {
  const tag = runTag();
  const bodies = Array.from({ length: count }, (_, i) => JSON.stringify(order(CONNECTORS[i % CONNECTORS.length]!, `${tag}-s-${i}`, i)));
  const times: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const s = performance.now();
      const res = await request(`${apiUrl}/v1/invoices`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await res.body.text();
      if (res.statusCode !== 202) throw new Error(`single POST: HTTP ${res.statusCode} ${text.slice(0, 300)}`);
      times.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  const ms = performance.now() - t0;
  times.sort((a, b) => a - b);
  const r = (n: number): number => Math.round(n * 100) / 100;
  return { p50Ms: r(pct(times, 50)), p99Ms: r(pct(times, 99)), perSecond: Math.round((count / ms) * 1000) };
}

/** A TCP proxy to `port` that delays every chunk by `ms` in each direction (order kept: equal timers fire in order). */
async function delayProxy(port: number, ms: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((down) => {
    const up = createConnection({ host: '127.0.0.1', port, noDelay: true });
    // Redis sets TCP_NODELAY on its side; without it here Nagle's algorithm adds ~40 ms per exchange.
    down.setNoDelay(true);
    sockets.add(down).add(up);
    down.on('data', (d) => void setTimeout(() => up.write(d), ms));
    up.on('data', (d) => void setTimeout(() => down.write(d), ms));
    const end = (): void => {
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  const listening = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
  return {
    port: listening,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function linkUp(replica: LocalRedis): Promise<void> {
  for (let deadline = Date.now() + 15_000; !/master_link_status:up/.test(await replica.client.info('replication'));) {
    if (Date.now() > deadline) throw new Error('durability: a replica did not connect to the primary');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const MODES = [
  { key: 'off', label: 'off', env: { DURABILITY: 'off' } },
  { key: 'replica', label: 'replica (1, loopback)', env: { DURABILITY: 'replica', DURABILITY_REPLICAS: '1' } },
  { key: 'far', label: 'replica (2, one far)', env: { DURABILITY: 'replica', DURABILITY_REPLICAS: '2' } },
] as const;

interface ModeFigures {
  label: string;
  createPerSecond: number;
  createRuns: number[];
  accept: { p50Ms: number; p99Ms: number; perSecond: number };
  waitsPerOrder: { batches: number; singles: number };
}

export async function scenarioDurability(o: DurabilityBenchOptions): Promise<Record<string, unknown>> {
  const missing = missingOnPath('redis-server');
  if (missing) return { measured: false, reason: missing };
  const primary = await startRedisServer({ args: SHIPPED_REDIS_ARGS, parentDir: o.dir });
  o.cleanup.push(() => primary.stop());
  const near = await startRedisServer({ args: [...SHIPPED_REDIS_ARGS, '--replicaof', '127.0.0.1', String(primary.port)], parentDir: o.dir });
  o.cleanup.push(() => near.stop());
  const proxy = await delayProxy(primary.port, o.linkMs);
  o.cleanup.push(() => proxy.close());
  const far = await startRedisServer({ args: [...SHIPPED_REDIS_ARGS, '--replicaof', '127.0.0.1', String(proxy.port)], parentDir: o.dir });
  o.cleanup.push(() => far.stop());
  await linkUp(near);
  await linkUp(far);
  const sb = await startSandboxProcess(o.dir, 0, 'sandbox-durability');
  o.cleanup.push(() => sb.child.stop());
  // What one write plus WAIT takes, idle, for each replica count: the floor of a confirmation.
  const waitMs: Record<string, number> = {};
  for (const replicas of [1, 2]) {
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await primary.client.set('durability-bench:probe', String(i));
      await primary.client.wait(replicas, 1000);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    waitMs[`replicas${replicas}`] = Math.round(pct(times, 50) * 100) / 100;
  }
  await primary.client.del('durability-bench:probe');

  // The stacks run side by side and take turns, run by run, so a machine whose load changes while
  // the scenario runs shifts every mode alike: the ratios are what to read.
  const stacks = new Map<string, { stack: Awaited<ReturnType<typeof startStack>>; prefix: string }>();
  for (const mode of MODES) {
    const prefix = `bench-${runTag()}-durability-${mode.key}`;
    o.cleanup.push(() => deletePrefix(primary.client, prefix));
    const stack = await startStack({
      dir: o.dir,
      redisUrl: primary.url,
      prefix,
      sandbox: sb.info,
      concurrency: o.concurrency,
      workers: 1,
      logLevel: o.logLevel,
      name: `durability-${mode.key}`,
      env: { ...mode.env, DURABILITY_TIMEOUT_MS: '1000' },
    });
    o.cleanup.push(() => stack.stop());
    stacks.set(mode.key, { stack, prefix });
  }
  const opts = { batch: 500, inflight: 2, timeoutMs: o.timeoutMs };
  const runs = new Map<string, number[]>(MODES.map((m) => [m.key, []]));
  const waits = new Map<string, { batches: number; singles: number }>(MODES.map((m) => [m.key, { batches: 0, singles: 0 }]));
  const accepts = new Map<string, Array<{ p50Ms: number; p99Ms: number; perSecond: number }>>(MODES.map((m) => [m.key, []]));
  for (const m of MODES) await systemRun(stacks.get(m.key)!.stack, primary.client, stacks.get(m.key)!.prefix, Math.min(500, o.orders), opts);
  o.progress(`durability: ${RUNS} runs of ${o.orders} orders per mode, taking turns, then ${o.singles} single POSTs per mode (far replica: ${o.linkMs} ms each way)`);
  for (let i = 0; i < RUNS; i++) {
    for (const m of MODES) {
      const { stack, prefix } = stacks.get(m.key)!;
      const w0 = await waitCalls(primary.client);
      runs.get(m.key)!.push((await systemRun(stack, primary.client, prefix, o.orders, opts)).perSecond);
      waits.get(m.key)!.batches += (await waitCalls(primary.client)) - w0;
    }
  }
  const half = Math.ceil(o.singles / 2);
  for (let i = 0; i < 2; i++) {
    for (const m of MODES) {
      const { stack, prefix } = stacks.get(m.key)!;
      const base = await primary.client.llen(`${prefix}:invoice-results:wait`);
      const w0 = await waitCalls(primary.client);
      accepts.get(m.key)!.push(await singlePosts(stack.apiUrl, half, 16));
      // Their creation too, before the next mode's turn (WAITs are counted on the Redis, for all).
      await waitForCreated(primary.client, prefix, half, o.timeoutMs, base);
      waits.get(m.key)!.singles += (await waitCalls(primary.client)) - w0;
    }
  }
  for (const { stack } of stacks.values()) await stack.stop();

  const r2 = (n: number): number => Math.round(n * 100) / 100;
  const modes: Record<string, ModeFigures> = {};
  for (const m of MODES) {
    const list = runs.get(m.key)!;
    const sorted = [...list].sort((a, b) => a - b);
    const a = accepts.get(m.key)!;
    const w = waits.get(m.key)!;
    modes[m.key] = {
      label: m.label,
      createPerSecond: Math.round(sorted[Math.floor(sorted.length / 2)]!),
      createRuns: list.map(Math.round),
      // The two halves' figures, averaged.
      accept: { p50Ms: r2((a[0]!.p50Ms + a[1]!.p50Ms) / 2), p99Ms: r2((a[0]!.p99Ms + a[1]!.p99Ms) / 2), perSecond: Math.round((a[0]!.perSecond + a[1]!.perSecond) / 2) },
      waitsPerOrder: { batches: Math.round((w.batches / (RUNS * o.orders)) * 1000) / 1000, singles: Math.round((w.singles / (2 * half)) * 1000) / 1000 },
    };
  }
  return { measured: true, orders: o.orders, singles: 2 * half, concurrency: o.concurrency, linkMs: o.linkMs, writePlusWaitP50Ms: waitMs, modes };
}

export function durabilityRows(r: Record<string, any>): Array<[string, string, string]> {
  if (!r.measured) return [['durability (WAIT on a replica)', `not measured: ${r.reason}`, '']];
  const rows: Array<[string, string, string]> = [];
  const off = r.modes.off as ModeFigures;
  rows.push([`durability: create, ${r.orders} orders in batches of 500, 1 worker, concurrency ${r.concurrency}; far replica ${r.linkMs} ms each way`, '', '']);
  rows.push(['  one write + WAIT, idle, p50: 1 replica (loopback) / 2 (one far)', `${r.writePlusWaitP50Ms.replicas1} / ${r.writePlusWaitP50Ms.replicas2} ms`, '']);
  for (const m of Object.values<ModeFigures>(r.modes)) {
    const ratio = m === off ? '' : `${Math.round((m.createPerSecond / off.createPerSecond) * 100) / 100}x of off`;
    rows.push([`  ${m.label}: create`, `${m.createPerSecond} orders/s (${m.createRuns.join(', ')})`, ratio]);
    rows.push([`  ${m.label}: single POST to 202, 16 in flight: p50 / p99`, `${m.accept.p50Ms} / ${m.accept.p99Ms} ms (${m.accept.perSecond}/s)`, '']);
    rows.push([`  ${m.label}: WAITs per order (batches / single POSTs)`, `${m.waitsPerOrder.batches} / ${m.waitsPerOrder.singles}`, '']);
  }
  return rows;
}
