/**
 * `npm run soak`: a long run at a steady order rate, to see whether memory and queues stay flat.
 * Not part of `npm test`. It builds nothing itself (`npm run soak` builds first) and starts, each
 * as a process of its own, on loopback only:
 *
 * - a private `redis-server` configured like docker-compose.yml's (maxmemory-policy noeviction,
 *   hash-max-listpack-value 1024), persistence off;
 * - the sandbox provider (bench/soak-sandbox.ts) with a payment schedule (SOAK_PAY_SHARE of the
 *   invoices paid SOAK_PAY_DELAY_MS after creation, the rest left to expire) and a time scale
 *   (SOAK_TIME_SCALE) so the unpaid ones expire during the run; its platform callbacks are pointed
 *   at the API's webhooks (POST /_sandbox/callback-url), CryptoSteroid's go to each order's
 *   processingUrl;
 * - one API process and one worker process (the compiled build, as production runs it), with
 *   short poll cadences so polls happen during the run;
 * - in this process: the order system. An open-loop sender posts SOAK_RATE orders a second on a
 *   fixed schedule (batches of SOAK_BATCH to /v1/invoices/batch, whatever the answers' pace), and
 *   a BullMQ Worker consumes `invoice-results` and completes each job, as an order system would,
 *   so the shipped results retention applies.
 *
 * Every SOAK_SAMPLE_SECONDS (60) one line: orders sent, results by status, RSS of the worker, the
 * API and the sandbox (median of 5 s samples over the minute), Redis used_memory and keys, queue
 * counts per kind of queue, outbox length and lag. Every SOAK_FAMILY_EVERY minutes (10) and at the
 * end, Redis memory by key family (MEMORY USAGE of every key), to say which family grows. At the
 * end: the slope of each figure over the last SOAK_WINDOW_MINUTES (20), whether it is flat, and
 * whether the pipeline kept up. Rows and summary also go to SOAK_JSON as JSON.
 *
 * Settings (env): SOAK_MINUTES (30), SOAK_RATE (200 orders/s), SOAK_BATCH (20), SOAK_MAX_INFLIGHT
 * (32 batch requests at once), SOAK_PAY_SHARE (0.6), SOAK_PAY_DELAY_MS (30000), SOAK_TIME_SCALE
 * (0.1), SOAK_SANDBOX_LATENCY_MS (0), SOAK_CONSUMER_CONCURRENCY (50), SOAK_SAMPLE_SECONDS (60),
 * SOAK_FAMILY_EVERY (10; 0 = only at the end), SOAK_FAMILY_SAMPLE (10: under load, MEMORY USAGE of
 * every 10th key of each family, scaled up; exact at the end), SOAK_WINDOW_MINUTES (20), SOAK_DRAIN_SECONDS (120),
 * SOAK_LOG_LEVEL (info), SOAK_LOG_DIR (keep the processes' logs there), SOAK_JSON (default: a file
 * in the temp dir, printed at the end), SOAK_PREFIX (iw). Product variables POLL_*, DEADLINE_*,
 * EVENTS_*, CREATE_*, BREAKER_*, RATE_LIMIT_*, RESULTS_*, RECORD_*, WEBHOOK_* (retention windows
 * among them) given in the environment override the soak's
 * defaults (POLL_PLATFORM_MS and POLL_CRYPTOSTEROID_MS 60000, POLL_RATE_MAX 300 per lane a second,
 * POLL_CONCURRENCY 50, CREATE_CONCURRENCY 100, EVENTS_CONCURRENCY 50). SOAK_SANDBOX_FORGET_MS (600000):
 * the sandbox forgets an invoice that long after it ended (bench/soak-sandbox.ts says why).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { CREATE_QUEUE } from '../queues/create.ts';
import { EVENTS_QUEUE } from '../queues/events.ts';
import { POLL_QUEUE } from '../queues/poll.ts';
import { RESULTS_QUEUE, ResultSchema } from '../queues/results.ts';
import { missingOnPath, startRedisServer, type LocalRedis } from '../test/helpers/redis-server.ts';
import { CONNECTORS, order, runTag, type BenchOrder, type Connector } from './orders.ts';
import { ROOT, RUNTIME, spawnTs, waitForOutput, type Child } from './procs.ts';
import { info, keyFamily, memoryByFamily, ready, scanKeys } from './redis-tools.ts';
import { BENCH_LANES, startStack, type SandboxInfo, type Stack } from './stack.ts';

const env = process.env;
const num = (name: string, fallback: number, whole = true): number => {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (whole && !Number.isInteger(n))) throw new Error(`${name} must be a ${whole ? 'whole' : 'non-negative'} number`);
  return n;
};

const S = {
  minutes: Math.max(1, num('SOAK_MINUTES', 30)),
  rate: Math.max(1, num('SOAK_RATE', 200)),
  batch: Math.min(1000, Math.max(1, num('SOAK_BATCH', 20))),
  maxInflight: Math.max(1, num('SOAK_MAX_INFLIGHT', 32)),
  payShare: Math.min(1, num('SOAK_PAY_SHARE', 0.6, false)),
  payDelayMs: num('SOAK_PAY_DELAY_MS', 30_000),
  timeScale: num('SOAK_TIME_SCALE', 0.1, false),
  sandboxLatencyMs: num('SOAK_SANDBOX_LATENCY_MS', 0),
  sandboxForgetMs: num('SOAK_SANDBOX_FORGET_MS', 600_000),
  consumerConcurrency: Math.max(1, num('SOAK_CONSUMER_CONCURRENCY', 50)),
  sampleSeconds: Math.max(5, num('SOAK_SAMPLE_SECONDS', 60)),
  familyEvery: num('SOAK_FAMILY_EVERY', 10),
  familySample: Math.max(1, num('SOAK_FAMILY_SAMPLE', 10)),
  windowMinutes: Math.max(2, num('SOAK_WINDOW_MINUTES', 20)),
  drainSeconds: num('SOAK_DRAIN_SECONDS', 120),
  logLevel: env.SOAK_LOG_LEVEL ?? 'info',
  prefix: env.SOAK_PREFIX ?? 'iw',
};

/** The product's settings for the soak: short cadences, a poll limiter that can keep up with 200 orders/s. */
const PRODUCT_DEFAULTS: Record<string, string> = {
  // Above the shipped 50 / 20: on a shared 2-core machine every Redis and sandbox round trip waits
  // for a CPU, so a job takes hundreds of ms, and 50 slots cannot carry CryptoProcessing's lane
  // (half the orders: its invoices and payment requests), nor 20 the callbacks. Not much more:
  // every job in flight queues commands on the process's one Redis connection, and the outbox
  // relay's round trips wait behind them (docs/soak.md).
  CREATE_CONCURRENCY: '100',
  EVENTS_CONCURRENCY: '50',
  POLL_PLATFORM_MS: '60000',
  POLL_CRYPTOSTEROID_MS: '60000',
  // Invoices the soak sends all have a deadline; this only covers a timer-less one.
  POLL_IDLE_MS: '300000',
  POLL_RATE_MAX: '300',
  POLL_RATE_DURATION_MS: '1000',
  POLL_CONCURRENCY: '50',
};
const productEnv: Record<string, string> = {
  ...PRODUCT_DEFAULTS,
  ...Object.fromEntries(
    Object.entries(env).filter(([k, v]) => /^(POLL|DEADLINE|EVENTS|CREATE|BREAKER|RATE_LIMIT|RESULTS|RECORD|WEBHOOK)_/.test(k) && v !== undefined && v !== '') as Array<
      [string, string]
    >,
  ),
};

/** The flatness rule: |slope| under this share of the figure's mean, per 10 minutes. */
const FLAT_SHARE = 0.02;
const RSS_EVERY_MS = 5000;

const progress = (msg: string): void => void process.stderr.write(`[soak] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
const mb = (bytes: number): number => round(bytes / 1048576, 1);
const fmt = (n: number): string => n.toLocaleString('en-US');
const loadAverage = (): number[] => os.loadavg().map((l) => round(l, 2));

// ------------------------------------------------------------------------------------------------
// The orders: the bench's four connectors, each with a deadline, so the unpaid ones end in the run.

function soakOrder(tag: string, i: number): BenchOrder {
  const connector = CONNECTORS[i % CONNECTORS.length] as Connector;
  const o = order(connector, `soak-${tag}-${i}`, i);
  // Platform invoices with the 15-minute timer (kind 2); payment requests live 15 minutes;
  // CryptoSteroid's 30 minutes are its own. All scaled by the sandbox's time scale.
  if (connector === 'cryptoprocessing/invoice' || connector === 'alphapo/invoice') o.timer = true;
  if (connector === 'cryptoprocessing/payment_request') o.expires_in_seconds = 900;
  return o;
}

// ------------------------------------------------------------------------------------------------
// The open-loop sender: orders fall due on a fixed schedule (rate x elapsed time), whatever the
// API's pace. A batch goes out as soon as it is due and a request slot is free; when every slot is
// taken, due orders wait here and `behind` says how many (the schedule itself never slows down).

class OpenLoopSender {
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private next = 0;
  private inflight = 0;
  private readonly idle: Array<() => void> = [];
  readonly total: number;
  accepted = 0;
  refused = 0;
  errors = 0;
  requests = 0;
  maxBehind = 0;
  private readonly latencies: number[] = [];
  private readonly pool: Pool;

  constructor(
    private readonly apiUrl: string,
    private readonly tag: string,
    private readonly rate: number,
    private readonly batch: number,
    private readonly maxInflight: number,
    seconds: number,
  ) {
    this.total = Math.round(rate * seconds);
    this.pool = new Pool(apiUrl, { connections: maxInflight, keepAliveTimeout: 30_000 });
  }

  get sent(): number {
    return this.next;
  }

  /** Orders due by the schedule that are not sent yet. */
  behind(now = performance.now()): number {
    return Math.max(0, this.due(now) - this.next);
  }

  start(t0: number): void {
    this.t0 = t0;
    const tickMs = Math.max(5, Math.floor((1000 * this.batch) / this.rate / 2));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.tick();
  }

  /** Request latencies since the last call (ms), for the minute's figures. */
  takeLatencies(): number[] {
    return this.latencies.splice(0);
  }

  private due(now: number): number {
    return Math.min(this.total, Math.floor(((now - this.t0) / 1000) * this.rate));
  }

  private tick(): void {
    const due = this.due(performance.now());
    this.maxBehind = Math.max(this.maxBehind, due - this.next);
    // Whole batches, so a timer firing a little early does not split them; the last may be short.
    while (this.inflight < this.maxInflight && (due - this.next >= this.batch || (due === this.total && this.next < due))) {
      const n = Math.min(this.batch, due - this.next);
      const from = this.next;
      this.next += n;
      void this.post(from, n);
    }
    if (this.next >= this.total) clearInterval(this.timer);
  }

  private async post(from: number, n: number): Promise<void> {
    this.inflight += 1;
    this.requests += 1;
    const orders = Array.from({ length: n }, (_, k) => soakOrder(this.tag, from + k));
    const started = performance.now();
    try {
      const res = await this.pool.request({
        method: 'POST',
        path: '/v1/invoices/batch',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orders }),
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      });
      const json = (await res.body.json()) as { counts?: Record<string, number> };
      const accepted = res.statusCode === 200 ? (json.counts?.accepted ?? 0) : 0;
      this.accepted += accepted;
      this.refused += n - accepted;
    } catch {
      this.errors += n;
    } finally {
      this.latencies.push(performance.now() - started);
      this.inflight -= 1;
      if (this.inflight === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  /** Stops the schedule and waits (bounded) for the requests in flight. */
  async stop(timeoutMs = 60_000): Promise<void> {
    clearInterval(this.timer);
    if (this.inflight > 0) await Promise.race([new Promise<void>((r) => this.idle.push(r)), sleep(timeoutMs)]);
    await this.pool.close();
  }
}

// ------------------------------------------------------------------------------------------------
// The order system's side of the results queue.

class ResultsConsumer {
  readonly worker: Worker;
  private readonly connection: Redis;
  private counts: Record<string, number> = {};
  readonly totals: Record<string, number> = {};
  invalid = 0;

  constructor(url: string, prefix: string, concurrency: number) {
    this.connection = new Redis(url, { maxRetriesPerRequest: null });
    // Completing the job is all an order system must do: the job's own options (set by the
    // relay's queue: removeOnComplete age 7 days) decide how long it is kept after that.
    this.worker = new Worker(
      RESULTS_QUEUE,
      async (job) => {
        if (!ResultSchema.safeParse(job.data).success) this.invalid += 1;
        const status = job.name;
        this.counts[status] = (this.counts[status] ?? 0) + 1;
        this.totals[status] = (this.totals[status] ?? 0) + 1;
      },
      { connection: this.connection, prefix, concurrency },
    );
    this.worker.on('error', (err) => progress(`results consumer: ${err.message}`));
  }

  /** Results consumed since the last call, by status. */
  take(): Record<string, number> {
    const c = this.counts;
    this.counts = {};
    return c;
  }

  async close(): Promise<void> {
    await this.worker.close();
    this.connection.disconnect();
  }
}

// ------------------------------------------------------------------------------------------------
// What is read every minute.

type Counts = { wait: number; active: number; delayed: number; failed: number; completed: number };
const STATES = ['wait', 'active', 'delayed', 'failed', 'completed'] as const;

interface QueueSet {
  create: Queue[];
  poll: Queue[];
  events: Queue;
  results: Queue;
  all: Queue[];
}

function openQueues(redis: Redis, prefix: string): QueueSet {
  const q = (name: string): Queue => new Queue(name, { connection: redis, prefix });
  const create = BENCH_LANES.map((l) => q(`${CREATE_QUEUE}.${l}`));
  const poll = BENCH_LANES.map((l) => q(`${POLL_QUEUE}.${l}`));
  const events = q(EVENTS_QUEUE);
  const results = q(RESULTS_QUEUE);
  return { create, poll, events, results, all: [...create, ...poll, events, results] };
}

async function countsOf(queues: Queue[]): Promise<Counts> {
  const total: Counts = { wait: 0, active: 0, delayed: 0, failed: 0, completed: 0 };
  for (const queue of queues) {
    const c = await queue.getJobCounts(...STATES);
    for (const s of STATES) total[s] += c[s] ?? 0;
  }
  return total;
}

/** Age in seconds of the oldest job waiting in these queues (the tail of each wait list), 0 when none waits. */
async function oldestWaitSeconds(redis: Redis, queues: Queue[], now: number): Promise<number> {
  let oldest = 0;
  for (const queue of queues) {
    const id = await redis.lindex(queue.keys.wait!, -1);
    if (!id) continue;
    const ts = Number(await redis.hget(queue.toKey(id), 'timestamp'));
    if (Number.isFinite(ts) && ts > 0) oldest = Math.max(oldest, (now - ts) / 1000);
  }
  return round(oldest, 1);
}

/** Age in seconds of the oldest unpublished result (the outbox head's `occurred_at`), 0 when the outbox is empty. */
async function oldestOutboxSeconds(redis: Redis, key: string, now: number): Promise<number> {
  const head = await redis.lindex(key, 0);
  if (!head) return 0;
  try {
    const at = Date.parse((JSON.parse(head) as { data?: { occurred_at?: string } }).data?.occurred_at ?? '');
    return Number.isFinite(at) ? round(Math.max(0, (now - at) / 1000), 1) : 0;
  } catch {
    return 0;
  }
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** RSS of each process every few seconds; each minute's figure is the median of its samples. */
class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private samples: Record<string, number[]> = {};
  constructor(private readonly children: Record<string, Child>) {}
  start(): this {
    const take = (): void => {
      for (const [name, c] of Object.entries(this.children)) {
        const r = c.rss();
        if (r !== undefined) (this.samples[name] ??= []).push(r);
      }
      (this.samples.driver ??= []).push(process.memoryUsage.rss());
    };
    take();
    this.timer = setInterval(take, RSS_EVERY_MS);
    return this;
  }
  take(): Record<string, { medianMb: number | null; maxMb: number | null }> {
    const out: Record<string, { medianMb: number | null; maxMb: number | null }> = {};
    for (const [name, values] of Object.entries(this.samples)) {
      const m = median(values);
      out[name] = { medianMb: m === null ? null : mb(m), maxMb: values.length ? mb(Math.max(...values)) : null };
    }
    this.samples = {};
    return out;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

interface Row {
  minute: number;
  elapsedSeconds: number;
  loadAverage: number[];
  orders: { sent: number; sentLastMinute: number; accepted: number; refused: number; errors: number; behind: number; postP50Ms: number | null; postP99Ms: number | null };
  results: { lastMinute: Record<string, number>; total: number };
  rssMb: Record<string, number | null>;
  rssMaxMb: Record<string, number | null>;
  cpuPercentOfCore: Record<string, number | null>;
  redis: { usedMemoryMb: number; usedMemoryRssMb: number; keys: number };
  queues: { create: Counts; poll: Counts; events: Counts; results: Counts };
  outbox: number;
  lagSeconds: { oldestWaitingOrder: number; oldestWaitingEvent: number; oldestWaitingResult: number; oldestDuePoll: number; oldestUnpublishedResult: number };
  /** Jobs waiting for a process: create wait+active+delayed, due polls, events and results waiting, outbox. */
  backlog: number;
}

/**
 * memoryByFamily (redis-tools.ts) with MEMORY USAGE on every `every`-th key only of the families
 * made of many like-sized keys (job hashes, store records), scaled up by the family's key count:
 * under load, a pass over every key of a million-key Redis would itself slow the pipeline down.
 * `every` 1 is exact.
 */
const sampled = (family: string): boolean => family.endsWith('job hashes') || family.endsWith('locks') || family.startsWith('store record');

async function sampledMemoryByFamily(
  redis: Redis,
  prefix: string,
  every: number,
): Promise<{ total: number; keys: number; families: Record<string, { keys: number; bytes: number }> }> {
  if (every <= 1) return memoryByFamily(redis, prefix);
  const seen: Record<string, { keys: number; sampled: number; bytes: number }> = {};
  await scanKeys(redis, prefix, async (node, keys) => {
    const picked: Array<[string, string]> = [];
    for (const k of keys) {
      const f = keyFamily(prefix, k);
      const slot = (seen[f] ??= { keys: 0, sampled: 0, bytes: 0 });
      // Only families of many like-sized keys are sampled; the rest (lists, sets, streams: a few
      // keys, one of them maybe huge) are measured key by key.
      if (!sampled(f) || slot.keys % every === 0) picked.push([f, k]);
      slot.keys += 1;
    }
    if (!picked.length) return;
    const pipe = node.pipeline();
    for (const [, k] of picked) pipe.memory('USAGE', k, 'SAMPLES', '0');
    const res = (await pipe.exec()) ?? [];
    picked.forEach(([f], i) => {
      const slot = seen[f]!;
      slot.sampled += 1;
      slot.bytes += Number(res[i]?.[1] ?? 0);
    });
  });
  const families: Record<string, { keys: number; bytes: number }> = {};
  let total = 0;
  let count = 0;
  for (const [f, v] of Object.entries(seen)) {
    const bytes = v.sampled ? Math.round((v.bytes / v.sampled) * v.keys) : 0;
    families[f] = { keys: v.keys, bytes };
    total += bytes;
    count += v.keys;
  }
  return { total, keys: count, families };
}

interface FamilySnapshot {
  minute: number | 'end';
  /** 1: MEMORY USAGE of every key; N: of every N-th key of each family, scaled up. */
  sampledEvery: number;
  orders: number;
  seconds: number;
  totalMb: number;
  keys: number;
  families: Record<string, { keys: number; mb: number }>;
}

// ------------------------------------------------------------------------------------------------
// The summary.

/** Least-squares slope of y over x (per unit of x). */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

interface Trend {
  first: number;
  last: number;
  mean: number;
  min: number;
  max: number;
  slopePer10Min: number;
  slopePercentOfMeanPer10Min: number;
  flat: boolean;
  /** flat; falling (down by more than the rule: bounded, e.g. a GC high point at the window's start); GROWING. */
  verdict: 'flat' | 'falling' | 'GROWING';
}

function trend(rows: Row[], pick: (r: Row) => number | null): Trend | null {
  const pts = rows.map((r) => [r.minute, pick(r)] as const).filter((p): p is readonly [number, number] => p[1] !== null);
  if (pts.length < 2) return null;
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
  const s = slope(xs, ys) * 10;
  const share = mean === 0 ? 0 : s / mean;
  return {
    first: round(ys[0]!, 1),
    last: round(ys[ys.length - 1]!, 1),
    mean: round(mean, 1),
    min: round(Math.min(...ys), 1),
    max: round(Math.max(...ys), 1),
    slopePer10Min: round(s, 2),
    slopePercentOfMeanPer10Min: round(share * 100, 2),
    flat: Math.abs(share) < FLAT_SHARE,
    verdict: Math.abs(share) < FLAT_SHARE ? 'flat' : share < 0 ? 'falling' : 'GROWING',
  };
}

function familyGrowth(a: FamilySnapshot, b: FamilySnapshot): Record<string, { mbPer10Min: number; bytesPerOrder: number | null; keysFrom: number; keysTo: number }> {
  const minutes = (b.seconds - a.seconds) / 60;
  const orders = b.orders - a.orders;
  const names = new Set([...Object.keys(a.families), ...Object.keys(b.families)]);
  const out: Record<string, { mbPer10Min: number; bytesPerOrder: number | null; keysFrom: number; keysTo: number }> = {};
  for (const f of [...names].sort((x, y) => (b.families[y]?.mb ?? 0) - (b.families[x]?.mb ?? 0))) {
    const d = (b.families[f]?.mb ?? 0) - (a.families[f]?.mb ?? 0);
    out[f] = {
      mbPer10Min: minutes > 0 ? round((d / minutes) * 10, 2) : 0,
      bytesPerOrder: orders > 0 ? Math.round((d * 1048576) / orders) : null,
      keysFrom: a.families[f]?.keys ?? 0,
      keysTo: b.families[f]?.keys ?? 0,
    };
  }
  return out;
}

function summarize(rows: Row[], families: FamilySnapshot[], sender: OpenLoopSender, consumer: ResultsConsumer, drain: Record<string, unknown>) {
  const window = rows.slice(-Math.min(S.windowMinutes, rows.length));
  const figures = {
    workerRssMb: trend(window, (r) => r.rssMb.worker ?? null),
    apiRssMb: trend(window, (r) => r.rssMb.api ?? null),
    sandboxRssMb: trend(window, (r) => r.rssMb.sandbox ?? null),
    redisUsedMemoryMb: trend(window, (r) => r.redis.usedMemoryMb),
    redisKeys: trend(window, (r) => r.redis.keys),
    backlog: trend(window, (r) => r.backlog),
    openInvoicesPollDelayed: trend(window, (r) => r.queues.poll.delayed),
    orderLagSeconds: trend(window, (r) => r.lagSeconds.oldestWaitingOrder),
  };
  const lastRow = rows[rows.length - 1];
  const achieved = lastRow && lastRow.elapsedSeconds > 0 ? lastRow.orders.sent / lastRow.elapsedSeconds : 0;
  const maxBacklog = Math.max(0, ...window.map((r) => r.backlog));
  const maxLag = Math.max(0, ...window.map((r) => r.lagSeconds.oldestWaitingOrder));
  const maxResultLag = Math.max(0, ...window.map((r) => r.lagSeconds.oldestUnpublishedResult ?? 0));
  const b = figures.backlog;
  // Growing: the backlog's trend over the window adds more than 1 % of the orders sent in 10 minutes.
  const backlogGrowing = b !== null && b.slopePer10Min > 0.01 * S.rate * 600;
  const failedAtEnd = rows.length ? Object.fromEntries(Object.entries(rows[rows.length - 1]!.queues).map(([k, v]) => [k, v.failed])) : {};
  const keptUp = {
    keptUp: achieved >= 0.98 * S.rate && sender.refused === 0 && sender.errors === 0 && !backlogGrowing && maxLag < 30 && maxResultLag < 30,
    sendRateAchieved: round(achieved, 1),
    sendRateTarget: S.rate,
    ordersSent: sender.sent,
    ordersAccepted: sender.accepted,
    ordersRefused: sender.refused,
    ordersErrored: sender.errors,
    senderMaxBehind: sender.maxBehind,
    backlogGrowing,
    maxBacklogInWindow: maxBacklog,
    maxOrderLagSecondsInWindow: maxLag,
    maxUnpublishedResultLagSecondsInWindow: maxResultLag,
    failedJobsAtEnd: failedAtEnd,
    resultsConsumed: consumer.totals,
    resultsInvalid: consumer.invalid,
    drain,
  };
  const growth = families.length >= 2 ? familyGrowthInWindow(families, window) : null;
  return {
    window: { fromMinute: window[0]?.minute ?? null, toMinute: window[window.length - 1]?.minute ?? null, minutes: window.length },
    flatRule: `flat: |slope| < ${FLAT_SHARE * 100} % of the window mean per 10 minutes; falling / GROWING: beyond it`,
    figures,
    pipeline: keptUp,
    familyGrowth: growth,
  };
}

/** Growth by key family between the first snapshot taken in the window and the last one taken under load. */
function familyGrowthInWindow(families: FamilySnapshot[], window: Row[]) {
  const from = window[0]?.minute ?? 0;
  const underLoad = families.filter((f) => f.minute !== 'end');
  // The snapshot taken at the window's first minute (or the one just before it) opens the comparison.
  const inWindow = underLoad.filter((f) => typeof f.minute === 'number' && f.minute >= from - 1);
  const a = inWindow[0] ?? underLoad[0];
  const b = underLoad[underLoad.length - 1];
  if (!a || !b || a === b) return null;
  return { fromMinute: a.minute, toMinute: b.minute, families: familyGrowth(a, b) };
}

// ------------------------------------------------------------------------------------------------

function line(r: Row): string {
  const q = (c: Counts): string => `${fmt(c.wait)}/${fmt(c.active)}/${fmt(c.delayed)}/${fmt(c.failed)}`;
  const res = r.results.lastMinute;
  const rss = (k: string): string => (r.rssMb[k] === null || r.rssMb[k] === undefined ? 'n/a' : String(Math.round(r.rssMb[k])));
  return [
    `min ${String(r.minute).padStart(2)}`,
    `sent ${fmt(r.orders.sent)} (+${fmt(r.orders.sentLastMinute)}${r.orders.behind ? `, ${fmt(r.orders.behind)} behind` : ''})`,
    `results +created ${fmt(res.created ?? 0)} paid ${fmt(res.paid ?? 0)} expired ${fmt(res.expired ?? 0)}`,
    `RSS MB worker ${rss('worker')} api ${rss('api')} sandbox ${rss('sandbox')}`,
    `redis ${r.redis.usedMemoryMb} MB ${fmt(r.redis.keys)} keys`,
    `w/a/d/f create ${q(r.queues.create)} poll ${q(r.queues.poll)} events ${q(r.queues.events)} results ${q(r.queues.results)}`,
    `outbox ${fmt(r.outbox)}`,
    `lag ${r.lagSeconds.oldestWaitingOrder} s (results ${r.lagSeconds.oldestUnpublishedResult} s)`,
    `load ${r.loadAverage[0]}`,
  ].join(' | ');
}

async function main(): Promise<void> {
  if (RUNTIME === 'dist' && !existsSync(join(ROOT, 'dist/src/main.js'))) {
    throw new Error('no compiled build: run `npm run build` first (`npm run soak` does), or set BENCH_RUNTIME=tsx');
  }
  const missing = missingOnPath('redis-server');
  if (missing) throw new Error(`${missing}: the soak runs on a private Redis`);
  const keep = env.SOAK_LOG_DIR;
  if (keep) mkdirSync(keep, { recursive: true });
  const dir = keep ?? (await mkdtemp(join(os.tmpdir(), 'iw-soak-')));
  const jsonPath = env.SOAK_JSON ?? join(os.tmpdir(), `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const cleanup: Array<() => Promise<unknown>> = [];
  const runCleanup = async (): Promise<void> => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
  };
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    progress('interrupted: stopping');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const startedAt = new Date().toISOString();
  const machineAtStart = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadAverage: loadAverage(),
  };
  progress(`load average at start: ${machineAtStart.loadAverage.join(' ')}`);
  try {
    // 1. Redis, as docker-compose.yml configures it for memory (noeviction, listpack values up to 1 KB); no persistence.
    const redisArgs = ['--maxmemory-policy', 'noeviction', '--hash-max-listpack-value', '1024'];
    const redisServer: LocalRedis = await startRedisServer({ args: redisArgs, parentDir: dir });
    cleanup.push(() => redisServer.stop());
    const redis = redisServer.client;
    await ready(redis);
    const redisVersion = (await info(redis, 'server')).redis_version ?? '';

    // 2. The sandbox, with its payment schedule and time scale.
    const sandboxChild = spawnTs(
      'sandbox',
      'bench/soak-sandbox.ts',
      [],
      {
        SOAK_SANDBOX_TIME_SCALE: String(S.timeScale),
        SOAK_SANDBOX_PAY_SHARE: String(S.payShare),
        SOAK_SANDBOX_PAY_DELAY_MS: String(S.payDelayMs),
        SOAK_SANDBOX_LATENCY_MS: String(S.sandboxLatencyMs),
        SOAK_SANDBOX_FORGET_MS: String(S.sandboxForgetMs),
      },
      dir,
      ['--max-old-space-size=8192'],
    );
    cleanup.push(() => sandboxChild.stop());
    const sandbox = await waitForOutput(
      sandboxChild,
      (out) => {
        const l = out.split('\n').find((x) => x.startsWith('{"url"'));
        return l ? (JSON.parse(l) as SandboxInfo) : undefined;
      },
      'the sandbox to listen',
    );

    // 3. One API and one worker process.
    progress(`starting the API and one worker (${RUNTIME}) on ${redisServer.url}, prefix ${S.prefix}`);
    const stack: Stack = await startStack({
      dir,
      redisUrl: redisServer.url,
      prefix: S.prefix,
      sandbox,
      concurrency: Number(productEnv.CREATE_CONCURRENCY),
      workers: 1,
      logLevel: S.logLevel,
      name: 'soak',
      env: productEnv,
    });
    cleanup.push(() => stack.stop());
    const worker = stack.workers[0]!;
    for (const provider of ['cryptoprocessing', 'alphapo'] as const) {
      const res = await fetch(`${sandbox.url}/_sandbox/callback-url`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ provider, url: `${stack.apiUrl}/webhooks/${provider}` }),
      });
      if (!res.ok) throw new Error(`sandbox refused the ${provider} callback URL: ${res.status} ${await res.text()}`);
    }

    // 4. The order system: results consumer, then the sender.
    const consumer = new ResultsConsumer(redisServer.url, S.prefix, S.consumerConcurrency);
    cleanup.push(() => consumer.close());
    const queues = openQueues(redis, S.prefix);
    cleanup.push(() => Promise.all(queues.all.map((q) => q.close())));
    const children: Record<string, Child> = { worker, api: stack.api, sandbox: sandboxChild };
    const rssSampler = new RssSampler(children).start();
    cleanup.push(async () => rssSampler.stop());

    const tag = runTag();
    const sender = new OpenLoopSender(stack.apiUrl, tag, S.rate, S.batch, S.maxInflight, S.minutes * 60);
    const settings = {
      ...S,
      runtime: RUNTIME,
      product: productEnv,
      sandbox: {
        timeScale: S.timeScale,
        schedule: { paid: S.payShare, delayMs: S.payDelayMs },
        latencyMs: S.sandboxLatencyMs,
        escapeSlashes: 0.5,
        forgetFinishedAfterMs: S.sandboxForgetMs,
      },
      redis: { version: redisVersion, args: ['--save', '""', '--appendonly', 'no', ...redisArgs].join(' ') },
      orders: 'the four connectors in turn: platform invoices with timer (15 min), payment requests of 15 min, CryptoSteroid (30 min); times scaled by the sandbox',
      resultsConsumer: `BullMQ Worker on ${RESULTS_QUEUE}, concurrency ${S.consumerConcurrency}, completes every job (retention: the job's own removeOnComplete)`,
    };
    progress(
      `${S.minutes} min at ${S.rate} orders/s (batches of ${S.batch}), pay share ${S.payShare} after ${S.payDelayMs} ms, time scale ${S.timeScale}; polls every ${productEnv.POLL_PLATFORM_MS} / ${productEnv.POLL_CRYPTOSTEROID_MS} ms, limiter ${productEnv.POLL_RATE_MAX}/s per lane`,
    );

    const rows: Row[] = [];
    const families: FamilySnapshot[] = [];
    const familyJobs: Array<Promise<void>> = [];
    const snapshotFamilies = async (minute: number | 'end', t0: number): Promise<void> => {
      const started = performance.now();
      const orders = sender.accepted;
      // Exact once the load has stopped; sampled while it runs.
      const every = minute === 'end' ? 1 : S.familySample;
      const usage = await sampledMemoryByFamily(redis, S.prefix, every);
      const snap: FamilySnapshot = {
        minute,
        sampledEvery: every,
        orders,
        seconds: round((started - t0) / 1000, 1),
        totalMb: mb(usage.total),
        keys: usage.keys,
        families: Object.fromEntries(
          Object.entries(usage.families)
            .sort((a, b) => b[1].bytes - a[1].bytes)
            .map(([f, v]) => [f, { keys: v.keys, mb: mb(v.bytes) }]),
        ),
      };
      families.push(snap);
      progress(
        `families at minute ${minute} (${round((performance.now() - started) / 1000, 1)} s to scan ${fmt(usage.keys)} keys): ${Object.entries(snap.families)
          .slice(0, 6)
          .map(([f, v]) => `${f} ${v.mb} MB`)
          .join('; ')}`,
      );
    };

    const cpuBefore: Record<string, number> = {};
    const markCpu = async (): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      for (const [name, c] of Object.entries(children)) {
        const v = c.cpuMs();
        if (v !== undefined) out[name] = v;
      }
      const cpu = await info(redis, 'cpu');
      out.redis = (Number(cpu.used_cpu_user ?? 0) + Number(cpu.used_cpu_sys ?? 0)) * 1000;
      const self = process.cpuUsage();
      out.driver = (self.user + self.system) / 1000;
      return out;
    };
    Object.assign(cpuBefore, await markCpu());

    const t0 = performance.now();
    sender.start(t0);
    let lastSent = 0;
    let lastCpuAt = t0;
    const sampleMs = S.sampleSeconds * 1000;
    const minutes = Math.round((S.minutes * 60) / S.sampleSeconds);
    for (let m = 1; m <= minutes && !interrupted; m++) {
      // Bounded: one sample per period, sleeping in short steps so a signal stops it promptly.
      while (!interrupted && performance.now() < t0 + m * sampleMs) await sleep(Math.min(1000, t0 + m * sampleMs - performance.now()));
      if (interrupted) break;
      const now = performance.now();
      const cpuNow = await markCpu();
      const wall = now - lastCpuAt;
      const cpuPercentOfCore = Object.fromEntries(Object.keys(cpuNow).map((k) => [k, cpuBefore[k] === undefined ? null : round(((cpuNow[k]! - cpuBefore[k]) / wall) * 100, 1)]));
      Object.assign(cpuBefore, cpuNow);
      lastCpuAt = now;
      const wallNow = Date.now();
      const [create, poll, events, results] = [await countsOf(queues.create), await countsOf(queues.poll), await countsOf([queues.events]), await countsOf([queues.results])];
      const mem = await info(redis, 'memory');
      const keys = await redis.dbsize();
      const outbox = await redis.llen(`${S.prefix}:store:outbox`);
      const lagSeconds = {
        oldestWaitingOrder: await oldestWaitSeconds(redis, queues.create, wallNow),
        oldestWaitingEvent: await oldestWaitSeconds(redis, [queues.events], wallNow),
        oldestWaitingResult: await oldestWaitSeconds(redis, [queues.results], wallNow),
        oldestDuePoll: await oldestWaitSeconds(redis, queues.poll, wallNow),
        oldestUnpublishedResult: await oldestOutboxSeconds(redis, `${S.prefix}:store:outbox`, wallNow),
      };
      const rss = rssSampler.take();
      const lat = sender.takeLatencies();
      const lastMinute = consumer.take();
      const row: Row = {
        minute: m,
        elapsedSeconds: round((now - t0) / 1000, 1),
        loadAverage: loadAverage(),
        orders: {
          sent: sender.sent,
          sentLastMinute: sender.sent - lastSent,
          accepted: sender.accepted,
          refused: sender.refused,
          errors: sender.errors,
          behind: sender.behind(now),
          postP50Ms: lat.length ? round(median(lat)!, 1) : null,
          postP99Ms: lat.length ? round(percentile(lat, 99)!, 1) : null,
        },
        results: { lastMinute, total: Object.values(consumer.totals).reduce((a, b) => a + b, 0) },
        rssMb: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, v.medianMb])),
        rssMaxMb: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, v.maxMb])),
        cpuPercentOfCore,
        redis: { usedMemoryMb: mb(Number(mem.used_memory)), usedMemoryRssMb: mb(Number(mem.used_memory_rss)), keys },
        queues: { create, poll, events, results },
        outbox,
        lagSeconds,
        backlog: create.wait + create.active + create.delayed + poll.wait + events.wait + results.wait + outbox,
      };
      lastSent = sender.sent;
      rows.push(row);
      process.stdout.write(`${line(row)}\n`);
      if (S.familyEvery > 0 && m % S.familyEvery === 0 && m < minutes) {
        // In the background, so the next minute's sample stays on time; it does load Redis meanwhile.
        familyJobs.push(snapshotFamilies(m, t0).catch((err) => progress(`family snapshot failed: ${err instanceof Error ? err.message : String(err)}`)));
      }
    }
    // The schedule is over (or interrupted): no more orders.
    await sender.stop();
    // The last snapshot under load, before the drain (the end one is after it).
    await Promise.all(familyJobs);
    if (S.familyEvery > 0 && !interrupted) await snapshotFamilies(rows.length ? rows[rows.length - 1]!.minute : 0, t0);

    // Drain: everything accepted is created, every callback applied, every result consumed.
    const drainStarted = performance.now();
    let drained = false;
    let last: Record<string, number> = {};
    while (!interrupted && performance.now() - drainStarted < S.drainSeconds * 1000) {
      const c = await countsOf(queues.create);
      const e = await countsOf([queues.events]);
      const r = await countsOf([queues.results]);
      const outbox = await redis.llen(`${S.prefix}:store:outbox`);
      last = { createWaitActiveDelayed: c.wait + c.active + c.delayed, eventsWaitActive: e.wait + e.active, resultsWaitActive: r.wait + r.active, outbox };
      if (Object.values(last).every((v) => v === 0)) {
        drained = true;
        break;
      }
      await sleep(500);
    }
    const drain = { drained, seconds: round((performance.now() - drainStarted) / 1000, 1), left: last };
    progress(`drain: ${drained ? 'done' : 'not done'} in ${drain.seconds} s ${JSON.stringify(last)}`);
    if (!interrupted) await snapshotFamilies('end', t0);

    const summary = summarize(rows, families, sender, consumer, drain);
    const machineAtEnd = { loadAverage: loadAverage() };
    const result = { startedAt, endedAt: new Date().toISOString(), settings, machineAtStart, machineAtEnd, rows, families, summary };
    writeFileSync(jsonPath, JSON.stringify(result, null, 2));

    const f = summary.figures;
    const tr = (name: string, t: Trend | null, unit: string): string =>
      t
        ? `${name.padEnd(22)} ${String(t.first).padStart(9)} -> ${String(t.last).padStart(9)} ${unit.padEnd(4)} mean ${String(t.mean).padStart(9)}  slope ${String(t.slopePer10Min).padStart(9)} ${unit}/10 min (${t.slopePercentOfMeanPer10Min} %)  ${t.verdict}`
        : `${name}: n/a`;
    const p = summary.pipeline;
    process.stdout.write(
      [
        '',
        `summary over minutes ${summary.window.fromMinute}-${summary.window.toMinute} (${summary.flatRule})`,
        tr('worker RSS', f.workerRssMb, 'MB'),
        tr('API RSS', f.apiRssMb, 'MB'),
        tr('sandbox RSS', f.sandboxRssMb, 'MB'),
        tr('Redis used_memory', f.redisUsedMemoryMb, 'MB'),
        tr('Redis keys', f.redisKeys, 'keys'),
        tr('backlog', f.backlog, 'jobs'),
        tr('open invoices (polls)', f.openInvoicesPollDelayed, 'jobs'),
        `pipeline kept up: ${p.keptUp ? 'yes' : 'NO'} (sent ${fmt(p.ordersSent)} at ${p.sendRateAchieved}/s of ${p.sendRateTarget}/s, refused ${p.ordersRefused}, errors ${p.ordersErrored}, max order lag ${p.maxOrderLagSecondsInWindow} s, max result publication lag ${p.maxUnpublishedResultLagSecondsInWindow} s, max backlog ${fmt(p.maxBacklogInWindow)}, backlog growing: ${p.backlogGrowing}, drained: ${drain.drained} in ${drain.seconds} s)`,
        `results consumed: ${JSON.stringify(p.resultsConsumed)}; failed jobs at end: ${JSON.stringify(p.failedJobsAtEnd)}`,
        summary.familyGrowth
          ? `Redis growth by key family, minute ${summary.familyGrowth.fromMinute} to ${summary.familyGrowth.toMinute} (MB per 10 min, bytes per order): ${Object.entries(
              summary.familyGrowth.families,
            )
              .filter(([, v]) => v.mbPer10Min !== 0)
              .map(([k, v]) => `${k} ${v.mbPer10Min} (${v.bytesPerOrder} B)`)
              .join('; ')}`
          : 'Redis growth by key family: not measured (needs two snapshots under load)',
        `load average: start ${machineAtStart.loadAverage.join(' ')}, end ${machineAtEnd.loadAverage.join(' ')}`,
        `JSON: ${jsonPath}`,
        '',
      ].join('\n'),
    );
  } finally {
    await runCleanup();
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}

await main();
