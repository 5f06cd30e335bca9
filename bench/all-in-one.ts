/**
 * Scenario `all-in-one`: the product as a newcomer and a small shop run it, one `npm start`
 * process (package.json's `start` line, read from the tree: API, workers and relay together), against the
 * reference pipeline (reference-worker.ts) on the same provider stand-in and Redis, in one run.
 *
 * The shipped start runs a sandbox of its own only while no provider has credentials
 * (src/config.ts, SANDBOX=auto); given each provider's base URL and credentials it points every
 * lane at them instead. Here it is given the bench's sandbox process, which the reference shares,
 * and the bench's Redis, a queue prefix of its own and a free port, and CryptoSteroid's cap on
 * unpaid invoices lifted (see `sandboxProviderEnv`): nothing else. Concurrency,
 * logging (info), polling and retention are the shipped defaults, and it runs from the
 * command line whatever BENCH_RUNTIME says, as `npm start` does. What sandbox
 * mode would set besides (PUBLIC_BASE_URL to this process, WEBHOOK_ALLOW_PRIVATE) is set alike.
 *
 * Each run posts BENCH_ALL_IN_ONE_ORDERS (5000) orders to POST /v1/invoices/batch in batches of
 * BENCH_ALL_IN_ONE_BATCH (500), BENCH_POST_INFLIGHT at a time, and ends when every `created`
 * result is on the results queue; then the same orders go through the reference pipeline (its
 * jobs added in the same batches). The two alternate, so drifting load from other work on the
 * machine hits both alike. CPU per order of the process, the sandbox and Redis over each run;
 * Redis's CPU also less what it spent in the same time while idle before the runs (other
 * clients of a shared Redis, its own timers). Then (BENCH_ALL_IN_ONE_PROFILE, on unless 0) the
 * same start under `--cpu-prof` for one more run, its main thread's self time by role (roles.ts).
 *
 * BENCH_ALL_IN_ONE_BEFORE=<git revision>: that revision's tree (extracted from git, run with this
 * checkout's node_modules) starts beside this one, and each run goes before, this checkout, the
 * reference: a change's throughput, CPU per order and RSS before and after from one run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { RedisClient } from '../src/redis/connect.ts';
import { RssSampler, cpuPerOrder, cpuSnapshot, medianCpu, series, type Series } from './measure.ts';
import { runTag } from './orders.ts';
import { ROOT, freePort, spawnNode, type Child } from './procs.ts';
import { deletePrefix, redisCpuMs } from './redis-tools.ts';
import { referenceQueue, referenceRun, startReference } from './reference.ts';
import { summarizeRoles, type RoleSummary } from './roles.ts';
import { sandboxProviderEnv, startSandboxProcess, systemRun, whenReady, type SandboxInfo } from './stack.ts';

export interface AllInOneOptions {
  dir: string;
  redis: RedisClient;
  /** The single Redis (not a cluster), for INFO cpu. */
  single?: Redis;
  redisUrl: string;
  orders: number;
  batch: number;
  inflight: number;
  runs: number;
  warmup: number;
  /** The reference worker's concurrency: the shipped CREATE_CONCURRENCY. */
  referenceConcurrency: number;
  timeoutMs: number;
  /** One more run under the CPU profiler, attributed by role. */
  profile: boolean;
  /** Keep the profiles here (else under `dir`). */
  profileDir?: string;
  /**
   * BENCH_ALL_IN_ONE_BEFORE: a git revision whose one-process start runs beside this checkout's,
   * run by run (before, this checkout, the reference), for a change's figures before and after.
   */
  before?: string;
  progress: (msg: string) => void;
  cleanup: Array<() => Promise<unknown>>;
}

export interface OneProcess {
  child: Child;
  apiUrl: string;
  stop(): Promise<void>;
}

/**
 * What a newcomer's environment holds, pointed at the bench: each provider's default account at
 * the sandbox process, the bench's Redis and prefix, a port. `extra` for a scenario's own setting
 * (tracing, an API token), named where it is used.
 */
export function newcomerEnv(sandbox: SandboxInfo, redisUrl: string, prefix: string, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    // As sandbox mode sets them (src/main.ts, src/config.ts).
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    // With the one setting not as shipped: CryptoSteroid's cap on unpaid invoices, lifted.
    ...sandboxProviderEnv(sandbox),
    ...extra,
  };
}

/**
 * What `npm start` runs in the tree at `root`: its package.json `start` line (`node <argv>`), so
 * a change to the start (node flags, the compiled build) is measured as shipped.
 */
export function startArgv(root: string = ROOT): string[] {
  const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts?.start ?? '';
  const m = /^node\s+(.+)$/.exec(start.trim());
  if (!m) throw new Error(`package.json start is not a plain node command line: ${start}`);
  return m[1]!.split(/\s+/);
}

/** The one-process start as `npm start` runs it (role all), ready once it answers /readyz; `root`: another tree's. */
export async function startOneProcess(o: {
  dir: string;
  name: string;
  redisUrl: string;
  prefix: string;
  sandbox: SandboxInfo;
  env?: Record<string, string>;
  nodeFlags?: string[];
  root?: string;
}): Promise<OneProcess> {
  const port = await freePort();
  const child = spawnNode(o.name, [...(o.nodeFlags ?? []), ...startArgv(o.root)], newcomerEnv(o.sandbox, o.redisUrl, o.prefix, port, o.env), o.dir, o.root);
  const apiUrl = `http://127.0.0.1:${port}`;
  try {
    await whenReady(child, apiUrl, 'the one-process start to be ready');
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { child, apiUrl, stop: () => child.stop() };
}

/** The tree at git revision `rev`, extracted under `dir` with this checkout's node_modules. */
function treeAt(dir: string, rev: string): string {
  const root = join(dir, `tree-${rev.replace(/[^A-Za-z0-9]/g, '_')}`);
  if (existsSync(root)) return root;
  mkdirSync(root, { recursive: true });
  const tar = `${root}.tar`;
  execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', '-o', tar, rev]);
  execFileSync('tar', ['-xf', tar, '-C', root]);
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  return root;
}

/** Redis CPU ms per second while nothing of ours is loading it (others' clients, its own timers). */
async function idleRedisMsPerSecond(redis: Redis, ms = 2000): Promise<number> {
  const a = await redisCpuMs(redis);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, ms));
  return ((await redisCpuMs(redis)) - a) / ((Date.now() - t0) / 1000);
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

export async function scenarioAllInOne(o: AllInOneOptions): Promise<Record<string, unknown>> {
  const tag = runTag();
  const prefix = `bench-${tag}-aio`;
  const refPrefix = `bench-${tag}-aio-ref`;
  const beforePrefix = `bench-${tag}-aio-before`;
  o.cleanup.push(
    () => deletePrefix(o.redis, prefix),
    () => deletePrefix(o.redis, refPrefix),
    () => deletePrefix(o.redis, beforePrefix),
  );
  const sb = await startSandboxProcess(o.dir, 0, 'sandbox-all-in-one');
  o.cleanup.push(() => sb.child.stop());
  const one = await startOneProcess({ dir: o.dir, name: 'all-in-one', redisUrl: o.redisUrl, prefix, sandbox: sb.info });
  o.cleanup.push(() => one.stop());
  const old = o.before
    ? await startOneProcess({ dir: o.dir, name: 'all-in-one-before', redisUrl: o.redisUrl, prefix: beforePrefix, sandbox: sb.info, root: treeAt(o.dir, o.before) })
    : undefined;
  if (old) o.cleanup.push(() => old.stop());
  const ref = await startReference(o.dir, refPrefix, sb.info, o.referenceConcurrency, o.redisUrl, 'all-in-one-reference');
  o.cleanup.push(() => ref.stop());
  const refQueue = referenceQueue(o.redis, refPrefix);
  o.cleanup.push(() => refQueue.close());
  const opts = { batch: o.batch, inflight: o.inflight, timeoutMs: o.timeoutMs };

  o.progress(`all-in-one: warm-up (${o.warmup} orders each)`);
  await systemRun(one, o.redis, prefix, o.warmup, opts);
  if (old) await systemRun(old, o.redis, beforePrefix, o.warmup, opts);
  await referenceRun(o.redis, refQueue, refPrefix, sb.info, o.warmup, opts);
  const idle = o.single ? await idleRedisMsPerSecond(o.single) : undefined;

  const ours: number[] = [];
  const refs: number[] = [];
  const cpuOurs: Array<Record<string, number>> = [];
  const cpuRef: Array<Record<string, number>> = [];
  const olds: number[] = [];
  const cpuOld: Array<Record<string, number>> = [];
  const rss = new RssSampler(() => [one.child]).start();
  const oldRss = old ? new RssSampler(() => [old.child]).start() : undefined;
  // Redis CPU per order less what an idle Redis spends over the same wall time.
  const lessIdle = (cpu: Record<string, number>, ms: number): Record<string, number> =>
    idle === undefined || cpu.redis === undefined ? cpu : { ...cpu, redisLessIdle: round(cpu.redis - (idle * ms) / 1000 / o.orders, 3) };
  for (let i = 0; i < o.runs; i++) {
    if (old) {
      const b = await cpuSnapshot({ process: old.child, sandbox: sb.child }, o.single);
      const rb = await systemRun(old, o.redis, beforePrefix, o.orders, opts);
      cpuOld.push(lessIdle(cpuPerOrder(b, await cpuSnapshot({ process: old.child, sandbox: sb.child }, o.single), o.orders), rb.ms));
      olds.push(rb.perSecond);
    }
    let before = await cpuSnapshot({ process: one.child, sandbox: sb.child }, o.single);
    const r = await systemRun(one, o.redis, prefix, o.orders, opts);
    cpuOurs.push(lessIdle(cpuPerOrder(before, await cpuSnapshot({ process: one.child, sandbox: sb.child }, o.single), o.orders), r.ms));
    ours.push(r.perSecond);
    before = await cpuSnapshot({ process: ref, sandbox: sb.child }, o.single);
    const rr = await referenceRun(o.redis, refQueue, refPrefix, sb.info, o.orders, opts);
    cpuRef.push(lessIdle(cpuPerOrder(before, await cpuSnapshot({ process: ref, sandbox: sb.child }, o.single), o.orders), rr.ms));
    refs.push(rr.perSecond);
    const was = old ? `, before (${o.before}) ${Math.round(olds.at(-1)!)}/s` : '';
    o.progress(`all-in-one: run ${i + 1}/${o.runs}: one process ${Math.round(r.perSecond)}/s, reference ${Math.round(rr.perSecond)}/s${was}`);
  }
  const processRss = rss.stop();
  const beforeRss = oldRss?.stop();
  await one.stop();
  await old?.stop();
  await ref.stop();
  const system: Series = series(ours);
  const reference: Series = series(refs);
  const out: Record<string, unknown> = {
    start: 'node --import tsx src/main.ts (role all), shipped defaults, pointed at the sandbox process',
    ordersPerRun: o.orders,
    batch: o.batch,
    inflight: o.inflight,
    referenceConcurrency: o.referenceConcurrency,
    system,
    reference,
    ratio: round(system.median / reference.median, 2),
    cpuMsPerOrder: { system: medianCpu(cpuOurs), reference: medianCpu(cpuRef) },
    redisIdleMsPerSecond: idle === undefined ? null : round(idle, 1),
    processRss,
  };
  if (old) {
    const b = series(olds);
    out.before = {
      revision: o.before,
      system: b,
      ratio: round(b.median / reference.median, 2),
      cpuMsPerOrder: medianCpu(cpuOld),
      processRss: beforeRss,
      note: 'the one-process start of that revision, run by run before this checkout and the reference',
    };
  }
  if (o.profile) out.profile = await profiledRun(o, sb.info, (cpuOurs.length ? medianCpu(cpuOurs).process : undefined) ?? null);
  await sb.child.stop();
  return out;
}

/** One run of the same start under `--cpu-prof`: its main thread's self time by role. */
async function profiledRun(o: AllInOneOptions, sandbox: SandboxInfo, processMsPerOrder: number | null): Promise<Record<string, unknown>> {
  const prefix = `bench-${runTag()}-aio-prof`;
  o.cleanup.push(() => deletePrefix(o.redis, prefix));
  const profDir = o.profileDir ?? join(o.dir, 'all-in-one-prof');
  const one = await startOneProcess({ dir: o.dir, name: 'all-in-one-prof', redisUrl: o.redisUrl, prefix, sandbox, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  const opts = { batch: o.batch, inflight: o.inflight, timeoutMs: o.timeoutMs };
  let perSecond: number;
  let window: { fromUs: number; toUs: number };
  try {
    o.progress('all-in-one: profiled run');
    // Warm first, then profile only the measured load (not module loading or shutdown).
    await systemRun(one, o.redis, prefix, o.warmup, opts);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    perSecond = (await systemRun(one, o.redis, prefix, o.orders, opts)).perSecond;
    window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
  } finally {
    await one.stop();
    await deletePrefix(o.redis, prefix);
  }
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread.
  const file = existsSync(profDir) ? readdirSync(profDir).find((f) => f.includes(`.${one.child.pid}.0.`) && f.endsWith('.cpuprofile')) : undefined;
  if (!file) return { measured: false, reason: `no main-thread profile of pid ${one.child.pid} in ${profDir}` };
  const s: RoleSummary = summarizeRoles(join(profDir, file), window);
  return {
    measured: true,
    orders: o.orders,
    perSecondUnderProfiler: Math.round(perSecond),
    // The profile and the run's window in it (µs of the monotonic clock), for reading it again.
    file: join(profDir, file),
    window,
    busyMs: s.busyMs,
    idleMs: s.idleMs,
    processCpuMsPerOrderUnprofiled: processMsPerOrder,
    note: 'main thread self time in the window of one run; msPerOrder under the profiler; scaledMsPerOrder = share x the process CPU per order of the unprofiled runs (every thread, so GC helpers and the thread pool are in it, spread by share)',
    roles: s.roles.map((r) => ({
      ...r,
      msPerOrder: round(r.ms / o.orders, 4),
      scaledMsPerOrder: processMsPerOrder === null ? null : round((r.share / 100) * processMsPerOrder, 4),
    })),
  };
}

function fmt(n: unknown, unit = ''): string {
  return typeof n === 'number' ? `${n.toLocaleString('en-US')}${unit}` : String(n ?? 'n/a');
}

/** Rows for the bench's table: [figure, value, target]. */
export function allInOneRows(r: Record<string, any>): Array<[string, string, string]> {
  const s = (x: Series | undefined): string => (x ? `${fmt(x.median, ' orders/s')} (${fmt(x.min)}-${fmt(x.max)})` : 'n/a');
  const list = (c: Record<string, number> | undefined): string =>
    c
      ? Object.entries(c)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')
      : 'n/a';
  const rows: Array<[string, string, string]> = [
    [`all-in-one: one \`npm start\` process, ${fmt(r.ordersPerRun)} orders in batches of ${fmt(r.batch)}`, s(r.system), ''],
    ['  all-in-one: reference pipeline, same sandbox and Redis', s(r.reference), ''],
    ['  all-in-one: ratio (one process / reference)', fmt(r.ratio), '>= 0.7'],
    ['  all-in-one: CPU ms per order, one process', list(r.cpuMsPerOrder?.system), ''],
    ['  all-in-one: CPU ms per order, reference', list(r.cpuMsPerOrder?.reference), ''],
    ['  all-in-one: process RSS under load (max / median)', r.processRss ? `${r.processRss.maxMb} / ${r.processRss.medianMb} MB` : 'n/a', ''],
  ];
  const b = r.before;
  if (b) {
    rows.push(
      [`  all-in-one: before (${b.revision}), same runs`, s(b.system), ''],
      ['  all-in-one: before: ratio', fmt(b.ratio), ''],
      ['  all-in-one: before: CPU ms per order', list(b.cpuMsPerOrder), ''],
      ['  all-in-one: before: RSS (max / median)', b.processRss ? `${b.processRss.maxMb} / ${b.processRss.medianMb} MB` : 'n/a', ''],
    );
  }
  const p = r.profile;
  if (p && !p.measured) rows.push(['  all-in-one: CPU by role', `not measured: ${p.reason}`, '']);
  if (p?.measured) {
    rows.push([
      `  all-in-one: CPU by role (profiled run, ${fmt(p.perSecondUnderProfiler)} orders/s under the profiler)`,
      'share; ms per order under the profiler; scaled to the unprofiled process',
      '',
    ]);
    for (const x of p.roles) rows.push([`    ${x.role}`, `${fmt(x.share)} %; ${fmt(x.msPerOrder)} ms; ${fmt(x.scaledMsPerOrder)} ms`, '']);
  }
  return rows;
}
