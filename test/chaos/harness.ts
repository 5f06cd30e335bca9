/**
 * One chaos run of the whole system, shared by `npm run chaos` (thousands of orders, faults at
 * random) and `test/integration/chaos.test.ts` (a small, pinned version):
 *
 *   runner process: the sandbox provider (faults, callback habits, a schedule of outcomes),
 *                   the producer, the forger of callbacks, the clock that kills things
 *   redis-server:   its own, AOF on, restarted mid-run (clean shutdown, and a crash)
 *   api:            `src/main.ts --role api` (producer API, webhooks), a child process
 *   workers:        N x `src/main.ts --role worker`, killed with SIGKILL at random and restarted
 *
 * Then it lets the system settle, takes a snapshot and runs `checks.ts` on it. Every process
 * writes its output to a file of its own; the log scan reads them all.
 *
 * No wait of the run has a fixed deadline: processes starting, Redis shutting down and coming
 * back, the intake and the settling each go on while something they measure still moves (CPU time
 * and log of the process awaited, orders accepted and requests answered, orders settling, results
 * published, jobs finished, transitions at the provider), and give up only after `stallMs` without
 * any progress, or at the run's safety cap `capMs`. A busy machine makes the run slower, not red;
 * a wait that gives up says which one it was and its last numbers.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import { pino } from 'pino';
import { createCreateQueue, createJobId, type CreateJob } from '../../queues/create.ts';
import { createEventsQueue } from '../../queues/events.ts';
import { pollQueueName } from '../../queues/poll.ts';
import { createResultsQueue, type InvoiceResult } from '../../queues/results.ts';
import { invoiceId } from '../../src/ids.ts';
import { InvoiceStore } from '../../src/invoice/store.ts';
import { resultJobId } from '../../queues/results.ts';
import { connect, redisAnswers, type RedisClient } from '../../src/redis/connect.ts';
import { signBody } from '../../src/signing.ts';
import { startSandbox, type Delivery, type FaultRule, type Sandbox, type SandboxSchedule } from '../../src/sandbox/index.ts';
import { isTerminal } from '../../src/invoice/state.ts';
import { runChecks, orderKey, type Check, type ForgedAnswer, type ForgedKind, type OrderRef, type PublishedResult, type Snapshot } from './checks.ts';
import { BIRTH_DATES, FIRST_NAMES, LAST_NAMES, LEGAL_NAMES, MAIL_DOMAIN, makeOrders, seededRandom, type ChaosOrder } from './orders.ts';
import { cpuTicks, fileBytes, ProgressWatch, settleWhileProgressing, startApp, waitWhileProgressing, type AppProcess, type Patience, type Progress } from './procs.ts';
import { freePort, startAofRedis, type AofRedis } from './redis-server.ts';

export type ChaosAction = 'kill-worker' | 'redis-shutdown' | 'redis-crash';

export interface ChaosEvent {
  /** When: after this many orders were accepted. */
  afterAccepted: number;
  action: ChaosAction;
  /** For `redis-crash`: the fsync policy in force when it dies (default `always`, see README). */
  fsync?: 'always' | 'everysec';
}

export interface ChaosOptions {
  orders: number;
  seed: number;
  /** Port of the run's own Redis; default: any free port. */
  redisPort?: number;
  workers: number;
  /** Sandbox clock: provider durations (15 min timer, 30 min, redelivery) times this. */
  timeScale: number;
  schedule: SandboxSchedule;
  habits: { duplicateRate: number; lateRate: number };
  /** Fault rules on provider create requests, in force while orders come in. */
  faults: FaultRule[];
  /** A 429 storm (this many throttled creates in a row) every `everyMs`, rotating providers. */
  storms?: { everyMs: number; count: number };
  /** Faults at fixed points of the intake. */
  events: ChaosEvent[];
  /** Besides `events`: SIGKILL a random worker every min..max ms while orders flow (and `afterLoadMs` after). */
  randomKills?: { minGapMs: number; maxGapMs: number; afterLoadMs: number };
  /** A killed worker comes back after min..max ms. */
  restartDelayMs: [number, number];
  /** Forged (and replayed) callbacks sent during the intake. */
  forged: number;
  /** Producer pace, orders per second, in batches of 1..maxBatch. */
  ratePerSec: number;
  maxBatch: number;
  /** Share of requests that repeat an accepted order (same payload) or change one (conflict). */
  duplicateShare: number;
  conflictShare: number;
  /** The runner ends (expires) sandbox invoices still open after this long: a provider clock for states the sandbox never ends. */
  finishAfterMs: number;
  /**
   * Every wait of the run gives up after this long without any progress at all (default 60 s).
   * Longer than `finishAfterMs` (the longest the run itself leaves an invoice alone) plus a poll.
   */
  stallMs?: number;
  /** Safety cap on the whole run, so a run that keeps moving but never ends still ends (default 30 min). */
  capMs?: number;
  /** Extra environment for the API and workers. */
  env?: Record<string, string>;
  keepLogs?: boolean;
  say?: (line: string) => void;
}

export interface KillRecord {
  worker: string;
  at: number;
  /** Jobs of the killed worker found stalled and handed over, with times from the kill. */
  stalled: number;
  detectMs: number | null;
  recoverMs: number | null;
  unfinished: number;
  restartMs: number | null;
}

export interface RestartRecord {
  how: 'shutdown' | 'crash';
  fsync: 'always' | 'everysec';
  at: number;
  downtimeMs: number;
  /** From Redis answering again to the next result (any status / a `created` one) in invoice-results. */
  nextResultMs: number | null;
  nextCreatedMs: number | null;
  /** Writes Redis acknowledged just before going down, and how many came back from the AOF. */
  probe: { acked: number; recovered: number; lost: number; unansweredApplied: number };
  stalled: number;
}

export interface ChaosReport {
  ok: boolean;
  checks: Check[];
  figures: Record<string, unknown>;
  kills: KillRecord[];
  restarts: RestartRecord[];
  durations: { setupMs: number; intakeMs: number; settleMs: number; totalMs: number };
  /** How the settling ended: everything settled, or the wait gave up (stalled or at the cap) and why. */
  settle: { settled: boolean; detail: string };
  intake: Record<string, number>;
  /** Orders the API accepted (202, or 200 "existing" when the first answer was lost and the producer sent it again). */
  acceptedOrders: number;
  sandbox: { stats: unknown; deliveries: Record<string, number>; finishedByRunner: number };
  logDir: string;
  startedAt: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const LANES = ['cryptoprocessing', 'alphapo', 'cryptosteroid'] as const;

/** Pids in the tail of a redis-server log: every line starts with `<pid>:<role char>`. */
function redisPids(logFile: string): number[] {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8').slice(-8192);
  } catch {
    return [];
  }
  return [...new Set([...text.matchAll(/^(\d+):[A-Z] /gm)].map((m) => Number(m[1])))];
}

/** What shows a redis-server busy (loading its AOF, flushing it): the CPU time of its live processes, and its log. */
function redisProgress(server: AofRedis): Progress {
  const p: Progress = { 'redis log bytes': fileBytes(server.logFile) };
  for (const pid of redisPids(server.logFile)) {
    const ticks = cpuTicks(pid);
    if (ticks !== undefined) p[`redis cpu ticks (pid ${pid})`] = ticks;
  }
  return p;
}

/**
 * The run's own Redis: redis-server.ts gives a start 30 s to answer, then stops it. A fresh, empty
 * Redis that needs longer is on a machine too busy to do anything: tried again (once or twice)
 * within the stall window, then the wait gives up.
 */
async function startRunRedis(port: number | undefined, patience: Patience): Promise<AofRedis> {
  const watch = new ProgressWatch("the run's redis-server to start", patience);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startAofRedis(port);
    } catch (err) {
      if (!/did not answer/.test(String(err))) throw err;
      watch.missed(`attempt ${attempt}: ${(err as Error).message}`);
      const v = watch.verdict();
      if (v) throw watch.error(v);
    }
  }
}

/**
 * Starts the run's Redis again on its data. redis-server.ts waits 30 s for an answer; while the
 * server is still running and working (loading the AOF uses its CPU, it logs), this goes on waiting.
 */
async function bringRedisBack(server: AofRedis, patience: Patience): Promise<void> {
  try {
    await server.start();
    return;
  } catch (err) {
    if (!server.running() || !/did not answer/.test(String(err))) throw err;
  }
  await waitWhileProgressing('Redis to answer again after its restart', patience, async () => ({
    done: await redisAnswers(server.url, 2000),
    progress: redisProgress(server),
    note: server.running() ? 'redis-server running, not answering yet' : 'redis-server not running',
  }));
}

const ALL_STATES = ['wait', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

interface Fault {
  kind: 'kill' | 'restart';
  at: number;
  index: number;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const say = o.say ?? (() => {});
  const t0 = Date.now();
  const random = seededRandom(o.seed);
  const tag = `c${o.seed.toString(36)}`;
  const prefix = 'chaos';
  const stallMs = o.stallMs ?? 60_000;
  if (stallMs <= o.finishAfterMs)
    throw new Error(`stallMs (${stallMs} ms) must be longer than finishAfterMs (${o.finishAfterMs} ms): the run itself leaves invoices alone that long`);
  const logDir = mkdtempSync(join(tmpdir(), 'chaos-logs-'));
  const secret = (label: string): string => `${label}-${randomBytes(12).toString('base64url')}`;
  const API_TOKEN = secret('api-token');
  const ADMIN_PASSWORD = secret('admin-pw');
  const METRICS_TOKEN = secret('metrics-token');
  const WRONG_SECRET = secret('wrong-secret');

  const patience: Patience = { stallMs, deadline: t0 + (o.capMs ?? 30 * 60_000), stopped: () => stopping };

  const cleanup: Array<() => Promise<unknown>> = [];
  const expectedExits = new Set<number>();
  const unexpectedExits: string[] = [];
  let stopping = false;
  // The first error of a background task (a worker restart, the controller, the forger): every wait checks it.
  let fatal: unknown;
  const fail = (err: unknown): void => {
    fatal ??= err;
  };
  const checkFatal = (): void => {
    if (fatal !== undefined) throw fatal instanceof Error ? fatal : new Error(String(fatal));
  };
  const runAbort = new AbortController();
  let storms: ReturnType<typeof setInterval> | undefined;
  let observing = true;
  const apps: AppProcess[] = [];
  const watch = (p: AppProcess): AppProcess => {
    apps.push(p);
    void p.exited.then(({ code, signal }) => {
      if (!stopping && !expectedExits.has(p.pid)) unexpectedExits.push(`${p.name} exited on its own (code ${code}, signal ${signal})`);
    });
    return p;
  };

  let redis: AofRedis | undefined;
  let sandbox: Sandbox | undefined;
  let conn: RedisClient | undefined;
  try {
    // ---------------------------------------------------------------- setup
    redis = await startRunRedis(o.redisPort, patience);
    say(`redis-server on ${redis.url} (appendonly yes, appendfsync everysec)`);
    sandbox = await startSandbox({
      port: 0,
      timeScale: o.timeScale,
      schedule: o.schedule,
      duplicateRate: o.habits.duplicateRate,
      lateRate: o.habits.lateRate,
      escapeSlashes: 0.5,
      cryptosteroidNewCap: 1_000_000,
      callbackTimeoutMs: 15_000,
      random: seededRandom(o.seed ^ 0x5eed),
      logger: pino({ level: 'silent' }),
    });
    const box = sandbox;
    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    for (const p of ['cryptoprocessing', 'alphapo'] as const) box.setCallbackUrl(p, `${apiUrl}/webhooks/${p}`);
    const c = box.credentials;
    const scaled = (ms: number): string => String(Math.max(10, Math.round(ms * o.timeScale)));
    const env: Record<string, string> = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      HOST: '127.0.0.1',
      SANDBOX: 'off',
      LOG_LEVEL: 'info',
      PUBLIC_BASE_URL: apiUrl,
      API_TOKEN,
      ADMIN_USER: 'chaos-operator',
      ADMIN_PASSWORD,
      METRICS_TOKEN,
      CRYPTOPROCESSING_BASE_URL: box.baseUrls.cryptoprocessing,
      CRYPTOPROCESSING_API_KEY: c.cryptoprocessing.apiKey,
      CRYPTOPROCESSING_API_SECRET: c.cryptoprocessing.apiSecret,
      ALPHAPO_BASE_URL: box.baseUrls.alphapo,
      ALPHAPO_API_KEY: c.alphapo.apiKey,
      ALPHAPO_API_SECRET: c.alphapo.apiSecret,
      CRYPTOSTEROID_BASE_URL: box.baseUrls.cryptosteroid,
      CRYPTOSTEROID_API_KEY: c.cryptosteroid.apiKey,
      CRYPTOSTEROID_MERCHANT_ID: c.cryptosteroid.merchantId,
      CREATE_CONCURRENCY: '20',
      CREATE_ATTEMPTS: '10',
      CREATE_BACKOFF_MS: '200',
      RATE_LIMIT_DELAY_MS: '300',
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      HTTP_CONNECT_TIMEOUT_MS: '1000',
      HTTP_RESPONSE_TIMEOUT_MS: '2000',
      EVENTS_ATTEMPTS: '10',
      EVENTS_BACKOFF_MS: '200',
      POLL_CRYPTOSTEROID_MS: '3000',
      POLL_PLATFORM_MS: '4000',
      POLL_IDLE_MS: '6000',
      POLL_RATE_MAX: '200',
      DEADLINE_TIMER_MS: scaled(900_000),
      DEADLINE_CRYPTOSTEROID_MS: scaled(1_800_000),
      DEADLINE_PROCESSING_MS: scaled(86_400_000),
      DEADLINE_GRACE_MS: '15000',
      SHUTDOWN_TIMEOUT_MS: '3000',
      ...o.env,
    };
    const api = watch(startApp('api', 'api', { ...env, PORT: String(apiPort) }, logDir));
    const generation = new Map<number, number>();
    const startWorker = (slot: number): AppProcess => {
      const gen = (generation.get(slot) ?? 0) + 1;
      generation.set(slot, gen);
      return watch(startApp(`worker-${slot + 1}.${gen}`, 'worker', { ...env, OPS_PORT: '0' }, logDir));
    };
    const workers: Array<AppProcess | null> = Array.from({ length: o.workers }, (_, i) => startWorker(i));
    await Promise.all([api.ready(patience), ...workers.map((w) => w?.ready(patience))]);
    say(`api ${apiUrl} and ${o.workers} workers started; logs in ${logDir}`);

    conn = connect(redis.url);
    conn.on('error', () => {});
    const db = conn;
    const store = new InvoiceStore({ redis: db, prefix, resultId: resultJobId });
    // One create queue per lane: the sandbox's default account of each provider.
    const createQueues = LANES.map((lane) => createCreateQueue(db, prefix, lane));
    const eventsQueue = createEventsQueue(db, prefix);
    const resultsQueue = createResultsQueue(db, prefix);
    cleanup.push(() => Promise.all([...createQueues.map((q) => q.close()), eventsQueue.close(), resultsQueue.close()]));
    const setupMs = Date.now() - t0;

    // ---------------------------------------------------------------- observers
    const faults: Fault[] = [];
    const stalls = new Map<string, { at: number; doneAt: number | null }>();
    const streamIds: Record<string, string> = {};
    // Each lane's create and poll queue has its own event stream.
    const streams = [...createQueues.map((q) => q.toKey('events')), eventsQueue.toKey('events'), ...LANES.map((lane) => `${prefix}:${pollQueueName(lane)}:events`)];
    const tailStreams = async (): Promise<void> => {
      for (const key of streams) {
        const from = streamIds[key] ?? `${t0}-0`;
        const entries = (await db.xrange(key, `(${from}`, '+', 'COUNT', 5000)) as Array<[string, string[]]>;
        for (const [id, fields] of entries) {
          streamIds[key] = id;
          const at = Number(id.split('-')[0]);
          const ev: Record<string, string> = {};
          for (let i = 0; i + 1 < fields.length; i += 2) ev[fields[i] as string] = fields[i + 1] as string;
          const job = `${key}|${ev.jobId}`;
          if (ev.event === 'stalled') stalls.set(`${job}|${at}`, { at, doneAt: null });
          else if (ev.event === 'completed' || ev.event === 'failed' || ev.event === 'delayed') {
            for (const [k, s] of stalls) if (s.doneAt === null && k.startsWith(`${job}|`) && at >= s.at) s.doneAt = at;
          }
        }
      }
    };
    const observer = (async () => {
      while (observing && !stopping) {
        await tailStreams().catch(() => undefined);
        await sleep(200);
      }
    })();

    // ---------------------------------------------------------------- the producer
    const orders = makeOrders(o.orders, tag, random);
    const accepted = new Map<string, ChaosOrder>();
    const intake: { [outcome: string]: number; requests: number; retried: number; unexpected: number; duplicates: number; conflicts: number } = {
      requests: 0,
      retried: 0,
      accepted: 0,
      existing: 0,
      conflict: 0,
      invalid: 0,
      duplicates: 0,
      conflicts: 0,
      unexpected: 0,
    };
    const unexpected: string[] = [];
    const auth = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };

    interface Item {
      order: ChaosOrder;
      body: Record<string, unknown>;
      role: 'original' | 'duplicate' | 'conflict';
    }
    let answered = 0; // requests the API answered at all (any status): it is alive and working
    const postOnce = async (items: Item[]): Promise<Array<{ outcome: string }> | null> => {
      intake.requests += 1;
      try {
        const single = items.length === 1;
        const res = await fetch(`${apiUrl}${single ? '/v1/invoices' : '/v1/invoices/batch'}`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify(single ? items[0]?.body : { orders: items.map((i) => i.body) }),
          // No answer in 30 s: sent again (idempotent by foreign_id); the intake wait below decides when to give up.
          signal: AbortSignal.any([AbortSignal.timeout(30_000), runAbort.signal]),
        });
        answered += 1;
        const body = (await res.json().catch(() => ({}))) as { outcome?: string; results?: Array<{ outcome: string }>; error?: string };
        if (res.status >= 500) return null;
        if (single) {
          if (res.status === 202) return [{ outcome: 'accepted' }];
          if (res.status === 200) return [{ outcome: body.outcome ?? 'existing' }];
          if (res.status === 409) return [{ outcome: 'conflict' }];
          if (res.status === 400) return [{ outcome: 'invalid' }];
          return null;
        }
        return res.status === 200 && body.results ? body.results : null;
      } catch {
        return null; // no answer: the producer sends the same again (idempotent by foreign_id)
      }
    };
    const post = async (items: Item[]): Promise<void> => {
      let answer = await postOnce(items);
      while (!answer) {
        if (stopping) throw new Error('the run is stopping');
        intake.retried += 1;
        await sleep(500);
        answer = await postOnce(items);
      }
      answer.forEach((a, i) => {
        const item = items[i] as Item;
        intake[a.outcome] = (intake[a.outcome] ?? 0) + 1;
        const k = orderKey(item.order);
        const want = item.role === 'conflict' ? ['conflict'] : ['accepted', 'existing'];
        if (!want.includes(a.outcome)) {
          intake.unexpected += 1;
          unexpected.push(`${item.role} ${k}: ${a.outcome}`);
        }
        if (item.role === 'original' && (a.outcome === 'accepted' || a.outcome === 'existing')) accepted.set(k, item.order);
      });
    };
    let loadDone = false;
    const intakeStart = Date.now();
    const producer = (async () => {
      let next = 0;
      const inFlight = new Set<Promise<void>>();
      while (next < orders.length) {
        if (stopping) throw new Error('the run is stopping');
        const size = Math.min(orders.length - next, 1 + Math.floor(random() * o.maxBatch));
        const items: Item[] = orders.slice(next, next + size).map((order) => ({ order, body: order.body, role: 'original' }));
        next += size;
        const done = [...accepted.values()];
        if (done.length && random() < o.duplicateShare) {
          const again = done[Math.floor(random() * done.length)] as ChaosOrder;
          items.push({ order: again, body: again.body, role: 'duplicate' });
          intake.duplicates += 1;
        }
        if (done.length && random() < o.conflictShare) {
          const other = done[Math.floor(random() * done.length)] as ChaosOrder;
          items.push({ order: other, body: { ...other.body, amount: '7777.77' }, role: 'conflict' });
          intake.conflicts += 1;
        }
        const p = post(items).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= 3) await Promise.race(inFlight);
        const due = intakeStart + (next / o.ratePerSec) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      await Promise.all(inFlight);
      loadDone = true;
    })();

    // ---------------------------------------------------------------- faults
    for (const rule of o.faults) box.addFault(rule);
    storms = o.storms
      ? (() => {
          let n = 0;
          const providers = ['cryptoprocessing', 'alphapo', 'cryptosteroid'] as const;
          const timer = setInterval(() => box.addFault({ provider: providers[n++ % 3], fault: '429', count: o.storms?.count ?? 1 }), o.storms.everyMs);
          return timer;
        })()
      : undefined;

    const kills: KillRecord[] = [];
    const restarts: RestartRecord[] = [];
    const restarting = new Set<Promise<void>>();
    const measurements: Array<Promise<void>> = [];
    const killWorker = async (): Promise<void> => {
      // Only a worker that has started: one still starting (slow on a busy machine) is waited for.
      await waitWhileProgressing('a started worker to kill', patience, () => {
        checkFatal();
        const live = workers.filter((w): w is AppProcess => !!w?.alive());
        const progress: Progress = {};
        for (const w of live) for (const [k, v] of Object.entries(w.progress())) progress[`${w.name} ${k}`] = v;
        return { done: live.some((w) => w.started()) || (!live.length && !restarting.size), progress };
      });
      const alive = workers.map((w, i) => (w?.alive() && w.started() ? i : -1)).filter((i) => i >= 0);
      if (!alive.length) return;
      const slot = alive[Math.floor(random() * alive.length)] as number;
      const w = workers[slot] as AppProcess;
      expectedExits.add(w.pid);
      const at = Date.now();
      await w.kill('SIGKILL');
      workers[slot] = null;
      const record: KillRecord = { worker: w.name, at, stalled: 0, detectMs: null, recoverMs: null, unfinished: 0, restartMs: null };
      kills.push(record);
      faults.push({ kind: 'kill', at, index: kills.length - 1 });
      say(`  SIGKILL ${w.name} at +${((at - t0) / 1000).toFixed(1)} s`);
      const delay = o.restartDelayMs[0] + random() * (o.restartDelayMs[1] - o.restartDelayMs[0]);
      const back = (async () => {
        await sleep(delay);
        if (stopping) return;
        const fresh = startWorker(slot);
        workers[slot] = fresh;
        await fresh.ready(patience);
        record.restartMs = Date.now() - at;
      })();
      restarting.add(back);
      // A restart that failed stays in the set, so `Promise.all(restarting)` throws it too.
      back.then(() => restarting.delete(back), fail);
    };

    let redisRestarting = false;
    const restartRedis = async (how: 'shutdown' | 'crash', fsync: 'always' | 'everysec'): Promise<void> => {
      redisRestarting = true;
      try {
        await restartRedisOnce(how, fsync);
      } finally {
        redisRestarting = false;
      }
    };
    const restartRedisOnce = async (how: 'shutdown' | 'crash', fsync: 'always' | 'everysec'): Promise<void> => {
      const server = redis as AofRedis;
      // Through the run's connection (it waits for Redis), not redis-cli with its 10 s timeout.
      if (fsync === 'always')
        await settleWhileProgressing('Redis to switch to appendfsync always', patience, db.call('CONFIG', 'SET', 'appendfsync', 'always'), () => redisProgress(server));
      // A probe of acknowledged writes: how many of them the AOF gives back.
      await db.del('chaos-probe');
      const probe = connect(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: patience.stallMs });
      probe.on('error', () => {});
      let acked = 0;
      let probing = true;
      const loops = Array.from({ length: 4 }, async () => {
        while (probing) {
          try {
            const v = await probe.incr('chaos-probe');
            if (v > acked) acked = v;
          } catch {
            return;
          }
        }
      });
      await sleep(1000);
      const at = Date.now();
      await settleWhileProgressing(
        `Redis to go down (${how === 'shutdown' ? 'redis-cli shutdown' : 'SIGKILL'})`,
        patience,
        how === 'shutdown' ? server.shutdown() : server.crash(),
        () => redisProgress(server),
      );
      probing = false;
      await Promise.allSettled(loops);
      probe.disconnect();
      await bringRedisBack(server, patience);
      const upAt = Date.now();
      const recovered = Number((await db.get('chaos-probe')) ?? 0);
      const record: RestartRecord = {
        how,
        fsync,
        at,
        downtimeMs: upAt - at,
        nextResultMs: null,
        nextCreatedMs: null,
        probe: { acked, recovered, lost: Math.max(0, acked - recovered), unansweredApplied: Math.max(0, recovered - acked) },
        stalled: 0,
      };
      restarts.push(record);
      faults.push({ kind: 'restart', at, index: restarts.length - 1 });
      say(`  redis ${how} (${fsync}) at +${((at - t0) / 1000).toFixed(1)} s: back after ${record.downtimeMs} ms, ${record.probe.lost} of ${acked} acknowledged probe writes lost`);
      // Time to the next result published after Redis answers again (measured in the background).
      // Until a `created` result shows or the run stops observing (after the settling): a figure, never a wait.
      const measure = (async () => {
        const waitKey = `${prefix}:invoice-results:wait`;
        let seen = await db.llen(waitKey);
        while (record.nextCreatedMs === null && observing && !stopping) {
          const n = await db.llen(waitKey);
          if (n > seen) {
            const now = Date.now();
            record.nextResultMs ??= now - upAt;
            const ids = await db.lrange(waitKey, 0, n - seen - 1);
            if (ids.some((id) => id.endsWith('.created'))) record.nextCreatedMs = now - upAt;
            seen = n;
          }
          await sleep(50);
        }
      })().catch(() => undefined);
      measurements.push(measure);
    };

    // The clock: events at intake milestones, random kills, forged callbacks.
    const pendingEvents = [...o.events].sort((a, b) => a.afterAccepted - b.afterAccepted);
    const controller = (async () => {
      let nextRandomKill = o.randomKills ? Date.now() + o.randomKills.minGapMs + random() * (o.randomKills.maxGapMs - o.randomKills.minGapMs) : Infinity;
      let loadEndedAt: number | null = null;
      for (;;) {
        if (stopping) return;
        if (loadDone && loadEndedAt === null) loadEndedAt = Date.now();
        const ev = pendingEvents[0];
        if (ev && accepted.size >= ev.afterAccepted) {
          pendingEvents.shift();
          if (ev.action === 'kill-worker') await killWorker();
          else await restartRedis(ev.action === 'redis-shutdown' ? 'shutdown' : 'crash', ev.fsync ?? (ev.action === 'redis-crash' ? 'always' : 'everysec'));
          continue;
        }
        if (o.randomKills && Date.now() >= nextRandomKill) {
          await killWorker();
          nextRandomKill = Date.now() + o.randomKills.minGapMs + random() * (o.randomKills.maxGapMs - o.randomKills.minGapMs);
        }
        const randomOver = !o.randomKills || (loadEndedAt !== null && Date.now() > loadEndedAt + o.randomKills.afterLoadMs);
        if (loadDone && !pendingEvents.length && randomOver) return;
        if (loadDone && pendingEvents.length && pendingEvents.every((e) => e.afterAccepted > accepted.size)) {
          // Fewer orders were accepted than a milestone needs: fire what is left now.
          (pendingEvents[0] as ChaosEvent).afterAccepted = 0;
        }
        await sleep(50);
      }
    })();
    controller.catch(fail);

    // Forged and replayed callbacks, spread over the intake.
    const forged: ForgedAnswer[] = [];
    const forgedValues: string[] = [WRONG_SECRET];
    const forger = (async () => {
      const spacing = Math.max(20, ((o.orders / o.ratePerSec) * 1000) / Math.max(1, o.forged));
      let genuine: Delivery[] = [];
      for (let i = 0; i < o.forged; i++) {
        await sleep(spacing);
        if (stopping) return;
        if (i % 25 === 0) genuine = box.deliveries().filter((d) => d.result === 200 && d.url);
        const kinds: ForgedKind[] = ['bad-signature', 'wrong-secret', 'tampered', 'no-signature', 'wrong-key', 'signed-malformed', 'cs-wrong-token', 'cs-unknown', 'replay'];
        const kind = kinds[i % kinds.length] as ForgedKind;
        const pool = [...accepted.values()].filter((x) => (x.provider === 'cryptosteroid') === (kind === 'cs-wrong-token'));
        const target = pool[Math.floor(random() * pool.length)];
        const req = forgeRequest(kind, { apiUrl, target, genuine, random, credentials: c, wrongSecret: WRONG_SECRET });
        if (!req) continue;
        // Forged header values must never be logged either (a handler that logs refused headers would).
        if (kind !== 'replay') {
          for (const h of ['x-processing-signature', 'x-processing-key', 'token']) {
            const v = req.headers[h];
            if (v && !Object.values(c).some((x) => Object.values(x).includes(v))) forgedValues.push(v);
          }
        }
        let status = 0;
        try {
          // No answer in 20 s counts as "no answer" (status 0), which the checks accept as not an acceptance.
          const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal: AbortSignal.any([AbortSignal.timeout(20_000), runAbort.signal]) });
          status = res.status;
          await res.arrayBuffer();
        } catch {
          status = 0;
        }
        forged.push({ kind, status });
      }
    })();
    forger.catch(fail);

    // The intake: the producer's pace is the run's load (orders per second, by the clock); waiting
    // for it goes on while the API answers and orders get accepted.
    await Promise.all([
      producer,
      waitWhileProgressing('the intake (orders accepted, requests answered)', patience, () => {
        checkFatal();
        return {
          done: loadDone,
          // While Redis restarts the API may answer nothing: Redis's own work (loading its AOF) is progress then.
          progress: {
            'orders accepted': accepted.size,
            'requests answered': answered,
            'forged callbacks answered': forged.length,
            ...(redisRestarting ? redisProgress(redis as AofRedis) : {}),
          },
          note: `${orders.length} orders to send, ${intake.requests} requests sent, ${intake.retried} sent again${redisRestarting ? ', Redis restarting' : ''}`,
        };
      }),
    ]);
    const intakeMs = Date.now() - intakeStart;
    say(`intake done: ${accepted.size} orders accepted in ${(intakeMs / 1000).toFixed(1)} s (${intake.requests} requests, ${intake.retried} retried)`);
    await forger;
    await controller;
    await Promise.all(restarting);
    checkFatal();

    // ---------------------------------------------------------------- settle
    const settleStart = Date.now();
    if (storms) clearInterval(storms);
    box.clearFaults();
    for (let i = 0; i < workers.length; i++) {
      if (!workers[i]?.alive()) {
        workers[i] = startWorker(i);
        await workers[i]?.ready(patience);
      }
    }
    let finishedByRunner = 0;
    const refs: OrderRef[] = [...accepted.values()].map((x) => ({ provider: x.provider, kind: x.kind, foreign_id: x.foreign_id }));
    const failedKeys = createQueues.map((q) => q.toKey('failed'));
    let open = Infinity;
    let lastSay = 0;
    // Goes on while anything moves towards the end: orders settling, fewer jobs pending, results
    // published, create and callback jobs finished, invoices changing at the provider, callbacks
    // delivered, invoices the runner's clock ended. Polls that find nothing new are not progress.
    const settleWatch = new ProgressWatch('settle (every order terminal or parked, nothing pending)', patience);
    const settle = { settled: false, detail: '' };
    const count = async (q: { getJobCounts: (typeof eventsQueue)['getJobCounts'] }, ...states: Parameters<(typeof eventsQueue)['getJobCounts']>): Promise<number> =>
      Object.values(await q.getJobCounts(...states)).reduce((a, b) => a + b, 0);
    for (;;) {
      checkFatal();
      const now = Date.now();
      for (const inv of box.invoices()) {
        if (now - Date.parse(inv.createdAt) < o.finishAfterMs || isSandboxTerminal(inv.provider, inv.kind, inv.status)) continue;
        try {
          box.act(inv.provider, inv.ref, 'expire', { kind: inv.kind });
          finishedByRunner += 1;
        } catch {
          /* moved on meanwhile */
        }
      }
      const failed = new Set((await Promise.all(failedKeys.map((k) => db.zrange(k, 0, -1)))).flat());
      const pipe = db.pipeline();
      for (const r of refs) pipe.hmget(store.recordKey(invoiceId(r.provider, r.foreign_id)), 'status', 'reconcile');
      const rows = ((await pipe.exec()) ?? []).map(([, v]) => v as [string | null, string | null]);
      open = rows.filter(([status, reconcile], i) => {
        if (!status) return true;
        if (isTerminal(status as never) || reconcile) return false;
        const r = refs[i] as OrderRef;
        return !(status === 'queued' && failed.has(createJobId(r.provider, r.foreign_id)));
      }).length;
      let pending = (await count(eventsQueue, 'wait', 'active', 'delayed', 'prioritized')) + (await store.outboxLength());
      for (const q of createQueues) pending += await count(q, 'wait', 'active', 'delayed', 'prioritized');
      if (now - lastSay > 10_000) {
        say(`  settling: ${open} orders open, ${pending} jobs or outbox entries pending`);
        lastSay = now;
      }
      if (open === 0 && pending === 0) {
        settle.settled = true;
        break;
      }
      let finished = await count(eventsQueue, 'completed', 'failed');
      for (const q of createQueues) finished += await count(q, 'completed', 'failed');
      const sandboxNow = box.invoices();
      settleWatch.observe(
        {
          'orders open': open,
          'jobs or outbox entries pending': pending,
          'results published': await count(resultsQueue, ...ALL_STATES),
          'create and callback jobs finished': finished,
          'transitions at the provider': sandboxNow.reduce((n, inv) => n + inv.history.length, 0) + sandboxNow.length,
          'callbacks delivered': box.deliveries().filter((d) => d.result === 200).length,
          'invoices ended by the runner': finishedByRunner,
        },
        { lowerIsBetter: ['orders open', 'jobs or outbox entries pending'] },
      );
      const verdict = settleWatch.verdict();
      if (verdict) {
        settle.detail = settleWatch.describe(verdict);
        say(`  ${settle.detail}`);
        break;
      }
      await sleep(1000);
    }
    const settleMs = Date.now() - settleStart;
    if (settle.settled) settle.detail = `settled in ${(settleMs / 1000).toFixed(1)} s`;
    say(`settled in ${(settleMs / 1000).toFixed(1)} s (${open} orders still open)`);
    await sleep(500);
    observing = false;
    await observer;
    await Promise.all(measurements);
    await tailStreams().catch(() => undefined);

    // ---------------------------------------------------------------- snapshot and checks
    const records = new Map<string, Awaited<ReturnType<InvoiceStore['getById']>>>();
    const histories = new Map<string, Awaited<ReturnType<InvoiceStore['history']>>>();
    for (let i = 0; i < refs.length; i += 200) {
      await Promise.all(
        refs.slice(i, i + 200).map(async (r) => {
          const id = invoiceId(r.provider, r.foreign_id);
          records.set(orderKey(r), await store.getById(id));
          histories.set(orderKey(r), await store.history(id));
        }),
      );
    }
    const resultJobs = (await resultsQueue.getJobs([...ALL_STATES], 0, -1, true)) as Job<InvoiceResult>[];
    const results: PublishedResult[] = resultJobs.map((j) => ({ id: String(j.id), name: j.name, timestamp: j.timestamp, data: j.data }));
    const failedCreates = new Map<string, string>();
    for (const q of createQueues) for (const j of (await q.getFailed(0, -1)) as Job<CreateJob>[]) failedCreates.set(orderKey(j.data), j.failedReason || '');
    const failedEvents = await eventsQueue.getFailedCount();
    const deliveries = box.deliveries();
    const secrets = new Map<string, string>([
      ['API_TOKEN', API_TOKEN],
      ['ADMIN_PASSWORD', ADMIN_PASSWORD],
      ['METRICS_TOKEN', METRICS_TOKEN],
      ['cryptoprocessing api key', c.cryptoprocessing.apiKey],
      ['cryptoprocessing api secret', c.cryptoprocessing.apiSecret],
      ['alphapo api key', c.alphapo.apiKey],
      ['alphapo api secret', c.alphapo.apiSecret],
      ['cryptosteroid api key', c.cryptosteroid.apiKey],
    ]);
    forgedValues.forEach((v, i) => secrets.set(`forged header value ${i}`, v));
    deliveries.forEach((d, i) => {
      const sig = d.headers['x-processing-signature'];
      if (sig) secrets.set(`callback signature ${i}`, sig);
      if (d.headers.token) secrets.set(`callback token ${i}`, d.headers.token);
    });
    for (const [k, rec] of records) if (rec?.secret) secrets.set(`order secret of ${k}`, rec.secret);
    for (const v of [...FIRST_NAMES, ...LAST_NAMES, ...LEGAL_NAMES, ...BIRTH_DATES]) secrets.set(`personal value ${v}`, v);
    const snapshot: Snapshot = {
      accepted: refs,
      records,
      histories,
      results,
      sandboxInvoices: box.invoices(),
      failedCreates,
      failedEvents,
      forged,
      logFiles: apps.map((a) => a.logFile),
      secrets,
      forbiddenPatterns: [new RegExp(`@${MAIL_DOMAIN.replace(/\./g, '\\.')}`)],
      unexpectedExits,
    };
    const { checks, figures } = runChecks(snapshot);
    if (intake.unexpected) {
      checks.push({ name: 'the producer got the answers the API promises', ok: false, detail: `${intake.unexpected} unexpected answers`, examples: unexpected.slice(0, 5) });
    } else {
      checks.push({
        name: 'the producer got the answers the API promises',
        ok: true,
        detail: `accepted ${intake.accepted}, existing ${intake.existing}, conflict ${intake.conflict}`,
        examples: [],
      });
    }

    // Recovery per fault: stalled jobs belong to the latest fault before them.
    faults.sort((a, b) => a.at - b.at);
    const byFault = new Map<Fault, Array<{ at: number; doneAt: number | null }>>();
    for (const s of stalls.values()) {
      const f = [...faults].reverse().find((x) => x.at <= s.at);
      if (!f) continue;
      const list = byFault.get(f) ?? [];
      list.push(s);
      byFault.set(f, list);
    }
    for (const f of faults) {
      const list = byFault.get(f) ?? [];
      if (f.kind === 'restart') {
        (restarts[f.index] as RestartRecord).stalled = list.length;
        continue;
      }
      const k = kills[f.index] as KillRecord;
      k.stalled = list.length;
      if (!list.length) continue;
      k.detectMs = Math.min(...list.map((s) => s.at)) - f.at;
      const done = list.filter((s) => s.doneAt !== null).map((s) => (s.doneAt as number) - f.at);
      k.unfinished = list.length - done.length;
      k.recoverMs = done.length ? Math.max(...done) : null;
    }

    const stats = box.stats();
    const deliveryTally: Record<string, number> = { total: deliveries.length, duplicates: 0, late: 0, answered200: 0, other: 0 };
    for (const d of deliveries) {
      if (d.duplicate) deliveryTally.duplicates = (deliveryTally.duplicates ?? 0) + 1;
      if (d.late) deliveryTally.late = (deliveryTally.late ?? 0) + 1;
      if (d.result === 200) deliveryTally.answered200 = (deliveryTally.answered200 ?? 0) + 1;
      else deliveryTally.other = (deliveryTally.other ?? 0) + 1;
    }
    const statuses: Record<string, number> = {};
    for (const r of records.values()) if (r) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const resultsByStatus: Record<string, number> = {};
    for (const r of results) resultsByStatus[r.data.status] = (resultsByStatus[r.data.status] ?? 0) + 1;
    const parkedReasons: Record<string, number> = {};
    let terminalParked = 0;
    for (const r of records.values()) {
      if (!r?.reconcile) continue;
      if (isTerminal(r.status)) terminalParked += 1;
      const short = r.reconcile.split(/[(:;]/)[0]?.trim() ?? '';
      parkedReasons[short] = (parkedReasons[short] ?? 0) + 1;
    }
    const ok = checks.every((x) => x.ok);
    return {
      ok,
      checks,
      figures: { ...figures, statuses, resultsByStatus, parkedReasons, terminalParked, stalledTotal: stalls.size },
      kills,
      restarts,
      durations: { setupMs, intakeMs, settleMs, totalMs: Date.now() - t0 },
      settle,
      intake,
      acceptedOrders: accepted.size,
      sandbox: { stats, deliveries: deliveryTally, finishedByRunner },
      logDir,
      startedAt: t0,
    };
  } finally {
    stopping = true;
    observing = false;
    if (storms) clearInterval(storms);
    runAbort.abort();
    await Promise.all(
      apps.map(async (a) => {
        if (!a.alive()) return;
        a.child.kill('SIGTERM');
        const t = setTimeout(() => a.child.kill('SIGKILL'), 10_000);
        await a.exited;
        clearTimeout(t);
      }),
    );
    for (const f of cleanup) await f().catch(() => undefined);
    conn?.disconnect();
    await sandbox?.close();
    await redis?.stop();
    if (!o.keepLogs) rmSync(logDir, { recursive: true, force: true });
  }
}

function isSandboxTerminal(provider: string, kind: string, status: string): boolean {
  if (provider === 'cryptosteroid') return ['PAID', 'EXPIRED', 'CANCELLED'].includes(status);
  return kind === 'payment_request' ? ['paid', 'failed', 'expired'].includes(status) : ['confirmed', 'failed'].includes(status);
}

interface ForgeContext {
  apiUrl: string;
  target: ChaosOrder | undefined;
  genuine: Delivery[];
  random: () => number;
  credentials: Sandbox['credentials'];
  wrongSecret: string;
}

/** One forged (or replayed) callback request, or null when there is nothing to base it on yet. */
export function forgeRequest(kind: ForgedKind, x: ForgeContext): { url: string; headers: Record<string, string>; body: string } | null {
  const platform = x.target && x.target.provider !== 'cryptosteroid' ? x.target : undefined;
  const provider = (platform?.provider ?? 'cryptoprocessing') as 'cryptoprocessing' | 'alphapo';
  const creds = x.credentials[provider];
  const url = `${x.apiUrl}/webhooks/${provider}`;
  const body = JSON.stringify({
    id: 100000 + Math.floor(x.random() * 800000),
    foreign_id: platform?.foreign_id ?? 'no-such-order',
    type: 'invoice',
    status: 'confirmed',
    currency_received: { currency: 'EUR', amount: '100.50' },
    transactions: [{ id: 1, confirmations: '1' }],
    error: '',
  });
  const json = { 'content-type': 'application/json' };
  const hex = (): string => Array.from({ length: 128 }, () => '0123456789abcdef'[Math.floor(x.random() * 16)]).join('');
  switch (kind) {
    case 'bad-signature':
      return { url, body, headers: { ...json, 'x-processing-key': creds.apiKey, 'x-processing-signature': hex() } };
    case 'wrong-secret':
      return { url, body, headers: { ...json, 'x-processing-key': creds.apiKey, 'x-processing-signature': signBody(body, x.wrongSecret) } };
    case 'no-signature':
      return { url, body, headers: { ...json, 'x-processing-key': creds.apiKey } };
    case 'wrong-key':
      return { url, body, headers: { ...json, 'x-processing-key': `forged-key-${hex().slice(0, 12)}`, 'x-processing-signature': signBody(body, creds.apiSecret) } };
    case 'signed-malformed': {
      const bad = x.random() < 0.5 ? JSON.stringify({ type: 'invoice', id: { nested: true }, foreign_id: 7, status: 5 }) : '{"type":"invoice",';
      return { url, body: bad, headers: { ...json, 'x-processing-key': creds.apiKey, 'x-processing-signature': signBody(bad, creds.apiSecret) } };
    }
    case 'tampered': {
      const d = x.genuine.find((g) => g.provider !== 'cryptosteroid' && !g.body.includes('"status":"confirmed"'));
      if (!d?.url) return null;
      const changed = d.body.replace(/"status":"[a-z_]+"/, '"status":"confirmed"');
      return { url: d.url, body: changed, headers: { ...d.headers } };
    }
    case 'cs-wrong-token': {
      const cs = x.target?.provider === 'cryptosteroid' ? x.target : undefined;
      if (!cs) return null;
      const id = invoiceId('cryptosteroid', cs.foreign_id);
      return {
        url: `${x.apiUrl}/webhooks/cryptosteroid/${encodeURIComponent(id)}`,
        body: JSON.stringify({ status: 'PAID', invoiceId: '00000000-0000-4000-8000-000000000000' }),
        headers: { ...json, token: `forged-token-${hex().slice(0, 16)}` },
      };
    }
    case 'cs-unknown':
      return {
        url: `${x.apiUrl}/webhooks/cryptosteroid/cryptosteroid.r.no-such-order-${hex().slice(0, 8)}`,
        body: '{"status":"PAID"}',
        headers: { ...json, token: `forged-token-${hex().slice(0, 16)}` },
      };
    case 'replay': {
      const d = x.genuine[Math.floor(x.random() * x.genuine.length)];
      if (!d?.url) return null;
      return { url: d.url, body: d.body, headers: { ...d.headers } };
    }
  }
}
