/**
 * Scenario `ledger`: what each guarantee of the create pipeline costs Redis, step by step, per
 * order. The pipeline's own modules do the work (the store, the create queue's functions, a BullMQ
 * Worker built as production builds it, `submitOrder` with what the create processor gives it, the outbox relay), so a
 * change to any of them shows up here without touching this file. Only the provider is left out:
 * its create call answers at once with a payment URL and an invoice id.
 *
 * It runs in this process on a Redis of its own (a private `redis-server` on a free loopback
 * port, with the settings docker-compose.yml ships and no persistence), so nothing else runs on
 * that Redis while a step is measured. For N orders of one lane (CryptoProcessing's default
 * account), each step runs on all N before the next starts, in pipeline order:
 *
 *  1. accept: the store records the order, as the API's intake does;
 *  2. create job add: the intake's enqueue (`enqueueCreateBulk` on the lane's create queue);
 *  3. job fetch and completion: a Worker on that queue with production options, whose processor
 *     does nothing, drains the N jobs (moveToActive and moveToFinished with the queue's retention);
 *  4. lane breaker gate: the create processor asks the lane's breaker before it submits (a
 *     process takes it as closed for a while once it found it so, so most gates ask nothing);
 *  5. record read: the read `submitOrder` starts with;
 *  6. write-ahead marker: `submitOrder` writes `submitting`, up to the provider call;
 *  7. created: `submitOrder` records the provider's answer (`created` with history and outbox,
 *     and the invoice's first poll in the poll index, in the same step);
 *  8. relay: the real relay publishes the N outbox entries to the results queue.
 *
 * Per step: Redis CPU (INFO cpu, user + sys) over the step divided by N, the median of
 * BENCH_LEDGER_RUNS rounds; commands per order from one more round under MONITOR (redis-tools.ts
 * MonitorTap: sent by the clients, and run inside Lua), whose CPU is not used. INFO commandstats
 * deltas of the timed rounds are kept too (every command Redis ran, scripts' included), as a check
 * on the MONITOR counts.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { KeepJobs } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { enqueueCreateBulk, type CreateJob } from '../queues/create.ts';
import { loadConfig } from '../src/config.ts';
import type { OrderRef } from '../src/invoice/order.ts';
import { orderHash, type Order } from '../src/invoice/order.ts';
import type { InvoiceRecord } from '../src/invoice/record.ts';
import type { InvoiceStore } from '../src/invoice/store.ts';
import { submitOrder, type SubmitDeps } from '../src/invoice/submit.ts';
import type { TrackSettings } from '../src/invoice/track.ts';
import { DEFAULT_ACCOUNT } from '../src/lanes/key.ts';
import type { Lane } from '../src/lanes/lane.ts';
import type { CreateResult, ProviderAdapter } from '../src/providers/types.ts';
import { newOrderSecret } from '../src/signing.ts';
import { startSystem, type System } from '../src/system.ts';
import { activeTraceparent } from '../src/observability/tracing.ts';
import { missingOnPath, startRedisServer } from '../test/helpers/redis-server.ts';
import type { WorkerContext } from '../workers/context.ts';
import { submitDeps } from '../workers/create.ts';
import { laneWorker } from '../workers/lane-worker.ts';
import { order, type Connector } from './orders.ts';
import { MonitorTap, info, type CommandCounts } from './redis-tools.ts';

export interface LedgerOptions {
  dir: string;
  orders: number;
  runs: number;
  /** Operations in flight at once (the create worker's concurrency). */
  concurrency: number;
  /** Orders per create job add (one addBulk, as the intake does for a batch of that many). */
  batch: number;
  progress: (msg: string) => void;
}

/** The memory settings docker-compose.yml gives Redis (as in polling.ts); persistence left out. */
export const SHIPPED_REDIS_ARGS = ['--maxmemory-policy', 'noeviction', '--hash-max-listpack-value', '1024'];
/** The lane measured, and its two kinds of order. */
const LANE = 'cryptoprocessing';
const CONNECTORS: readonly Connector[] = ['cryptoprocessing/invoice', 'cryptoprocessing/payment_request'];

const STEPS = [
  ['accept', 'accept (store accept)'],
  ['createJobAdd', 'create job add (enqueueCreateBulk)'],
  ['jobFetchAndComplete', 'job fetch and completion (Worker, no-op processor)'],
  ['breakerGate', 'lane breaker gate'],
  ['recordRead', 'record read (store get)'],
  ['submittingMarker', 'write-ahead marker (submitting apply)'],
  ['created', 'created apply (history and outbox)'],
  ['relay', 'relay (outbox to results queue)'],
] as const;
type StepName = (typeof STEPS)[number][0];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function inFlight<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** A counting semaphore: at most `slots` holders at once. */
class Slots {
  private waiting: Array<() => void> = [];
  constructor(private free: number) {}
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

// ------------------------------------------------------------------------------------------------
// Reading Redis

export interface Snapshot {
  cpuUs: number;
  /** INFO commandstats calls by command, INFO itself left out. */
  calls: Record<string, number>;
  /** INFO commandstats: µs Redis spent in each command (a script's commands inside its EVALSHA). */
  usec: Record<string, number>;
}

export async function snapshot(redis: Redis): Promise<Snapshot> {
  const text = (await redis.call('INFO', 'cpu', 'commandstats')) as string;
  const calls: Record<string, number> = {};
  const usec: Record<string, number> = {};
  let cpu = 0;
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at < 0) continue;
    const key = line.slice(0, at);
    const value = line.slice(at + 1);
    if (key === 'used_cpu_sys' || key === 'used_cpu_user') cpu += Number(value) * 1e6;
    const m = /calls=(\d+),usec=(\d+)/.exec(value);
    if (key.startsWith('cmdstat_') && key !== 'cmdstat_info' && m) {
      calls[key.slice('cmdstat_'.length)] = Number(m[1]);
      usec[key.slice('cmdstat_'.length)] = Number(m[2]);
    }
  }
  return { cpuUs: cpu, calls, usec };
}

export function callsBetween(a: Snapshot, b: Snapshot): number {
  return Object.entries(b.calls).reduce((n, [k, v]) => n + v - (a.calls[k] ?? 0), 0);
}

/** How a round measures a step: timed (INFO) or counted (MONITOR). */
type Meter = (step: StepName, fn: () => Promise<void>) => Promise<void>;

interface Timed {
  cpuUs: number;
  wallMs: number;
  executed: number;
}

function timedMeter(redis: Redis, into: Partial<Record<StepName, Timed>>): Meter {
  return async (step, fn) => {
    const a = await snapshot(redis);
    const t0 = performance.now();
    await fn();
    const wallMs = performance.now() - t0;
    const b = await snapshot(redis);
    into[step] = { cpuUs: b.cpuUs - a.cpuUs, wallMs, executed: callsBetween(a, b) };
  };
}

function countedMeter(tap: MonitorTap, client: Redis, into: Partial<Record<StepName, CommandCounts>>): Meter {
  return async (step, fn) => {
    await tap.flush(client);
    tap.reset();
    await fn();
    await tap.flush(client);
    into[step] = tap.reset();
  };
}

// ------------------------------------------------------------------------------------------------
// The pipeline, one step at a time

interface Pipeline {
  system: System;
  lane: Lane;
  /** What the create worker is given (workers/index.ts from src/system.ts), for the Worker and schedulePoll. */
  ctx: WorkerContext;
  keep: KeepJobs;
  o: LedgerOptions;
}

/** What the provider answers a create with, at once: an invoice id and a payment URL (and an expiry for payment requests). */
function providerAnswer(o: Order, i: number): CreateResult {
  const id = o.kind === 'invoice' ? String(1_000_000 + i) : randomUUID();
  const answer: CreateResult = {
    providerInvoiceId: id,
    paymentUrl: `https://pay.cryptoprocessing.example/${o.kind === 'invoice' ? 'invoice' : 'request'}/${randomUUID()}`,
    status: 'created',
    providerStatus: o.kind === 'invoice' ? 'created' : 'new',
    amount: o.amount,
    currency: o.currency,
  };
  if (o.kind === 'payment_request') answer.expiresAt = new Date(Date.now() + 3_600_000).toISOString();
  return answer;
}

/** Drains `count` jobs from the lane's create queue with a Worker built as the create worker is, whose processor does nothing. */
async function drainCreateJobs(p: Pipeline, count: number, measure: Meter, step: StepName | null): Promise<void> {
  const worker = laneWorker<CreateJob, { status: string }>(p.ctx, p.lane, {
    queue: 'create',
    processor: () => async () => ({ status: 'queued' }),
    lines: { retry: 'no-op job failed; will retry', final: 'no-op job failed' },
  });
  let done = 0;
  const drained = new Promise<void>((resolve, reject) => {
    worker.on('completed', () => {
      if (++done === count) resolve();
    });
    worker.on('failed', (_job, err) => reject(err));
  });
  try {
    await worker.waitUntilReady();
    const run = async (): Promise<void> => {
      void worker.run();
      await drained;
    };
    if (step) await measure(step, run);
    else await run();
  } finally {
    await worker.close();
  }
}

/** N orders through every step; `measure` wraps each step. Checks that each step did its work. */
async function pipelineRound(p: Pipeline, tag: string, measure: Meter): Promise<void> {
  const { system, lane, o } = p;
  const store: InvoiceStore = system.store;
  const n = o.orders;
  // Orders as the API takes them: validated by the intake (schema and the lane's rules).
  const orders: Order[] = Array.from({ length: n }, (_, i) => {
    const checked = system.intake.validate(order(CONNECTORS[i % CONNECTORS.length]!, `${tag}-${i}`, i));
    if (!('order' in checked)) throw new Error(`bench order refused: ${JSON.stringify(checked.issues)}`);
    return checked.order;
  });

  // The intake answers from the record the accept wrote (no read-back).
  const accepted: InvoiceRecord[] = new Array<InvoiceRecord>(n);
  await measure('accept', () =>
    inFlight(orders, o.concurrency, async (x, i) => {
      const out = await store.acceptRecord(x, orderHash(x), newOrderSecret(), undefined, activeTraceparent());
      if (out.outcome !== 'accepted' || !out.record) throw new Error(`accept: ${out.outcome}`);
      accepted[i] = out.record;
    }),
  );
  // The create job of each, as the intake builds it.
  const refs: OrderRef[] = accepted.map((r) => ({
    v: 1,
    provider: r.provider,
    ...(r.account !== DEFAULT_ACCOUNT ? { account: r.account } : {}),
    kind: r.kind,
    foreign_id: r.foreign_id,
  }));
  const batches: OrderRef[][] = [];
  for (let i = 0; i < refs.length; i += o.batch) batches.push(refs.slice(i, i + o.batch));
  await measure('createJobAdd', () => inFlight(batches, 1, (b) => enqueueCreateBulk(lane.createQueue, b)));

  await drainCreateJobs(p, n, measure, 'jobFetchAndComplete');

  await measure('breakerGate', () =>
    inFlight(orders, o.concurrency, async () => {
      const gate = await lane.breaker.gate();
      if (gate.kind !== 'pass') throw new Error(`lane breaker: ${gate.kind}`);
    }),
  );
  const read = new Map<string, InvoiceRecord>();
  await measure('recordRead', () =>
    inFlight(orders, o.concurrency, async (x) => {
      const r = await store.get(lane.key, x.foreign_id);
      if (!r) throw new Error('record read: no record');
      read.set(x.foreign_id, r);
    }),
  );

  // submitOrder itself, in two measured stretches: up to the provider call (its read is served
  // from the step above, already counted; the marker apply is what is left), then from the
  // provider's answer to the end (the `created` apply). At most `concurrency` orders in each.
  const readStore = new Proxy(store, {
    get(target, prop) {
      if (prop === 'get') return async (l: string, fid: string) => read.get(fid) ?? target.get(l, fid);
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const marking = new Slots(o.concurrency);
  const answering = new Slots(o.concurrency);
  let reached = 0;
  let allReached: () => void = () => undefined;
  const marked = new Promise<void>((resolve) => (allReached = resolve));
  let openProvider: () => void = () => undefined;
  const providerOpen = new Promise<void>((resolve) => (openProvider = resolve));
  const answers = new Map(orders.map((x, i) => [x.foreign_id, providerAnswer(x, i)]));
  const adapter: ProviderAdapter = {
    ...lane.adapter,
    async create(x) {
      // The marker is written: the next order may start; this one waits for the provider to answer.
      marking.give();
      if (++reached === n) allReached();
      await providerOpen;
      await answering.take();
      return answers.get(x.foreign_id)!;
    },
  };
  // What the create processor gives submitOrder (its first poll included), on the read-serving store and the instant provider.
  const deps: SubmitDeps = { ...submitDeps(p.ctx, lane), store: readStore, adapter };
  const submits: Array<Promise<InvoiceRecord>> = [];
  let failure: unknown;
  let failed: (err: unknown) => void = () => undefined;
  const aFailure = new Promise<never>((_, reject) => (failed = reject));
  aFailure.catch(() => undefined);
  await measure('submittingMarker', async () => {
    for (const x of orders) {
      await marking.take();
      if (failure !== undefined) break;
      const submit = submitOrder(deps, lane.key, x.foreign_id).then((out) => {
        answering.give();
        if (out.kind !== 'created') throw new Error(`submit: ${out.kind}`);
        return out.record;
      });
      // A submit that fails before the provider call frees its slot and stops the round.
      submit.catch((err: unknown) => {
        failure ??= err;
        marking.give();
        failed(err);
      });
      submits.push(submit);
    }
    await Promise.race([marked, aFailure]);
  });
  let created: InvoiceRecord[] = [];
  await measure('created', async () => {
    openProvider();
    created = await Promise.all(submits);
  });

  // The first poll was scheduled with `created` itself: every invoice is in the poll index now.
  const scheduled = await store.inPollIndex(
    lane.key,
    created.map((r) => r.foreign_id),
  );
  if (scheduled.some((x) => !x)) throw new Error('created without its first poll scheduled');

  const before = system.relay.published;
  await measure('relay', async () => {
    while ((await system.relay.flush()) > 0) {
      /* until a pass finds the outbox empty */
    }
  });
  const published = system.relay.published - before;
  const left = await store.outboxLength();
  if (published !== n || left !== 0) throw new Error(`relay: ${published} published of ${n}, ${left} left in the outbox`);
}

// ------------------------------------------------------------------------------------------------

const METHOD = [
  'A private redis-server on loopback with the settings docker-compose.yml ships (maxmemory-policy noeviction, hash-max-listpack-value 1024) and no persistence; the system built by src/system.ts (role api: store, lanes, relay, intake) in this process, its create Worker built by workers/lane-worker.ts with the options src/system.ts gives it.',
  "One lane (CryptoProcessing's default account), its two kinds of order in turn (bench/orders.ts payloads, validated by the intake); the provider's create answers at once.",
  "Each step runs on all N orders before the next starts, in pipeline order, at most BENCH_CONCURRENCY operations in flight (the worker's concurrency); create jobs are added BENCH_BATCH orders per addBulk; the relay is flushed until its outbox is empty (batches of 200 doubling to 2000; in production it runs after each created order, in smaller batches).",
  "Before the rounds the lane's completed create jobs are filled to the queue's retention count, so each completion also trims one, as in steady production; one round warms up unmeasured.",
  'Redis CPU: INFO cpu (used_cpu_user + used_cpu_sys) before and after each step, divided by N; the median of BENCH_LEDGER_RUNS rounds. It includes what Redis spends while idle over the step (idleRedisCpuUsPerSecond, wallMs).',
  'Commands: one more round under MONITOR (its CPU not used): commands naming our keys that the clients sent (MULTI/EXEC name none and are left out) and commands run inside Lua, per order. executedPerOp is the INFO commandstats delta of the timed rounds (every command Redis ran, scripts included, INFO left out).',
].join(' ');

interface StepFigures {
  step: StepName;
  label: string;
  cpuUsPerOp: number;
  cpuUsPerOpRuns: number[];
  sharePercent: number;
  wallMs: number;
  executedPerOp: number;
  sentPerOp: number;
  inLuaPerOp: number;
  sent: Record<string, number>;
  inLua: Record<string, number>;
}

export async function scenarioLedger(o: LedgerOptions): Promise<Record<string, unknown>> {
  const missing = missingOnPath('redis-server');
  if (missing) return { measured: false, reason: `${missing} (the scenario runs on a private Redis)` };
  if (o.orders < 1) return { measured: false, reason: 'BENCH_LEDGER_ORDERS is 0' };
  o.progress('ledger: starting a private Redis');
  const server = await startRedisServer({ args: SHIPPED_REDIS_ARGS, parentDir: o.dir });
  const prefix = `bench-ledger-${Date.now().toString(36)}`;
  let system: System | undefined;
  const tap = new MonitorTap(server.url, prefix);
  try {
    const redis = server.client;
    const version = (await info(redis, 'server')).redis_version ?? '';
    const config = loadConfig({
      REDIS_URL: server.url,
      QUEUE_PREFIX: prefix,
      SANDBOX: 'off',
      LOG_LEVEL: 'warn',
      CREATE_CONCURRENCY: String(o.concurrency),
      // Never called: the provider's answer is made up in this process.
      CRYPTOPROCESSING_BASE_URL: 'http://127.0.0.1:9',
      CRYPTOPROCESSING_API_KEY: 'ledger-key',
      CRYPTOPROCESSING_API_SECRET: 'ledger-secret',
    });
    const log = pino({ level: 'silent' });
    system = await startSystem({ config, redisUrl: server.url, log, role: 'api', defaultMetrics: false });
    const lane = system.lane(LANE);
    // As src/system.ts hands them to the workers.
    const track: TrackSettings = { pollIdleMs: config.POLL_IDLE_MS, graceMs: config.DEADLINE_GRACE_MS };
    const ctx: WorkerContext = {
      connection: system.redis,
      prefix,
      log,
      store: system.store,
      relay: system.relay,
      lanes: system.lanes,
      rateLimitDelayMs: config.RATE_LIMIT_DELAY_MS,
      track,
      eventsConcurrency: config.EVENTS_CONCURRENCY,
      workerOptions: { lockDuration: config.WORKER_LOCK_DURATION_MS, stalledInterval: config.WORKER_STALLED_INTERVAL_MS, maxStalledCount: 3 },
    };
    const keep = (lane.createQueue.defaultJobOptions.removeOnComplete ?? {}) as KeepJobs;
    const p: Pipeline = { system, lane, ctx, keep, o };

    // Steady state: the completed set at its cap, so every completion trims one.
    const fill = typeof keep.count === 'number' ? keep.count : 0;
    if (fill > 0) {
      o.progress(`ledger: filling the lane's completed create jobs to their retention count (${fill.toLocaleString('en-US')})`);
      const refs: CreateJob[] = Array.from({ length: fill }, (_, i) => ({ v: 1, provider: LANE, kind: 'invoice', foreign_id: `fill-${i}` }));
      for (let i = 0; i < refs.length; i += 1000) await enqueueCreateBulk(lane.createQueue, refs.slice(i, i + 1000));
      await drainCreateJobs(p, fill, async () => undefined, null);
    }
    o.progress(`ledger: warm-up round (${o.orders.toLocaleString('en-US')} orders)`);
    await pipelineRound(p, 'warm', async (_step, fn) => fn());

    await sleep(500);
    const idleA = await snapshot(redis);
    const idleT = performance.now();
    await sleep(2000);
    const idleB = await snapshot(redis);
    const idleUsPerSecond = (idleB.cpuUs - idleA.cpuUs) / ((performance.now() - idleT) / 1000);

    const timed: Array<Partial<Record<StepName, Timed>>> = [];
    for (let r = 0; r < o.runs; r++) {
      const into: Partial<Record<StepName, Timed>> = {};
      await pipelineRound(p, `run${r}`, timedMeter(redis, into));
      timed.push(into);
      const total = STEPS.reduce((s, [k]) => s + (into[k]?.cpuUs ?? 0), 0) / o.orders;
      o.progress(`ledger: round ${r + 1}/${o.runs}: ${round(total, 1)} µs Redis CPU per order in all`);
    }

    o.progress('ledger: counting commands (one round under MONITOR)');
    const counted: Partial<Record<StepName, CommandCounts>> = {};
    await tap.start();
    await pipelineRound(p, 'count', countedMeter(tap, redis, counted));
    await tap.stop();

    const per = (x: number, digits = 2): number => round(x / o.orders, digits);
    const perCommand = (c: Record<string, number>): Record<string, number> =>
      Object.fromEntries(
        Object.entries(c)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [k, per(v)]),
      );
    const steps: StepFigures[] = STEPS.map(([step, label]) => {
      const runs = timed.map((t) => (t[step]?.cpuUs ?? 0) / o.orders);
      const c = counted[step] ?? { sent: {}, inLua: {} };
      const sum = (x: Record<string, number>): number => Object.values(x).reduce((a, b) => a + b, 0);
      return {
        step,
        label,
        cpuUsPerOp: round(median(runs), 2),
        cpuUsPerOpRuns: runs.map((v) => round(v, 2)),
        sharePercent: 0,
        wallMs: round(median(timed.map((t) => t[step]?.wallMs ?? 0))),
        executedPerOp: per(median(timed.map((t) => t[step]?.executed ?? 0))),
        sentPerOp: per(sum(c.sent)),
        inLuaPerOp: per(sum(c.inLua)),
        sent: perCommand(c.sent),
        inLua: perCommand(c.inLua),
      };
    });
    const total = steps.reduce((s, x) => s + x.cpuUsPerOp, 0);
    for (const s of steps) s.sharePercent = total > 0 ? round((s.cpuUsPerOp / total) * 100, 1) : 0;
    return {
      measured: true,
      method: METHOD,
      redis: { version, config: ['--save', '""', '--appendonly', 'no', ...SHIPPED_REDIS_ARGS].join(' ') },
      lane: lane.key,
      orders: o.orders,
      runs: o.runs,
      concurrency: o.concurrency,
      batch: o.batch,
      createRetention: keep,
      completedFill: fill,
      idleRedisCpuUsPerSecond: round(idleUsPerSecond),
      steps,
      totalCpuUsPerOrder: round(total, 1),
      totalSentPerOrder: round(
        steps.reduce((s, x) => s + x.sentPerOp, 0),
        2,
      ),
      totalInLuaPerOrder: round(
        steps.reduce((s, x) => s + x.inLuaPerOp, 0),
        2,
      ),
      totalExecutedPerOrder: round(
        steps.reduce((s, x) => s + x.executedPerOp, 0),
        2,
      ),
    };
  } finally {
    await tap.stop();
    await system?.close(5000).catch(() => undefined);
    await server.stop();
  }
}

// ------------------------------------------------------------------------------------------------

function fmt(n: unknown, unit = ''): string {
  return typeof n === 'number' ? `${n.toLocaleString('en-US')}${unit}` : String(n ?? 'n/a');
}

/**
 * Rows for the bench's table: [figure, value, target]. `createRedisMsPerOrder`: the create
 * scenario's measured Redis CPU per order in the same run, when it ran, to set the sum against.
 */
export function ledgerRows(r: Record<string, any>, createRedisMsPerOrder?: number): Array<[string, string, string]> {
  if (!r.measured) return [['ledger: Redis cost by step', `not measured: ${r.reason}`, '']];
  const rows: Array<[string, string, string]> = [
    [
      `ledger: Redis cost by step, ${fmt(r.orders)} orders of lane ${r.lane}, ${fmt(r.concurrency)} in flight (median of ${fmt(r.runs)})`,
      'Redis CPU per order (share); commands sent + inside Lua',
      '',
    ],
  ];
  (r.steps as StepFigures[]).forEach((s, i) => {
    rows.push([`  ${i + 1}. ${s.label}`, `${fmt(s.cpuUsPerOp, ' µs')} (${fmt(s.sharePercent)} %); ${fmt(s.sentPerOp)} + ${fmt(s.inLuaPerOp)}`, '']);
  });
  const create = typeof createRedisMsPerOrder === 'number' ? `; the create scenario measured ${fmt(round(createRedisMsPerOrder * 1000, 1), ' µs')}` : '';
  rows.push(['  sum of the steps, per order', `${fmt(r.totalCpuUsPerOrder, ' µs')}; ${fmt(r.totalSentPerOrder)} + ${fmt(r.totalInLuaPerOrder)}${create}`, '']);
  rows.push(['  Redis CPU while idle (in each step over its wall time)', fmt(r.idleRedisCpuUsPerSecond, ' µs/s'), '']);
  return rows;
}
