/**
 * Scenario `hot-path`: what this round's additions cost on the path every order takes, each
 * measured before and after in one run, the two sides alternating so load from other work on the
 * machine hits both alike (medians of BENCH_HOT_PATH_ROUNDS rounds):
 *
 * - money: the store's apply of `paid` with the money fields (received and settled amounts,
 *   transactions, fees: on the record, in the result, and the transactions' lookup keys) against
 *   the same `paid` apply with the provider status alone; on a private Redis, one apply at a time:
 *   Redis time per apply (INFO commandstats: the EVALSHA and the commands after it), Redis CPU
 *   (INFO cpu), commands, and the caller's wait.
 * - listing: the ledger scenario (Redis cost of each step of the create pipeline) run by the code
 *   before the listing indexes (BENCH_BEFORE_LISTING, a git revision: its tree is extracted from
 *   git and run with this checkout's node_modules) and by this checkout: accept and `created`.
 * - keys: API key checks, the one-process start with API_TOKEN and without; GET of one invoice,
 *   closed loop: the process's CPU per request (less its idle CPU) and latency.
 * - deadline: the Redis deadline (src/redis/watch.ts) in front of an express route that reads
 *   Redis, against the same route without it (micro-server.ts): server CPU per request (less its
 *   idle CPU, where the watch's PINGs are) and latency.
 * - bodycap: a provider answer (micro-server.ts) read through an undici pool as the provider HTTP
 *   client had it before the cap, with the cap (maxResponseSize), and with the cap and the
 *   per-request deadline (AbortSignal.timeout) as it has them now: client CPU per read, latency.
 * - tracing: the one-process start with tracing on (OTLP over HTTP to a sink in this process) and
 *   off, the all-in-one load alternating between them: throughput ratio and CPU per order.
 *
 * BENCH_HOT_PATH_PARTS picks parts (all by default). Product code is imported only where a part
 * measures it in this process: startSystem and loadConfig (money); the rest runs the product as
 * processes (keys, tracing), runs micro-server.ts (deadline: RedisWatch, redisDeadline) or
 * measures undici itself (bodycap).
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool, request } from 'undici';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import type { RedisClient } from '../src/redis/connect.ts';
import { startSystem, type System } from '../src/system.ts';
import { missingOnPath, startRedisServer } from '../test/helpers/redis-server.ts';
import { startOneProcess, type OneProcess } from './all-in-one.ts';
import { SHIPPED_REDIS_ARGS, snapshot, type Snapshot } from './ledger.ts';
import { cpuPerOrder, cpuSnapshot, percentiles, series, type Percentiles } from './measure.ts';
import { order, runTag } from './orders.ts';
import { ROOT, spawnTs, waitForOutput, type Child } from './procs.ts';
import { deletePrefix } from './redis-tools.ts';
import { startSandboxProcess, systemRun, type SandboxInfo } from './stack.ts';

export interface HotPathOptions {
  dir: string;
  redis: RedisClient;
  redisUrl: string;
  parts: Set<string>;
  rounds: number;
  /** Requests per round of each side (keys, deadline, bodycap). */
  requests: number;
  /** Applies per round of each side (money). */
  applies: number;
  /** The all-in-one load for tracing: orders per run, batch, in flight, runs. */
  orders: number;
  batch: number;
  inflight: number;
  runs: number;
  warmup: number;
  timeoutMs: number;
  beforeListing: string;
  ledgerOrders: number;
  progress: (msg: string) => void;
  cleanup: Array<() => Promise<unknown>>;
}

export const HOT_PATH_PARTS = ['bodycap', 'deadline', 'money', 'keys', 'tracing', 'listing'] as const;

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => series(xs.map((x) => x * 1000)).median / 1000;

/** `n` calls of `one`, `connections` at a time; each call's duration (ms). */
async function closedLoop(n: number, connections: number, one: () => Promise<void>): Promise<{ ms: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next++ < n) {
        const t = performance.now();
        await one();
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { ms: performance.now() - t0, latencies };
}

interface Side {
  /** CPU µs per operation, each round. */
  cpuUs: number[];
  latencies: number[];
}

/** Each side's figures: median CPU µs per operation (with each round's) and latency percentiles. */
function sideFigures(s: Side): { cpuUsPerOp: number; cpuUsRuns: number[]; latencyMs: Percentiles } {
  return { cpuUsPerOp: round(median(s.cpuUs), 2), cpuUsRuns: s.cpuUs.map((v) => round(v, 2)), latencyMs: percentiles(s.latencies, 3) };
}

/** The sides in turn, round after round, so a drift in the machine's load hits each alike. */
async function alternate<K extends string>(rounds: number, sides: Record<K, () => Promise<{ cpuUs: number; latencies: number[] }>>): Promise<Record<K, Side>> {
  const out = {} as Record<K, Side>;
  for (const k of Object.keys(sides) as K[]) out[k] = { cpuUs: [], latencies: [] };
  for (let r = 0; r < rounds; r++) {
    for (const k of Object.keys(sides) as K[]) {
      const x = await sides[k]();
      out[k].cpuUs.push(x.cpuUs);
      out[k].latencies.push(...x.latencies);
    }
  }
  return out;
}

/** A child's CPU ms per second while nobody asks it anything (its timers: the Redis watch's PINGs, BullMQ's workers). */
async function idleCpuPerSecond(child: Child, ms = 3000): Promise<number> {
  const a = child.cpuMs() ?? 0;
  const t0 = performance.now();
  await sleep(ms);
  return ((child.cpuMs() ?? 0) - a) / ((performance.now() - t0) / 1000);
}

/** A closed loop against a child process: its CPU µs per request less what it spends idle over the same time. */
async function childLoop(child: Child, idleMsPerSecond: number, n: number, connections: number, one: () => Promise<void>): Promise<{ cpuUs: number; latencies: number[] }> {
  const a = child.cpuMs() ?? 0;
  const { ms, latencies } = await closedLoop(n, connections, one);
  const used = (child.cpuMs() ?? 0) - a - (idleMsPerSecond * ms) / 1000;
  return { cpuUs: (used * 1000) / n, latencies };
}

async function startMicro(o: HotPathOptions, mode: string, env: Record<string, string> = {}): Promise<{ child: Child; url: string }> {
  const child = spawnTs(`micro-${mode}`, 'bench/micro-server.ts', [], { MICRO: mode, REDIS_URL: o.redisUrl, ...env }, o.dir);
  o.cleanup.push(() => child.stop());
  const port = await waitForOutput(child, (out) => /\{"port":(\d+)\}/.exec(out)?.[1], `the ${mode} server`);
  return { child, url: `http://127.0.0.1:${port}` };
}

// ------------------------------------------------------------------------------------------------
// bodycap: the provider HTTP client's reading of an answer

async function partBodycap(o: HotPathOptions): Promise<Record<string, unknown>> {
  const { url } = await startMicro(o, 'answer');
  const base = { connections: 16, pipelining: 1, keepAliveTimeout: 30_000 };
  // As src/providers/http.ts had its pool before the cap, and has it now (maxResponseSize), plus
  // the one deadline per request it now gives every exchange (AbortSignal.timeout).
  const plain = new Pool(url, base);
  const capped = new Pool(url, { ...base, maxResponseSize: 1_048_576 });
  o.cleanup.push(
    () => plain.close(),
    () => capped.close(),
  );
  const body = JSON.stringify({ foreign_id: 'bench', amount: 100.5, currency: 'EUR' });
  const read = (pool: Pool, deadline: boolean) => async (): Promise<void> => {
    const res = await pool.request({
      method: 'POST',
      path: '/api/v2/invoices/create',
      headers: { 'content-type': 'application/json' },
      body,
      ...(deadline ? { signal: AbortSignal.timeout(20_000) } : {}),
    });
    JSON.parse(await res.body.text());
  };
  const side = (pool: Pool, deadline: boolean) => async (): Promise<{ cpuUs: number; latencies: number[] }> => {
    const a = process.cpuUsage();
    const { latencies } = await closedLoop(o.requests, 16, read(pool, deadline));
    const d = process.cpuUsage(a);
    return { cpuUs: (d.user + d.system) / o.requests, latencies };
  };
  // Warm every path first.
  for (const [p, d] of [
    [plain, false],
    [capped, false],
    [capped, true],
  ] as const)
    await closedLoop(2000, 16, read(p, d));
  const r = await alternate(o.rounds, { plain: side(plain, false), capped: side(capped, false), cappedWithDeadline: side(capped, true) });
  const f = { plain: sideFigures(r.plain), capped: sideFigures(r.capped), cappedWithDeadline: sideFigures(r.cappedWithDeadline) };
  return {
    measured: true,
    requestsPerRound: o.requests,
    connections: 16,
    answerBytes: Number((await request(url, { method: 'POST', body })).headers['content-length']),
    ...f,
    addedCpuUsPerRead: round(f.cappedWithDeadline.cpuUsPerOp - f.plain.cpuUsPerOp, 2),
    note: 'client CPU (this process) per request, the POST and the read of the answer; the server is a process of its own',
  };
}

// ------------------------------------------------------------------------------------------------
// deadline: the Redis deadline in front of a route that reads Redis

async function partDeadline(o: HotPathOptions): Promise<Record<string, unknown>> {
  const key = `bench-${runTag()}-micro`;
  await o.redis.set(key, JSON.stringify({ status: 'created' }));
  o.cleanup.push(async () => o.redis.del(key));
  const on = await startMicro(o, 'deadline-on', { MICRO_KEY: key });
  const off = await startMicro(o, 'deadline-off', { MICRO_KEY: key });
  const get = (url: string) => async (): Promise<void> => {
    const res = await request(`${url}/v1/thing`);
    await res.body.text();
  };
  for (const s of [on, off]) await closedLoop(2000, 8, get(s.url));
  const idle = { on: await idleCpuPerSecond(on.child), off: await idleCpuPerSecond(off.child) };
  const r = await alternate(o.rounds, {
    on: () => childLoop(on.child, idle.on, o.requests, 8, get(on.url)),
    off: () => childLoop(off.child, idle.off, o.requests, 8, get(off.url)),
  });
  const f = { on: sideFigures(r.on), off: sideFigures(r.off) };
  return {
    measured: true,
    requestsPerRound: o.requests,
    connections: 8,
    ...f,
    idleCpuMsPerSecond: { on: round(idle.on, 2), off: round(idle.off, 2) },
    addedCpuUsPerRequest: round(f.on.cpuUsPerOp - f.off.cpuUsPerOp, 2),
    addedLatencyMsP50: round(f.on.latencyMs.p50 - f.off.latencyMs.p50, 3),
    note: 'server CPU per request from /proc (10 ms ticks) less its idle CPU over the same time; the watch PINGs Redis 4 times a second (idle CPU)',
  };
}

// ------------------------------------------------------------------------------------------------
// money: the store's apply of `paid` with and without the money fields

const TXID = (i: number): string => `${i.toString(16).padStart(8, '0')}${'c0ffee'.repeat(9)}b7`;

async function partMoney(o: HotPathOptions): Promise<Record<string, unknown>> {
  const missing = missingOnPath('redis-server');
  if (missing) return { measured: false, reason: `${missing} (the part runs on a private Redis)` };
  const server = await startRedisServer({ args: SHIPPED_REDIS_ARGS, parentDir: o.dir });
  o.cleanup.push(() => server.stop());
  const prefix = `bench-money-${runTag()}`;
  const config = loadConfig({
    REDIS_URL: server.url,
    QUEUE_PREFIX: prefix,
    SANDBOX: 'off',
    LOG_LEVEL: 'warn',
    // Never called: the records are written by the store directly.
    CRYPTOPROCESSING_BASE_URL: 'http://127.0.0.1:9',
    CRYPTOPROCESSING_API_KEY: 'hot-path-key',
    CRYPTOPROCESSING_API_SECRET: 'hot-path-secret',
  });
  let system: System | undefined;
  try {
    system = await startSystem({ config, redisUrl: server.url, log: pino({ level: 'silent' }), role: 'api', defaultMetrics: false });
    const store = system.store;
    const lane = 'cryptoprocessing';
    const n = o.applies * o.rounds;
    // 2n records in `created`, as the create worker leaves them.
    const fids: string[] = [];
    for (let i = 0; i < 2 * n; i++) {
      const checked = system.intake.validate(order('cryptoprocessing/invoice', `money-${i}`, i));
      if (!('order' in checked)) throw new Error(`bench order refused: ${JSON.stringify(checked.issues)}`);
      const accepted = await store.acceptRecord(checked.order, `hash-${i}`, 'secret');
      const created = await store.apply(
        lane,
        checked.order.foreign_id,
        {
          status: 'created',
          source: 'create',
          fields: { provider_invoice_id: String(1_000_000 + i), payment_url: `https://pay.example/invoice/${i}`, provider_status: 'created' },
        },
        { known: accepted.record ?? undefined },
      );
      if (created.kind !== 'applied') throw new Error(`created: ${created.kind}`);
      fids.push(checked.order.foreign_id);
    }
    const withMoney = (i: number): Record<string, string> => ({
      provider_status: 'paid',
      received_amount: '0.00123456',
      received_currency: 'BTC',
      settled_amount: '100.00',
      settled_currency: 'EUR',
      transactions: JSON.stringify([{ txid: TXID(i), amount: '0.00123456', currency: 'BTC', confirmations: 3, network: 'bitcoin' }]),
      fees: JSON.stringify([{ type: 'processing', amount: '0.50', currency: 'EUR' }]),
    });
    const redis: Redis = server.client;
    const next = { money: 0, bare: n };
    const block = (kind: 'money' | 'bare') => async (): Promise<{ cpuUs: number; latencies: number[]; snap: [Snapshot, Snapshot] }> => {
      const latencies: number[] = [];
      const a = await snapshot(redis);
      for (let k = 0; k < o.applies; k++) {
        const i = next[kind]++;
        const t = performance.now();
        const out = await store.apply(lane, fids[i]!, { status: 'paid', source: 'callback', fields: kind === 'money' ? withMoney(i) : { provider_status: 'paid' } });
        latencies.push(performance.now() - t);
        if (out.kind !== 'applied') throw new Error(`paid: ${out.kind}`);
      }
      // The lookup keys are written after the apply, not waited for: a PING on the store's connection follows them.
      await store.ping();
      const b = await snapshot(redis);
      return { cpuUs: (b.cpuUs - a.cpuUs) / o.applies, latencies, snap: [a, b] };
    };
    const snaps: Record<'money' | 'bare', Array<[Snapshot, Snapshot]>> = { money: [], bare: [] };
    const r = await alternate(o.rounds, {
      money: async () => {
        const x = await block('money')();
        snaps.money.push(x.snap);
        return x;
      },
      bare: async () => {
        const x = await block('bare')();
        snaps.bare.push(x.snap);
        return x;
      },
    });
    // Per apply, summed over the rounds: what Redis ran (commands inside the script counted too,
    // as INFO commandstats counts them) and its time in each; the script's time includes its commands'.
    const perApply = (pairs: Array<[Snapshot, Snapshot]>): { scriptUs: number; commands: number; byCommand: Record<string, { calls: number; us: number }> } => {
      const by: Record<string, { calls: number; us: number }> = {};
      for (const [a, b] of pairs)
        for (const k of Object.keys(b.calls)) {
          const calls = (b.calls[k] ?? 0) - (a.calls[k] ?? 0);
          if (calls <= 0 || k === 'ping') continue;
          const e = (by[k] ??= { calls: 0, us: 0 });
          e.calls += calls;
          e.us += (b.usec[k] ?? 0) - (a.usec[k] ?? 0);
        }
      const total = pairs.length * o.applies;
      const byCommand = Object.fromEntries(Object.entries(by).map(([k, v]) => [k, { calls: round(v.calls / total, 2), us: round(v.us / total, 2) }]));
      return {
        scriptUs: byCommand.evalsha?.us ?? 0,
        commands: round(Object.values(by).reduce((s, v) => s + v.calls, 0) / total, 2),
        byCommand,
      };
    };
    const money = { ...sideFigures(r.money), ...perApply(snaps.money) };
    const bare = { ...sideFigures(r.bare), ...perApply(snaps.bare) };
    const sample = await store.get(lane, fids[0]!);
    return {
      measured: true,
      appliesPerRound: o.applies,
      note: 'one apply at a time on a private Redis; cpuUsPerOp is Redis CPU (INFO cpu) per apply; scriptUs the time Redis spent in the apply script (INFO commandstats EVALSHA, its commands included); commands: what Redis ran per apply, inside the script too (the lookup keys are SETs after it)',
      money,
      bare,
      addedScriptUsPerApply: round(money.scriptUs - bare.scriptUs, 2),
      addedRedisCpuUsPerApply: round(money.cpuUsPerOp - bare.cpuUsPerOp, 2),
      recordBytesWithMoney: sample ? JSON.stringify(sample).length : null,
    };
  } finally {
    await system?.close(5000).catch(() => undefined);
    await server.stop();
  }
}

// ------------------------------------------------------------------------------------------------
// keys: API key checks per request

async function partKeys(o: HotPathOptions, sandbox: SandboxInfo): Promise<Record<string, unknown>> {
  const token = `bench-token-${runTag()}-${runTag()}`;
  const open = await oneProcessFor(o, sandbox, 'keys-open', {});
  const keyed = await oneProcessFor(o, sandbox, 'keys-token', { API_TOKEN: token });
  // A few invoices to read, in each.
  const fids: Record<'open' | 'keyed', string[]> = { open: [], keyed: [] };
  for (const [k, p] of [
    ['open', open],
    ['keyed', keyed],
  ] as const) {
    const tag = runTag();
    const res = await request(`${p.one.apiUrl}/v1/invoices/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ orders: Array.from({ length: 100 }, (_, i) => order('cryptoprocessing/invoice', `${tag}-${i}`, i)) }),
    });
    if (res.statusCode !== 200) throw new Error(`keys: batch refused ${res.statusCode} ${await res.body.text()}`);
    await res.body.dump();
    fids[k] = Array.from({ length: 100 }, (_, i) => `${tag}-${i}`);
  }
  await sleep(2000);
  const get = (p: OneProcess, list: string[], auth: boolean) => {
    let i = 0;
    return async (): Promise<void> => {
      const res = await request(`${p.apiUrl}/v1/invoices/cryptoprocessing/${list[i++ % list.length]}`, auth ? { headers: { authorization: `Bearer ${token}` } } : {});
      if (res.statusCode !== 200) throw new Error(`keys: GET answered ${res.statusCode}`);
      await res.body.text();
    };
  };
  for (const [p, list, auth] of [
    [open.one, fids.open, false],
    [keyed.one, fids.keyed, true],
  ] as const)
    await closedLoop(2000, 8, get(p, list, auth));
  const idle = { open: await idleCpuPerSecond(open.one.child), keyed: await idleCpuPerSecond(keyed.one.child) };
  const r = await alternate(o.rounds, {
    open: () => childLoop(open.one.child, idle.open, o.requests, 8, get(open.one, fids.open, false)),
    keyed: () => childLoop(keyed.one.child, idle.keyed, o.requests, 8, get(keyed.one, fids.keyed, true)),
  });
  await Promise.all([open.one.stop(), keyed.one.stop()]);
  const f = { withoutToken: sideFigures(r.open), withToken: sideFigures(r.keyed) };
  return {
    measured: true,
    request: 'GET /v1/invoices/cryptoprocessing/{foreign_id}, 8 connections, the one-process start',
    requestsPerRound: o.requests,
    ...f,
    idleCpuMsPerSecond: { withoutToken: round(idle.open, 2), withToken: round(idle.keyed, 2) },
    addedCpuUsPerRequest: round(f.withToken.cpuUsPerOp - f.withoutToken.cpuUsPerOp, 2),
    note: 'process CPU per request from /proc (10 ms ticks) less its idle CPU over the same time',
  };
}

async function oneProcessFor(o: HotPathOptions, sandbox: SandboxInfo, name: string, env: Record<string, string>): Promise<{ one: OneProcess; prefix: string }> {
  const prefix = `bench-${runTag()}-${name}`;
  o.cleanup.push(() => deletePrefix(o.redis, prefix));
  const one = await startOneProcess({ dir: o.dir, name, redisUrl: o.redisUrl, prefix, sandbox, env });
  o.cleanup.push(() => one.stop());
  return { one, prefix };
}

// ------------------------------------------------------------------------------------------------
// tracing: the one-process start with tracing on and off

/** An OTLP/HTTP receiver that takes every export and answers success; counts what it got. */
async function otlpSink(): Promise<{ url: string; received: { requests: number; bytes: number }; server: Server }> {
  const received = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (received.bytes += c.length));
    req.on('end', () => {
      received.requests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, received, server };
}

async function partTracing(o: HotPathOptions, sandbox: SandboxInfo, sandboxChild: Child): Promise<Record<string, unknown>> {
  const sink = await otlpSink();
  o.cleanup.push(() => new Promise((r) => sink.server.close(r)));
  const off = await oneProcessFor(o, sandbox, 'tracing-off', {});
  const on = await oneProcessFor(o, sandbox, 'tracing-on', { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url });
  const opts = { batch: o.batch, inflight: o.inflight, timeoutMs: o.timeoutMs };
  for (const p of [off, on]) await systemRun(p.one, o.redis, p.prefix, o.warmup, opts);
  const rates: Record<'on' | 'off', number[]> = { on: [], off: [] };
  const cpu: Record<'on' | 'off', Array<Record<string, number>>> = { on: [], off: [] };
  for (let i = 0; i < o.runs; i++) {
    for (const [k, p] of [
      ['off', off],
      ['on', on],
    ] as const) {
      const before = await cpuSnapshot({ process: p.one.child, sandbox: sandboxChild });
      const r = await systemRun(p.one, o.redis, p.prefix, o.orders, opts);
      cpu[k].push(cpuPerOrder(before, await cpuSnapshot({ process: p.one.child, sandbox: sandboxChild }), o.orders));
      rates[k].push(r.perSecond);
    }
    o.progress(`hot-path: tracing run ${i + 1}/${o.runs}: off ${Math.round(rates.off.at(-1)!)}/s, on ${Math.round(rates.on.at(-1)!)}/s`);
  }
  await Promise.all([off.one.stop(), on.one.stop()]);
  const s = { off: series(rates.off), on: series(rates.on) };
  return {
    measured: true,
    ordersPerRun: o.orders,
    exporter: 'OTLP/HTTP JSON to a local sink (this process), default batch span processor',
    off: s.off,
    on: s.on,
    ratio: round(s.on.median / s.off.median, 2),
    processCpuMsPerOrder: { off: median(cpu.off.map((c) => c.process ?? 0)), on: median(cpu.on.map((c) => c.process ?? 0)) },
    sink: sink.received,
  };
}

// ------------------------------------------------------------------------------------------------
// listing: the ledger before the listing indexes and now

/** The ledger scenario as the tree at `rev` runs it (this checkout when null), in a process of its own. */
async function ledgerAt(o: HotPathOptions, rev: string | null): Promise<Record<string, any>> {
  let root = ROOT;
  const name = rev ? rev.replace(/[^A-Za-z0-9]/g, '_') : 'this-checkout';
  if (rev) {
    root = join(o.dir, `tree-${name}`);
    mkdirSync(root, { recursive: true });
    const tar = join(o.dir, `tree-${name}.tar`);
    execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', '-o', tar, rev]);
    execFileSync('tar', ['-xf', tar, '-C', root]);
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  }
  const json = join(o.dir, `ledger-${name}.json`);
  const log = join(o.dir, `ledger-${name}.log`);
  const fd = openSync(log, 'w');
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      REDIS_URL: o.redisUrl,
      BENCH_SCENARIOS: 'ledger',
      BENCH_RUNTIME: 'tsx',
      BENCH_LEDGER_ORDERS: String(o.ledgerOrders),
      BENCH_JSON: json,
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  if (code !== 0) {
    const text = readFileSync(log, 'utf8');
    const why = text.split('\n').find((l) => /^\w*Error\b/.test(l)) ?? text.slice(-300);
    throw new Error(`ledger at ${rev ?? 'this checkout'} exited ${code}: ${why} (log: ${log})`);
  }
  return (JSON.parse(readFileSync(json, 'utf8')) as { ledger: Record<string, any> }).ledger;
}

async function partListing(o: HotPathOptions): Promise<Record<string, unknown>> {
  const missing = missingOnPath('git') ?? missingOnPath('tar') ?? missingOnPath('redis-server');
  if (missing) return { measured: false, reason: missing };
  try {
    execFileSync('git', ['-C', ROOT, 'rev-parse', '--verify', '--quiet', `${o.beforeListing}^{commit}`], { stdio: 'ignore' });
  } catch {
    return { measured: false, reason: `revision ${o.beforeListing} not in this clone (BENCH_BEFORE_LISTING)` };
  }
  o.progress(`hot-path: ledger at ${o.beforeListing} (before the listing indexes)`);
  const before = await ledgerAt(o, o.beforeListing);
  o.progress('hot-path: ledger at this checkout');
  const after = await ledgerAt(o, null);
  const step = (l: Record<string, any>, name: string): Record<string, any> => {
    const s = (l.steps as Array<Record<string, any>>).find((x) => x.step === name) ?? {};
    return { cpuUsPerOp: s.cpuUsPerOp, sentPerOp: s.sentPerOp, inLuaPerOp: s.inLuaPerOp, inLua: s.inLua, sent: s.sent };
  };
  const out: Record<string, unknown> = { measured: true, before: o.beforeListing, ordersPerRound: o.ledgerOrders, runs: after.runs };
  for (const name of ['accept', 'created']) {
    const b = step(before, name);
    const a = step(after, name);
    out[name] = { before: b, after: a, addedCpuUs: round(a.cpuUsPerOp - b.cpuUsPerOp, 2), addedInLua: round(a.inLuaPerOp - b.inLuaPerOp, 2) };
  }
  out.total = { beforeCpuUs: before.totalCpuUsPerOrder, afterCpuUs: after.totalCpuUsPerOrder };
  out.note = `the whole change from ${o.beforeListing} to this checkout shows; the commands inside Lua name what the listing added (TIME, GET and SET of the listing clock, ZADD to the listing and status indexes)`;
  return out;
}

// ------------------------------------------------------------------------------------------------

export async function scenarioHotPath(o: HotPathOptions): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const part = async (name: string, fn: () => Promise<Record<string, unknown>>): Promise<void> => {
    if (!o.parts.has(name)) return;
    o.progress(`hot-path: ${name}`);
    try {
      out[name] = await fn();
    } catch (err) {
      // One part failing leaves the others' figures standing.
      out[name] = { measured: false, reason: (err as Error).message.slice(0, 2000) };
      o.progress(`hot-path: ${name} failed: ${(err as Error).message.slice(0, 300)}`);
    }
  };
  await part('bodycap', () => partBodycap(o));
  await part('deadline', () => partDeadline(o));
  await part('money', () => partMoney(o));
  if (o.parts.has('keys') || o.parts.has('tracing')) {
    const sb = await startSandboxProcess(o.dir, 0, 'sandbox-hot-path');
    o.cleanup.push(() => sb.child.stop());
    await part('keys', () => partKeys(o, sb.info));
    await part('tracing', () => partTracing(o, sb.info, sb.child));
    await sb.child.stop();
  }
  await part('listing', () => partListing(o));
  return out;
}

function fmt(n: unknown, unit = ''): string {
  return typeof n === 'number' ? `${n.toLocaleString('en-US')}${unit}` : String(n ?? 'n/a');
}

/** Rows for the bench's table: [figure, value, target]. */
export function hotPathRows(r: Record<string, any>): Array<[string, string, string]> {
  const rows: Array<[string, string, string]> = [];
  const not = (name: string, x: Record<string, any>): boolean => {
    if (x.measured) return false;
    rows.push([`hot path: ${name}`, `not measured: ${String(x.reason).split('\n')[0]}`, '']);
    return true;
  };
  const lat = (x: Record<string, any>): string => `${fmt(x.cpuUsPerOp, ' µs')} CPU, p50 ${fmt(x.latencyMs.p50, ' ms')}, p99 ${fmt(x.latencyMs.p99, ' ms')}`;
  if (r.money && !not('money fields in apply', r.money)) {
    const m = r.money;
    rows.push([
      'hot path (a): `paid` apply with money fields and a transaction',
      `script ${fmt(m.money.scriptUs, ' µs')}, ${fmt(m.money.commands)} commands; Redis ${lat(m.money)}`,
      '',
    ]);
    rows.push(['  the same apply, provider status only', `script ${fmt(m.bare.scriptUs, ' µs')}, ${fmt(m.bare.commands)} commands; Redis ${lat(m.bare)}`, '']);
    rows.push(['  added by the money fields, per apply', `script ${fmt(m.addedScriptUsPerApply, ' µs')}, Redis CPU ${fmt(m.addedRedisCpuUsPerApply, ' µs')}`, '']);
  }
  if (r.listing && !not('listing index writes', r.listing)) {
    const l = r.listing;
    for (const s of ['accept', 'created']) {
      const x = l[s];
      rows.push([
        `hot path (b): ledger ${s}, before the listing (${l.before}) / now`,
        `${fmt(x.before.cpuUsPerOp, ' µs')} / ${fmt(x.after.cpuUsPerOp, ' µs')} Redis CPU; inside Lua ${fmt(x.before.inLuaPerOp)} / ${fmt(x.after.inLuaPerOp)} commands`,
        '',
      ]);
    }
  }
  if (r.keys && !not('API key checks', r.keys)) {
    rows.push(['hot path (c): GET one invoice, API_TOKEN set', lat(r.keys.withToken).replace(' CPU', ' process CPU'), '']);
    rows.push(['  the same, no API_TOKEN', lat(r.keys.withoutToken).replace(' CPU', ' process CPU'), '']);
  }
  if (r.deadline && !not('Redis deadline', r.deadline)) {
    rows.push(['hot path (d): express route reading Redis, with the Redis deadline', lat(r.deadline.on).replace(' CPU', ' server CPU'), '']);
    rows.push(['  the same route without it', lat(r.deadline.off).replace(' CPU', ' server CPU'), '']);
    rows.push(['  the watch while idle (its PINGs), with / without', `${fmt(r.deadline.idleCpuMsPerSecond.on, ' ms/s')} / ${fmt(r.deadline.idleCpuMsPerSecond.off, ' ms/s')}`, '']);
  }
  if (r.bodycap && !not('provider body cap', r.bodycap)) {
    const b = r.bodycap;
    rows.push([`hot path (e): reading a ${fmt(b.answerBytes, ' B')} provider answer, plain pool (before)`, lat(b.plain).replace(' CPU', ' client CPU'), '']);
    rows.push(['  with the size cap (maxResponseSize)', lat(b.capped).replace(' CPU', ' client CPU'), '']);
    rows.push(['  with the cap and the per-request deadline (now)', lat(b.cappedWithDeadline).replace(' CPU', ' client CPU'), '']);
  }
  if (r.tracing && !not('tracing', r.tracing)) {
    const t = r.tracing;
    const s = (x: Record<string, any>): string => `${fmt(x.median, ' orders/s')} (${fmt(x.min)}-${fmt(x.max)})`;
    rows.push(['hot path (f): all-in-one, tracing off / on (OTLP to a local sink)', `${s(t.off)} / ${s(t.on)}: ratio ${fmt(t.ratio)}`, '']);
    rows.push(['  process CPU per order, tracing off / on', `${fmt(t.processCpuMsPerOrder.off, ' ms')} / ${fmt(t.processCpuMsPerOrder.on, ' ms')}`, '']);
  }
  return rows;
}
