/**
 * `npm run bench`: throughput, memory and a profile of the create pipeline, against the sandbox
 * on the Redis at REDIS_URL (else 127.0.0.1:6379), on queue prefixes of its own that it deletes
 * afterwards. Every process (sandbox, API, workers, reference worker) runs on its own, as in
 * production; scenario all-in-one runs the one-process start (`npm start`) instead. Each
 * throughput figure is the median of BENCH_RUNS runs; the table goes to stdout, its targets first
 * (met or missed: targets.ts), then the same figures as one JSON document (also written to
 * BENCH_JSON when set). Progress goes to stderr.
 *
 * Sizes (env): BENCH_ORDERS per run (3000), BENCH_RUNS (5), BENCH_BATCH (1000), BENCH_POST_INFLIGHT
 * (2), BENCH_CONCURRENCY (50), BENCH_LATENCY_MS (50), BENCH_LATENCY_CONCURRENCY (400),
 * BENCH_LATENCY_ORDERS, BENCH_LATENCY_SWEEP ("100,200,800": one run at each concurrency; "" skips),
 * BENCH_MEMORY_ORDERS (5000), BENCH_PROFILE_ORDERS (400, MONITOR run), BENCH_CPU_PROFILE_ORDERS
 * (3000), BENCH_CPU_PROFILE_DIR (keep the profiles there), BENCH_CALLBACKS (5000),
 * BENCH_CALLBACK_RATE (1000), BENCH_CALLBACK_CONNECTIONS (64), BENCH_CALLBACK_WARMUP (2000),
 * BENCH_RUN_TIMEOUT_MS (120000), BENCH_LOG_LEVEL (info), BENCH_RUNTIME (dist, or tsx), BENCH_LOG_DIR
 * (keep the processes' logs there), BENCH_OPEN_INVOICES (100000), BENCH_POLL_SECONDS (30),
 * BENCH_POLL_RATE (200), BENCH_LANES_ORDERS (1000), BENCH_LANES_LATENCY_MS (50), BENCH_LANES_CONCURRENCY (50),
 * BENCH_LANES_OUTAGE_SECONDS (20), BENCH_CHECKOUT_SECONDS (10), BENCH_CHECKOUT_RATES ("200,1000"), BENCH_CHECKOUT_WAIT_RATE (200),
 * BENCH_DURABILITY_ORDERS (2000), BENCH_DURABILITY_SINGLES (1000), BENCH_DURABILITY_LINK_MS (1),
 * BENCH_LEDGER_ORDERS (5000: orders per round of the Redis cost by step, on a private Redis, with
 * BENCH_CONCURRENCY operations in flight and BENCH_BATCH orders per create job add), BENCH_LEDGER_RUNS (3),
 * BENCH_NODE_FLAGS (extra node flags for every API and worker process, e.g. V8 heap settings),
 * BENCH_ALL_IN_ONE_ORDERS (5000 per run), BENCH_ALL_IN_ONE_BATCH (500), BENCH_ALL_IN_ONE_PROFILE (1; 0: no
 * profiled run), BENCH_ALL_IN_ONE_BEFORE (a git revision whose one-process start runs beside this checkout's,
 * run by run), BENCH_HOT_PATH_PARTS (bodycap,deadline,money,keys,tracing,listing), BENCH_HOT_PATH_ROUNDS (3),
 * BENCH_HOT_PATH_REQUESTS (10000 per round and side), BENCH_HOT_PATH_APPLIES (500 per round and side),
 * BENCH_HOT_PATH_LEDGER_ORDERS (3000), BENCH_BEFORE_LISTING (12d2958: the git revision before the listing indexes),
 * BENCH_SCENARIOS (all-in-one,hot-path,create,pinned,ledger,latency,checkout,callbacks,polling,lanes,durability,cluster,profile).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis, type Cluster } from 'ioredis';
import { lanePrefix } from '../src/lanes/key.ts';
import { connect, type RedisClient } from '../src/redis/connect.ts';
import { startRedisCluster, type LocalCluster } from '../test/helpers/redis-cluster.ts';
import { missingOnPath, startRedisServer } from '../test/helpers/redis-server.ts';
import { allInOneRows, scenarioAllInOne } from './all-in-one.ts';
import { callbackIngest } from './callbacks.ts';
import { HOT_PATH_PARTS, hotPathRows, scenarioHotPath } from './hot-path.ts';
import { pollingRows, scenarioPolling } from './polling.ts';
import { lanesRows, scenarioLanes } from './lanes.ts';
import { durabilityRows, scenarioDurability } from './durability.ts';
import { checkoutRows, scenarioCheckout } from './checkout.ts';
import { ledgerRows, scenarioLedger } from './ledger.ts';
import { summarizeProfile, type ProfileSummary } from './cpu-profile.ts';
import { targetRows } from './targets.ts';
import { RssSampler, cpuPerOrder, cpuSnapshot, medianCpu, series, type Series } from './measure.ts';
import { orders, runTag } from './orders.ts';
import { ROOT, RUNTIME } from './procs.ts';
import { MonitorTap, deletePrefix, info, masterOfKey, masterSnapshots, memoryByFamily, ready, type CommandCounts } from './redis-tools.ts';
import { referenceQueue, referenceRun, startReference } from './reference.ts';
import { BENCH_LANES, laneQueueCounts, laneQueueCountsIn, startSandboxProcess, startStack, systemRun, waitForCreated, type RunResult, type Stack } from './stack.ts';

const env = process.env;
const int = (name: string, fallback: number): number => {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number`);
  return n;
};

const DEFAULT_SCENARIOS = 'all-in-one,hot-path,create,pinned,ledger,latency,checkout,callbacks,polling,lanes,durability,cluster,profile';

const S = {
  orders: int('BENCH_ORDERS', 3000),
  runs: Math.max(1, int('BENCH_RUNS', 5)),
  batch: Math.min(1000, Math.max(1, int('BENCH_BATCH', 1000))),
  inflight: int('BENCH_POST_INFLIGHT', 2),
  concurrency: int('BENCH_CONCURRENCY', 50),
  latencyMs: int('BENCH_LATENCY_MS', 50),
  latencyConcurrency: int('BENCH_LATENCY_CONCURRENCY', 400),
  latencyOrders: int('BENCH_LATENCY_ORDERS', int('BENCH_ORDERS', 3000)),
  latencySweep: (env.BENCH_LATENCY_SWEEP ?? '100,200,800').split(',').filter(Boolean).map(Number),
  memoryOrders: int('BENCH_MEMORY_ORDERS', 5000),
  callbacks: int('BENCH_CALLBACKS', 5000),
  callbackRate: int('BENCH_CALLBACK_RATE', 1000),
  callbackConnections: Math.max(1, int('BENCH_CALLBACK_CONNECTIONS', 64)),
  callbackWarmup: int('BENCH_CALLBACK_WARMUP', 2000),
  openInvoices: int('BENCH_OPEN_INVOICES', 100_000),
  pollSeconds: Math.max(1, int('BENCH_POLL_SECONDS', 30)),
  pollRate: Math.max(1, int('BENCH_POLL_RATE', 200)),
  profileOrders: int('BENCH_PROFILE_ORDERS', 400),
  cpuProfileOrders: int('BENCH_CPU_PROFILE_ORDERS', 3000),
  warmup: int('BENCH_WARMUP_ORDERS', 1000),
  timeoutMs: int('BENCH_RUN_TIMEOUT_MS', 120_000),
  logLevel: env.BENCH_LOG_LEVEL ?? 'info',
  lanesOrders: int('BENCH_LANES_ORDERS', 1000),
  lanesLatencyMs: int('BENCH_LANES_LATENCY_MS', 50),
  lanesConcurrency: int('BENCH_LANES_CONCURRENCY', 50),
  lanesOutageSeconds: int('BENCH_LANES_OUTAGE_SECONDS', 20),
  durabilityOrders: int('BENCH_DURABILITY_ORDERS', 2000),
  durabilitySingles: int('BENCH_DURABILITY_SINGLES', 1000),
  durabilityLinkMs: int('BENCH_DURABILITY_LINK_MS', 1),
  checkoutSeconds: Math.max(1, int('BENCH_CHECKOUT_SECONDS', 10)),
  checkoutRates: (env.BENCH_CHECKOUT_RATES ?? '200,1000').split(',').filter(Boolean).map(Number),
  checkoutWaitRate: Math.max(1, int('BENCH_CHECKOUT_WAIT_RATE', 200)),
  ledgerOrders: int('BENCH_LEDGER_ORDERS', 5000),
  ledgerRuns: Math.max(1, int('BENCH_LEDGER_RUNS', 3)),
  allInOneOrders: int('BENCH_ALL_IN_ONE_ORDERS', 5000),
  allInOneBatch: Math.min(1000, Math.max(1, int('BENCH_ALL_IN_ONE_BATCH', 500))),
  allInOneProfile: env.BENCH_ALL_IN_ONE_PROFILE !== '0',
  allInOneBefore: env.BENCH_ALL_IN_ONE_BEFORE || undefined,
  hotPathParts: new Set((env.BENCH_HOT_PATH_PARTS ?? HOT_PATH_PARTS.join(',')).split(',').map((s) => s.trim())),
  hotPathRounds: Math.max(1, int('BENCH_HOT_PATH_ROUNDS', 3)),
  hotPathRequests: Math.max(100, int('BENCH_HOT_PATH_REQUESTS', 10_000)),
  hotPathApplies: Math.max(10, int('BENCH_HOT_PATH_APPLIES', 500)),
  hotPathLedgerOrders: Math.max(100, int('BENCH_HOT_PATH_LEDGER_ORDERS', 3000)),
  // The listing indexes came with 561f9a2, on ef8a6f4 with the metrics fix 12d2958 (ef8a6f4 itself cannot start a system).
  beforeListing: env.BENCH_BEFORE_LISTING ?? '12d2958',
  scenarios: new Set((env.BENCH_SCENARIOS ?? DEFAULT_SCENARIOS).split(',').map((s) => s.trim())),
  redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
};

const progress = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);

// ------------------------------------------------------------------------------------------------
// Figures

// ------------------------------------------------------------------------------------------------
// Scenarios

interface Env {
  dir: string;
  redis: RedisClient;
  /** The single Redis (not a cluster), for INFO and MONITOR. */
  single?: Redis;
  cleanup: Array<() => Promise<unknown>>;
}

async function createQueueCounts(redis: RedisClient, prefix: string): Promise<Record<string, number>> {
  return laneQueueCounts(redis, prefix, 'invoice-create', 'completed', 'failed', 'wait', 'active', 'delayed');
}

/**
 * Every create job done and none failed (waiting briefly: a job completes just after its result).
 * Completed create jobs are trimmed (queues/create.ts), so "done" is: nothing waiting, active,
 * delayed or failed; that every order got its `created` result is checked on the results queue.
 */
async function checkAllCreated(redis: RedisClient, prefix: string, _expected: number): Promise<void> {
  const pending = (c: Record<string, number>) => (c.wait ?? 0) + (c.active ?? 0) + (c.delayed ?? 0);
  let counts = await createQueueCounts(redis, prefix);
  for (let i = 0; i < 100 && pending(counts) > 0 && counts.failed === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    counts = await createQueueCounts(redis, prefix);
  }
  if (counts.failed !== 0 || pending(counts) > 0) {
    throw new Error(`pipeline check failed on ${prefix}: ${JSON.stringify(counts)} (expected every create job done, 0 failed)`);
  }
}

async function scenarioCreate(e: Env, redisUrl = S.redisUrl): Promise<Record<string, unknown>> {
  const tag = runTag();
  const prefix = `bench-${tag}`;
  const refPrefix = `bench-${tag}-ref`;
  e.cleanup.push(
    () => deletePrefix(e.redis, prefix),
    () => deletePrefix(e.redis, refPrefix),
  );
  const sb = await startSandboxProcess(e.dir, 0);
  e.cleanup.push(() => sb.child.stop());
  const stack = await startStack({ dir: e.dir, redisUrl, prefix, sandbox: sb.info, concurrency: S.concurrency, workers: 1, logLevel: S.logLevel, name: 'create' });
  e.cleanup.push(() => stack.stop());
  const ref = await startReference(e.dir, refPrefix, sb.info, S.concurrency, redisUrl);
  e.cleanup.push(() => ref.stop());
  const refQueue = referenceQueue(e.redis, refPrefix);
  e.cleanup.push(() => refQueue.close());

  // Memory: the first load on a fresh prefix, so every key under it belongs to these invoices.
  progress(`create: ${S.memoryOrders} orders for the memory figures (also warms up)`);
  const memBefore = e.single ? Number((await info(e.single, 'memory')).used_memory) : undefined;
  const memRun = await systemRun(stack, e.redis, prefix, S.memoryOrders, { batch: S.batch, inflight: S.inflight, timeoutMs: S.timeoutMs });
  const memAfter = e.single ? Number((await info(e.single, 'memory')).used_memory) : undefined;
  const usage = await memoryByFamily(e.redis, prefix);
  const per = (bytes: number): number => Math.round(bytes / S.memoryOrders);
  const storeBytes = Object.entries(usage.families)
    .filter(([f]) => f.startsWith('store'))
    .reduce((n, [, v]) => n + v.bytes, 0);
  const memory = {
    invoices: S.memoryOrders,
    storeBytesPerInvoice: per(storeBytes),
    allKeysBytesPerInvoice: per(usage.total),
    usedMemoryDeltaPerInvoice: memBefore !== undefined && memAfter !== undefined ? per(memAfter - memBefore) : null,
    families: Object.fromEntries(Object.entries(usage.families).map(([f, v]) => [f, { keys: v.keys, bytesPerInvoice: per(v.bytes) }])),
    note: 'open = status created, awaiting payment; MEMORY USAGE (SAMPLES 0) summed per key family under the prefix; used_memory delta also counts other clients of a shared Redis',
  };
  progress(`create: memory ${memory.storeBytesPerInvoice} B/invoice in the store, ${memory.allKeysBytesPerInvoice} B with queue jobs`);

  progress('create: reference warm-up');
  await referenceRun(e.redis, refQueue, refPrefix, sb.info, S.warmup, { batch: S.batch, inflight: S.inflight, timeoutMs: S.timeoutMs });

  // Interleaved, so drifting load from other work on the machine hits both pipelines alike.
  const sys: number[] = [];
  const refs: number[] = [];
  const rss = new RssSampler(() => stack.workers).start();
  const apiRss = new RssSampler(() => [stack.api]).start();
  const cpuSys: Array<Record<string, number>> = [];
  const cpuRef: Array<Record<string, number>> = [];
  for (let i = 0; i < S.runs; i++) {
    let before = await cpuSnapshot({ api: stack.api, worker: stack.workers[0], sandbox: sb.child }, e.single);
    const r = await systemRun(stack, e.redis, prefix, S.orders, { batch: S.batch, inflight: S.inflight, timeoutMs: S.timeoutMs });
    cpuSys.push(cpuPerOrder(before, await cpuSnapshot({ api: stack.api, worker: stack.workers[0], sandbox: sb.child }, e.single), S.orders));
    sys.push(r.perSecond);
    before = await cpuSnapshot({ worker: ref, sandbox: sb.child }, e.single);
    const rr = await referenceRun(e.redis, refQueue, refPrefix, sb.info, S.orders, { batch: S.batch, inflight: S.inflight, timeoutMs: S.timeoutMs });
    cpuRef.push(cpuPerOrder(before, await cpuSnapshot({ worker: ref, sandbox: sb.child }, e.single), S.orders));
    refs.push(rr.perSecond);
    progress(`create: run ${i + 1}/${S.runs}: system ${Math.round(r.perSecond)}/s, reference ${Math.round(rr.perSecond)}/s`);
  }
  const workerRss = rss.stop();
  const apiRssFigure = apiRss.stop();
  await checkAllCreated(e.redis, prefix, S.memoryOrders + S.runs * S.orders);
  const system = series(sys);
  const reference = series(refs);
  return {
    concurrency: S.concurrency,
    ordersPerRun: S.orders,
    system,
    reference,
    ratio: Math.round((system.median / reference.median) * 100) / 100,
    firstLoad: { orders: S.memoryOrders, perSecond: Math.round(memRun.perSecond) },
    cpuMsPerOrder: { system: medianCpu(cpuSys), reference: medianCpu(cpuRef) },
    memory,
    workerRss,
    apiRss: apiRssFigure,
  };
}

/**
 * Scenario `pinned`: the create comparison again, with Redis on a core of its own, as production
 * runs it. A private redis-server (the settings docker-compose.yml ships) is pinned to the last
 * CPU and this process to the others before it starts anything, so the sandbox, the API, the
 * worker and the reference worker (which inherit its CPUs) never share Redis's core. On two cores
 * that leaves one core for every Node process: throughput is lower, and Redis's CPU per order is
 * what it costs without other processes taking turns on its core.
 */
async function scenarioPinned(e: Env): Promise<Record<string, unknown>> {
  const cpus = os.cpus().length;
  if (cpus < 2) return { measured: false, reason: 'needs at least 2 CPUs' };
  const missing = missingOnPath('taskset') ?? missingOnPath('redis-server');
  if (missing) return { measured: false, reason: missing };
  const priv = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction', '--hash-max-listpack-value', '1024'], parentDir: e.dir });
  e.cleanup.push(() => priv.stop());
  const all = `0-${cpus - 1}`;
  const others = cpus === 2 ? '0' : `0-${cpus - 2}`;
  try {
    const redisPid = (await info(priv.client, 'server')).process_id!;
    execFileSync('taskset', ['-cp', String(cpus - 1), redisPid]);
    execFileSync('taskset', ['-cp', others, String(process.pid)]);
    const out = await scenarioCreate({ ...e, redis: priv.client, single: priv.client }, priv.url);
    return { measured: true, redisCpu: String(cpus - 1), othersCpus: others, ...out };
  } finally {
    execFileSync('taskset', ['-cp', all, String(process.pid)]);
  }
}

async function scenarioLatency(e: Env): Promise<Record<string, unknown>> {
  const sb = await startSandboxProcess(e.dir, S.latencyMs, 'sandbox-latency');
  e.cleanup.push(() => sb.child.stop());
  const sweep: Array<{ concurrency: number; perSecond: number; workerRssMb: number | null }> = [];
  for (const c of S.latencySweep) {
    const prefix = `bench-${runTag()}-sweep`;
    e.cleanup.push(() => deletePrefix(e.redis, prefix));
    const stack = await startStack({ dir: e.dir, redisUrl: S.redisUrl, prefix, sandbox: sb.info, concurrency: c, workers: 1, logLevel: S.logLevel, name: `sweep-${c}` });
    try {
      await systemRun(stack, e.redis, prefix, S.warmup, { batch: S.batch, inflight: S.inflight, timeoutMs: S.timeoutMs });
      const rss = new RssSampler(() => stack.workers).start();
      const r = await systemRun(stack, e.redis, prefix, S.latencyOrders, { batch: S.batch, inflight: S.inflight, timeoutMs: S.timeoutMs });
      sweep.push({ concurrency: c, perSecond: Math.round(r.perSecond), workerRssMb: rss.stop()?.maxMb ?? null });
      progress(`latency sweep: concurrency ${c}: ${Math.round(r.perSecond)}/s`);
    } finally {
      await stack.stop();
      await deletePrefix(e.redis, prefix);
    }
  }

  const prefix = `bench-${runTag()}-lat`;
  e.cleanup.push(() => deletePrefix(e.redis, prefix));
  const stack = await startStack({
    dir: e.dir,
    redisUrl: S.redisUrl,
    prefix,
    sandbox: sb.info,
    concurrency: S.latencyConcurrency,
    workers: 1,
    logLevel: S.logLevel,
    name: 'latency',
  });
  e.cleanup.push(() => stack.stop());
  progress(`latency: ${S.latencyMs} ms provider latency, concurrency ${S.latencyConcurrency}: warm-up`);
  await systemRun(stack, e.redis, prefix, S.warmup, { batch: S.batch, inflight: S.inflight, timeoutMs: S.timeoutMs });
  const rss = new RssSampler(() => stack.workers).start();
  const runs: number[] = [];
  const cpu: Array<Record<string, number>> = [];
  for (let i = 0; i < S.runs; i++) {
    const before = await cpuSnapshot({ api: stack.api, worker: stack.workers[0] }, e.single);
    const r = await systemRun(stack, e.redis, prefix, S.latencyOrders, { batch: S.batch, inflight: S.inflight, timeoutMs: S.timeoutMs });
    cpu.push(cpuPerOrder(before, await cpuSnapshot({ api: stack.api, worker: stack.workers[0] }, e.single), S.latencyOrders));
    runs.push(r.perSecond);
    progress(`latency: run ${i + 1}/${S.runs}: ${Math.round(r.perSecond)}/s`);
  }
  const workerRss = rss.stop();
  await checkAllCreated(e.redis, prefix, S.warmup + S.runs * S.latencyOrders);
  await stack.stop();
  await sb.child.stop();
  const cpuMsPerOrder = Object.fromEntries(['api', 'worker', 'redis'].map((k) => [k, Math.round(series(cpu.map((c) => (c[k] ?? 0) * 1000)).median) / 1000]));
  return { latencyMs: S.latencyMs, concurrency: S.latencyConcurrency, ordersPerRun: S.latencyOrders, system: series(runs), cpuMsPerOrder, workerRss, sweep };
}

async function scenarioCallbacks(e: Env): Promise<Record<string, unknown>> {
  // A stack of its own, with invoices to call back about: four distinct callbacks per invoice.
  const prefix = `bench-${runTag()}-cb`;
  e.cleanup.push(() => deletePrefix(e.redis, prefix));
  const sb = await startSandboxProcess(e.dir, 0, 'sandbox-callbacks');
  e.cleanup.push(() => sb.child.stop());
  const stack = await startStack({ dir: e.dir, redisUrl: S.redisUrl, prefix, sandbox: sb.info, concurrency: S.concurrency, workers: 1, logLevel: S.logLevel, name: 'callbacks' });
  e.cleanup.push(() => stack.stop());
  const invoices = Math.ceil((S.callbackWarmup + 3 * S.callbacks) / 4);
  progress(`callbacks: creating ${invoices} invoices to call back about`);
  await systemRun(stack, e.redis, prefix, invoices, { batch: S.batch, inflight: S.inflight, timeoutMs: S.timeoutMs });
  // CPU of each process per callback, phase by phase.
  const procs = { api: stack.api, worker: stack.workers[0] };
  const cpu: Record<string, Record<string, number>> = {};
  let before: Record<string, number> = {};
  const figures = await callbackIngest(e.redis, prefix, stack.apiUrl, sb.info, {
    count: S.callbacks,
    rate: S.callbackRate,
    connections: S.callbackConnections,
    warmup: S.callbackWarmup,
    timeoutMs: S.timeoutMs,
    onPhase: async (phase, state, n) => {
      if (state === 'start') {
        progress(`callbacks: ${phase}`);
        before = await cpuSnapshot(procs, e.single);
      } else cpu[phase] = cpuPerOrder(before, await cpuSnapshot(procs, e.single), n);
    },
  });
  return { ...figures, cpuMsPerCallback: cpu };
}

async function scenarioCluster(e: Env): Promise<Record<string, unknown>> {
  progress('cluster: starting a 3-master Redis Cluster');
  const cluster: LocalCluster = await startRedisCluster(3);
  e.cleanup.push(() => cluster.stop());
  const redis = connect(cluster.url);
  e.cleanup.push(async () => redis.disconnect());
  await ready(redis);
  const sb = await startSandboxProcess(e.dir, 0, 'sandbox-cluster');
  e.cleanup.push(() => sb.child.stop());
  const prefix = `{bench-${runTag()}}`;
  const stack = await startStack({ dir: e.dir, redisUrl: cluster.url, prefix, sandbox: sb.info, concurrency: S.concurrency, workers: 1, logLevel: S.logLevel, name: 'cluster' });
  e.cleanup.push(() => stack.stop());
  const opts = { batch: S.batch, inflight: S.inflight, timeoutMs: S.timeoutMs };
  const measure = async (label: string): Promise<Series> => {
    await systemRun(stack, redis, prefix, S.warmup, opts);
    const runs: number[] = [];
    for (let i = 0; i < S.runs; i++) {
      const r = await systemRun(stack, redis, prefix, S.orders, opts);
      runs.push(r.perSecond);
      progress(`cluster, ${label}: run ${i + 1}/${S.runs}: ${Math.round(r.perSecond)}/s`);
    }
    return series(runs);
  };
  const one = await measure('1 worker');
  await stack.addWorker();
  const two = await measure('2 workers');
  await checkAllCreated(redis, prefix, 2 * (S.warmup + S.runs * S.orders));
  await stack.stop();

  // Lanes in slots of their own (LANE_HASH_TAGS=true): where each lane's keys live, and what each
  // master does per order (INFO commandstats and INFO cpu on every master, before and after).
  const tagged = `{benchl-${runTag()}}`;
  const laneStack = await startStack({
    dir: e.dir,
    redisUrl: cluster.url,
    prefix: tagged,
    sandbox: sb.info,
    concurrency: S.concurrency,
    workers: 2,
    logLevel: S.logLevel,
    name: 'cluster-lanes',
    env: { LANE_HASH_TAGS: 'true' },
  });
  e.cleanup.push(() => laneStack.stop());
  const c = redis as Cluster;
  const placement: Record<string, string> = { system: await masterOfKey(c, `${tagged}:invoice-results:wait`) };
  for (const lane of BENCH_LANES) placement[lane] = await masterOfKey(c, `${lanePrefix(tagged, lane, true)}:invoice-create.${lane}:wait`);
  await systemRun(laneStack, redis, tagged, S.warmup, opts);
  const before = await masterSnapshots(c);
  const runs: number[] = [];
  for (let i = 0; i < S.runs; i++) {
    const r = await systemRun(laneStack, redis, tagged, S.orders, opts);
    runs.push(r.perSecond);
    progress(`cluster, lanes in their own slots, 2 workers: run ${i + 1}/${S.runs}: ${Math.round(r.perSecond)}/s`);
  }
  const after = await masterSnapshots(c);
  await checkLanesCreated(redis, tagged);
  await laneStack.stop();
  await sb.child.stop();
  const n = S.runs * S.orders;
  const perMaster = after.map((a) => {
    const b = before.find((x) => x.node === a.node);
    const calls: Record<string, number> = {};
    for (const [k, v] of Object.entries(a.calls)) {
      const d = v - (b?.calls[k] ?? 0);
      if (d > 0) calls[k] = d;
    }
    const total = Object.values(calls).reduce((x, y) => x + y, 0);
    const top = Object.entries(calls)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 6)
      .map(([k, v]) => `${k} ${round(v / n, 2)}`);
    return {
      node: a.node,
      holds: Object.entries(placement)
        .filter(([, node]) => node === a.node)
        .map(([what]) => what),
      cpuMsPerOrder: round((a.cpuMs - (b?.cpuMs ?? 0)) / n, 4),
      commandsPerOrder: round(total / n, 2),
      top,
    };
  });
  // The busiest master binds the fleet: one core of it at 100 % is this many orders a second.
  const busiest = Math.max(...perMaster.map((m) => m.cpuMsPerOrder));
  const ceiling = busiest > 0 ? Math.round(1000 / busiest) : null;
  return {
    masters: 3,
    concurrencyPerWorker: S.concurrency,
    ordersPerRun: S.orders,
    oneWorker: one,
    twoWorkers: two,
    laneSlots: { twoWorkers: series(runs), placement, perMaster, busiestCpuMsPerOrder: busiest, ceilingOrdersPerSecond: ceiling },
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Every create job of lanes with their own hash tags done, none failed. */
async function checkLanesCreated(redis: RedisClient, prefix: string): Promise<void> {
  const counts = await laneQueueCountsIn(redis, prefix, true, 'invoice-create', 'failed', 'wait', 'active', 'delayed');
  for (let i = 0; i < 100 && (counts.wait ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    Object.assign(counts, await laneQueueCountsIn(redis, prefix, true, 'invoice-create', 'failed', 'wait', 'active', 'delayed'));
  }
  if (counts.failed || counts.wait || counts.active || counts.delayed) throw new Error(`lane-slot pipeline check failed on ${prefix}: ${JSON.stringify(counts)}`);
}

async function scenarioProfile(e: Env): Promise<Record<string, unknown>> {
  if (!e.single) return { measured: false, reason: 'MONITOR counting needs a single Redis, not a cluster' };
  const sb = await startSandboxProcess(e.dir, 0, 'sandbox-profile');
  e.cleanup.push(() => sb.child.stop());
  const out: Record<string, unknown> = {};

  // 1. Redis commands per order, API and worker apart: the API takes orders while the create
  // queue is paused, then the worker drains it.
  {
    const prefix = `bench-${runTag()}-rt`;
    e.cleanup.push(() => deletePrefix(e.redis, prefix));
    const stack = await startStack({
      dir: e.dir,
      redisUrl: S.redisUrl,
      prefix,
      sandbox: sb.info,
      concurrency: S.concurrency,
      workers: 1,
      logLevel: S.logLevel,
      name: 'roundtrips',
    });
    // Each lane has its create queue: pausing them all holds every order back until the API is done.
    const createQueues = BENCH_LANES.map((lane) => new Queue(`invoice-create.${lane}`, { connection: e.redis, prefix }));
    const tap = new MonitorTap(S.redisUrl, prefix);
    try {
      await systemRun(stack, e.redis, prefix, 200, { batch: S.batch, inflight: 1, timeoutMs: S.timeoutMs });
      await Promise.all(createQueues.map((q) => q.pause()));
      await tap.start();
      await new Promise((r) => setTimeout(r, 200));
      tap.reset();
      const n = S.profileOrders;
      const bodies = JSON.stringify({ orders: orders(runTag(), n) });
      const res = await fetch(`${stack.apiUrl}/v1/invoices/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies });
      if (res.status !== 200) throw new Error(`profile batch refused: ${res.status}`);
      await new Promise((r) => setTimeout(r, 300));
      const api = tap.reset();
      const base = await e.redis.llen(`${prefix}:invoice-results:wait`);
      await Promise.all(createQueues.map((q) => q.resume()));
      await waitForCreated(e.redis, prefix, n, S.timeoutMs, base);
      await new Promise((r) => setTimeout(r, 1200)); // the relay's interval pass and idle polling settle
      const worker = tap.reset();
      const perOrder = (c: CommandCounts) => {
        const sent = Object.entries(c.sent).sort((a, b) => b[1] - a[1]);
        const total = sent.reduce((s, [, v]) => s + v, 0);
        const lua = Object.values(c.inLua).reduce((s, v) => s + v, 0);
        return {
          sentPerOrder: Math.round((total / n) * 100) / 100,
          commandsInLuaPerOrder: Math.round((lua / n) * 100) / 100,
          byCommand: Object.fromEntries(sent.map(([k, v]) => [k, Math.round((v / n) * 100) / 100])),
          inLuaByScript: Object.fromEntries(
            Object.entries(c.inLuaByScript)
              .sort((a, b) => b[1] - a[1])
              .map(([k, v]) => [k, Math.round((v / n) * 100) / 100]),
          ),
        };
      };
      out.roundTrips = { orders: n, api: perOrder(api), worker: perOrder(worker) };
    } finally {
      await tap.stop();
      await Promise.all(createQueues.map((q) => q.close()));
      await stack.stop();
      await deletePrefix(e.redis, prefix);
    }
  }

  // 2. Where the CPU goes: the API and one worker under --cpu-prof for one load.
  {
    const prefix = `bench-${runTag()}-cpu`;
    e.cleanup.push(() => deletePrefix(e.redis, prefix));
    // BENCH_CPU_PROFILE_DIR keeps the profiles (for Chrome DevTools or speedscope).
    const profDir = env.BENCH_CPU_PROFILE_DIR ?? join(e.dir, 'cpu-prof');
    const stack: Stack = await startStack({
      dir: e.dir,
      redisUrl: S.redisUrl,
      prefix,
      sandbox: sb.info,
      concurrency: S.concurrency,
      workers: 1,
      logLevel: S.logLevel,
      name: 'cpuprof',
      nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
    });
    let run: RunResult;
    let window: { fromUs: number; toUs: number };
    try {
      // Warm first, then profile only the measured load (not module loading or shutdown).
      await systemRun(stack, e.redis, prefix, S.warmup, { batch: S.batch, inflight: S.inflight, timeoutMs: S.timeoutMs });
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      run = await systemRun(stack, e.redis, prefix, S.cpuProfileOrders, { batch: S.batch, inflight: S.inflight, timeoutMs: S.timeoutMs });
      window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
    } finally {
      await stack.stop();
      await deletePrefix(e.redis, prefix);
    }
    const files = existsSync(profDir) ? readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')) : [];
    const summaries: Record<string, ProfileSummary> = {};
    for (const f of files) {
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread, the
      // others are the TypeScript loader's.
      const m = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(f);
      const pid = Number(m?.[1]);
      const who = pid === stack.api.pid ? 'api' : pid === stack.workers[0]?.pid ? 'worker' : `pid ${pid}`;
      summaries[m?.[2] === '0' ? who : `${who} (loader thread)`] = summarizeProfile(join(profDir, f), window);
    }
    out.cpuProfile = { orders: S.cpuProfileOrders, perSecondUnderProfiler: Math.round(run.perSecond), processes: summaries };
  }
  await sb.child.stop();
  return out;
}

// ------------------------------------------------------------------------------------------------
// Report

function machine(single?: Redis, redisVersion?: string): Record<string, unknown> {
  let freeH = '';
  try {
    freeH = execFileSync('free', ['-h'], { encoding: 'utf8' }).split('\n')[1]?.replace(/\s+/g, ' ').trim() ?? '';
  } catch {
    /* not Linux */
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    free: freeH,
    node: process.version,
    redis: redisVersion ?? null,
    redisTarget: single ? 'single' : 'cluster',
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

type Row = [string, string, string];

function fmt(n: unknown, unit = ''): string {
  return typeof n === 'number' ? `${n.toLocaleString('en-US')}${unit}` : String(n ?? 'n/a');
}

function table(r: Record<string, any>): string {
  // The targets first, met or missed, then every figure.
  const rows: Row[] = [...targetRows(r)];
  const s = (x: Series | undefined, unit = ' orders/s'): string => (x ? `${fmt(x.median, unit)} (${fmt(x.min)}-${fmt(x.max)})` : 'n/a');
  if (r['all-in-one']) rows.push(...allInOneRows(r['all-in-one']));
  if (r['hot-path']) rows.push(...hotPathRows(r['hot-path']));
  if (r.create) {
    const c = r.create;
    rows.push([`create, 0 ms provider, concurrency ${c.concurrency}`, s(c.system), '']);
    rows.push(['reference pipeline, same conditions', s(c.reference), '']);
    rows.push(['ratio (ours / reference)', fmt(c.ratio), '>= 0.7']);
    const cpu = c.cpuMsPerOrder?.system as Record<string, number> | undefined;
    if (cpu?.redis) {
      rows.push(['Redis CPU per order (API, worker and relay together)', fmt(cpu.redis, ' ms'), '<= 0.15 ms']);
      rows.push(['  the ceiling it implies: orders/s at one full Redis core', fmt(Math.round(1000 / cpu.redis), ' orders/s'), '']);
    }
    if (cpu?.worker) rows.push([`worker CPU per order, 0 ms provider, concurrency ${c.concurrency}`, fmt(cpu.worker, ' ms'), '<= 0.25 ms']);
  }
  if (r.pinned) {
    const c = r.pinned;
    if (!c.measured) rows.push(['pinned: Redis on a core of its own', `not measured: ${c.reason}`, '']);
    else {
      const cpu = c.cpuMsPerOrder?.system as Record<string, number> | undefined;
      rows.push([`pinned (Redis alone on CPU ${c.redisCpu}, every Node process on CPU ${c.othersCpus}): create`, s(c.system), '']);
      rows.push(['  pinned: reference pipeline', s(c.reference), '']);
      rows.push(['  pinned: ratio (ours / reference)', fmt(c.ratio), '>= 0.85']);
      if (cpu?.redis)
        rows.push(['  pinned: Redis CPU per order', `${fmt(cpu.redis, ' ms')} (ceiling ${fmt(Math.round(1000 / cpu.redis), ' orders/s')} at one core)`, '<= 0.15 ms']);
      if (cpu?.worker) rows.push(['  pinned: worker CPU per order', fmt(cpu.worker, ' ms'), '<= 0.25 ms']);
    }
  }
  if (r.latency) {
    const l = r.latency;
    rows.push([`create, ${l.latencyMs} ms provider, 1 worker, concurrency ${l.concurrency}`, s(l.system), '>= 3,000 orders/s']);
    if (l.cpuMsPerOrder?.worker) rows.push([`worker CPU per order, ${l.latencyMs} ms provider, concurrency ${l.concurrency}`, fmt(l.cpuMsPerOrder.worker, ' ms'), '<= 0.25 ms']);
    for (const w of l.sweep ?? []) rows.push([`  sweep: concurrency ${w.concurrency}`, fmt(w.perSecond, ' orders/s'), '']);
  }
  if (r.callbacks) {
    const cb = r.callbacks;
    if (!cb.measured) rows.push(['callback ingest', `not measured: ${cb.reason}`, '']);
    else {
      const lat = (f: { p50Ms: number; p99Ms: number; maxMs: number }): string => `${f.p50Ms} / ${f.p99Ms} / ${f.maxMs} ms`;
      rows.push([
        `callback ingest, maximum (closed loop, ${cb.maxRate.connections} connections, API alone)`,
        `${fmt(cb.maxRate.perSecond)}/s (${fmt(cb.maxRate.ok)} of ${fmt(cb.maxRate.sent)} answered 200)`,
        '>= 5,000/s',
      ]);
      rows.push([`callback time to the 200 at ${fmt(cb.fixedRate.offeredPerSecond)}/s, API alone: p50 / p99 / max`, lat(cb.fixedRate), 'p99 <= 20 ms']);
      rows.push([`  same, worker applying meanwhile: p50 / p99 / max`, lat(cb.fixedRateWithWorker), '']);
      rows.push(['callbacks applied by one worker (stored backlog)', fmt(cb.appliedPerSecond, '/s'), '']);
      const c = cb.cpuMsPerCallback as Record<string, Record<string, number>> | undefined;
      const list = (o: Record<string, number> | undefined): string =>
        o
          ? Object.entries(o)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')
          : 'n/a';
      if (c) {
        rows.push(['CPU ms per callback, ingest (maximum-rate phase)', list(c.maxRate), '']);
        rows.push(['CPU ms per callback, apply (backlog phase)', list(c.applied), '']);
      }
    }
  }
  if (r.create) {
    const m = r.create.memory;
    // On the Redis at REDIS_URL, as it is configured; the polling scenario measures the shipped configuration.
    rows.push(["Redis bytes per open invoice, this Redis's config: store", fmt(m.storeBytesPerInvoice, ' B'), '']);
    rows.push(["Redis bytes per open invoice, this Redis's config: all keys", fmt(m.allKeysBytesPerInvoice, ' B'), '']);
    rows.push(['Redis used_memory delta per invoice', fmt(m.usedMemoryDeltaPerInvoice, ' B'), '']);
    rows.push([`worker RSS under load, 0 ms (max / median)`, r.create.workerRss ? `${r.create.workerRss.maxMb} / ${r.create.workerRss.medianMb} MB` : 'n/a', '<= 200 MB']);
  }
  if (r.latency?.workerRss)
    rows.push([`worker RSS under load, ${r.latency.latencyMs} ms (max / median)`, `${r.latency.workerRss.maxMb} / ${r.latency.workerRss.medianMb} MB`, '<= 200 MB']);
  if (r.ledger) rows.push(...ledgerRows(r.ledger, r.create?.cpuMsPerOrder?.system?.redis));
  if (r.polling) rows.push(...pollingRows(r.polling));
  if (r.lanes) rows.push(...lanesRows(r.lanes));
  if (r.durability) rows.push(...durabilityRows(r.durability));
  if (r.checkout) rows.push(...checkoutRows(r.checkout));
  if (r.cluster) {
    rows.push([`Redis Cluster (3 masters), 1 worker, concurrency ${r.cluster.concurrencyPerWorker}`, s(r.cluster.oneWorker), '']);
    rows.push(['Redis Cluster (3 masters), 2 worker processes', s(r.cluster.twoWorkers), '']);
    const l = r.cluster.laneSlots;
    if (l) {
      rows.push(['Redis Cluster, lanes in slots of their own (LANE_HASH_TAGS), 2 workers', s(l.twoWorkers), '']);
      for (const m of l.perMaster)
        rows.push([
          `  master ${m.node} (${m.holds.length ? m.holds.join(', ') : 'nothing of ours'})`,
          `${m.cpuMsPerOrder} ms Redis CPU, ${m.commandsPerOrder} commands per order (${m.top.join(', ')})`,
          '',
        ]);
      rows.push(['  fleet ceiling: the busiest master at one full core', l.ceilingOrdersPerSecond ? `${l.ceilingOrdersPerSecond} orders/s` : 'n/a', '']);
    }
  }
  if (r.profile?.roundTrips) {
    const t = r.profile.roundTrips;
    rows.push(['Redis commands sent per order: API / worker', `${t.api.sentPerOrder} / ${t.worker.sentPerOrder}`, '']);
    rows.push(['Redis commands inside Lua per order: API / worker', `${t.api.commandsInLuaPerOrder} / ${t.worker.commandsInLuaPerOrder}`, '']);
  }
  for (const who of ['worker', 'api']) {
    const p = r.profile?.cpuProfile?.processes?.[who] as ProfileSummary | undefined;
    if (p)
      rows.push([
        `${who} CPU by concern (profiled run)`,
        p.byConcern
          .slice(0, 6)
          .map((c) => `${c.what} ${c.share}%`)
          .join(', '),
        '',
      ]);
  }
  if (r.create?.cpuMsPerOrder) {
    const c = r.create.cpuMsPerOrder;
    const list = (o: Record<string, number>): string =>
      Object.entries(o)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    rows.push(['CPU ms per order, ours', list(c.system), '']);
    rows.push(['CPU ms per order, reference', list(c.reference), '']);
  }
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length), ['figure', 'median (min-max)', 'target'][i]!.length));
  const line = (row: string[]): string => row.map((c, i) => c.padEnd(w[i]!)).join(' | ');
  return [line(['figure', 'median (min-max)', 'target']), w.map((n) => '-'.repeat(n)).join('-|-'), ...rows.map(line)].join('\n');
}

// ------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  // BENCH_LOG_DIR keeps every process's log there (otherwise a temp dir, removed at the end).
  if (RUNTIME === 'dist' && !existsSync(join(ROOT, 'dist/src/main.js'))) {
    throw new Error('no compiled build: run `npm run build` first (`npm run bench` does), or set BENCH_RUNTIME=tsx');
  }
  const keep = env.BENCH_LOG_DIR;
  if (keep) mkdirSync(keep, { recursive: true });
  const dir = keep ?? (await mkdtemp(join(os.tmpdir(), 'iw-bench-')));
  const redis = connect(S.redisUrl);
  await ready(redis);
  const single = redis instanceof Redis ? redis : undefined;
  const e: Env = { dir, redis, single, cleanup: [] };
  const redisVersion = single ? (await info(single, 'server')).redis_version : undefined;
  const started = Date.now();
  const result: Record<string, unknown> = { settings: { ...S, scenarios: [...S.scenarios], redisUrl: undefined, runtime: RUNTIME } };
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    progress('interrupted: cleaning up');
    // The run in flight fails as its processes stop; cleaning up matters more than its error.
    const quiet = (err: unknown): void => progress(`ignored while stopping: ${err instanceof Error ? err.message : String(err)}`);
    process.on('uncaughtException', quiet);
    process.on('unhandledRejection', quiet);
    void runCleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  async function runCleanup(): Promise<void> {
    for (const fn of e.cleanup.splice(0).reverse()) await fn().catch(() => undefined);
  }
  try {
    result.machineAtStart = machine(single, redisVersion);
    const step = async (name: string, fn: () => Promise<Record<string, unknown>> | Record<string, unknown>): Promise<void> => {
      if (!S.scenarios.has(name) || interrupted) return;
      const t0 = Date.now();
      progress(`${name}: start`);
      try {
        result[name] = await fn();
      } finally {
        await runCleanup();
      }
      progress(`${name}: done in ${Math.round((Date.now() - t0) / 1000)} s`);
    };
    await step('all-in-one', () =>
      scenarioAllInOne({
        dir: e.dir,
        redis: e.redis,
        single: e.single,
        redisUrl: S.redisUrl,
        orders: S.allInOneOrders,
        batch: S.allInOneBatch,
        inflight: S.inflight,
        runs: S.runs,
        warmup: S.warmup,
        referenceConcurrency: S.concurrency,
        timeoutMs: S.timeoutMs,
        profile: S.allInOneProfile,
        profileDir: env.BENCH_CPU_PROFILE_DIR,
        before: S.allInOneBefore,
        progress,
        cleanup: e.cleanup,
      }),
    );
    await step('hot-path', () =>
      scenarioHotPath({
        dir: e.dir,
        redis: e.redis,
        redisUrl: S.redisUrl,
        parts: S.hotPathParts,
        rounds: S.hotPathRounds,
        requests: S.hotPathRequests,
        applies: S.hotPathApplies,
        orders: S.allInOneOrders,
        batch: S.allInOneBatch,
        inflight: S.inflight,
        runs: S.runs,
        warmup: S.warmup,
        timeoutMs: S.timeoutMs,
        beforeListing: S.beforeListing,
        ledgerOrders: S.hotPathLedgerOrders,
        progress,
        cleanup: e.cleanup,
      }),
    );
    await step('create', () => scenarioCreate(e));
    await step('pinned', () => scenarioPinned(e));
    // In this process, on a Redis of its own (started and stopped by the scenario), configured as we ship it.
    await step('ledger', () =>
      scenarioLedger({
        dir: e.dir,
        orders: S.ledgerOrders,
        runs: S.ledgerRuns,
        concurrency: S.concurrency,
        batch: S.batch,
        progress,
      }),
    );
    await step('latency', () => scenarioLatency(e));
    await step('checkout', () =>
      scenarioCheckout({
        dir: e.dir,
        redis: e.redis,
        redisUrl: S.redisUrl,
        seconds: S.checkoutSeconds,
        rates: S.checkoutRates,
        latencies: [0, S.latencyMs],
        waitRate: S.checkoutWaitRate,
        concurrency: S.latencyConcurrency,
        timeoutMs: S.timeoutMs,
        logLevel: S.logLevel,
        progress,
        cleanup: e.cleanup,
      }),
    );
    await step('callbacks', () => scenarioCallbacks(e));
    // On a Redis of its own (started and stopped by the scenario), configured as we ship it.
    await step('polling', () =>
      scenarioPolling({
        dir: e.dir,
        invoices: S.openInvoices,
        concurrency: S.concurrency,
        logLevel: S.logLevel,
        timeoutMs: S.timeoutMs,
        measureSeconds: S.pollSeconds,
        pollRatePerSecond: S.pollRate,
        progress,
      }),
    );
    await step('lanes', () =>
      scenarioLanes({
        dir: e.dir,
        redis: e.redis,
        redisUrl: S.redisUrl,
        orders: S.lanesOrders,
        latencyMs: S.lanesLatencyMs,
        concurrency: S.lanesConcurrency,
        outageSeconds: S.lanesOutageSeconds,
        timeoutMs: S.timeoutMs,
        logLevel: S.logLevel,
        progress,
        cleanup: e.cleanup,
      }),
    );
    // On a primary and two replicas of its own (started and stopped by the scenario).
    await step('durability', () =>
      scenarioDurability({
        dir: e.dir,
        orders: S.durabilityOrders,
        singles: S.durabilitySingles,
        linkMs: S.durabilityLinkMs,
        concurrency: S.concurrency,
        timeoutMs: S.timeoutMs,
        logLevel: S.logLevel,
        progress,
        cleanup: e.cleanup,
      }),
    );
    await step('cluster', () => scenarioCluster(e));
    await step('profile', () => scenarioProfile(e));
    result.machineAtEnd = { loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100) };
    result.durationSeconds = Math.round((Date.now() - started) / 1000);
    process.stdout.write(`\n${table(result)}\n\n${JSON.stringify(result, null, 2)}\n`);
    if (env.BENCH_JSON) writeFileSync(env.BENCH_JSON, JSON.stringify(result, null, 2));
  } finally {
    await runCleanup();
    redis.disconnect();
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}

await main();
