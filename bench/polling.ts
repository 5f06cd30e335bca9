/**
 * Scenario `polling`: what open invoices cost Redis while they wait for payment, and while they
 * are polled. An open invoice is created at the provider and followed by one self-rescheduling
 * delayed job on `invoice-poll` (queues/poll.ts, workers/poll.ts).
 *
 * It runs on a Redis of its own (a private `redis-server` on a free loopback port, with the
 * memory settings docker-compose.yml ships and no persistence), so the memory and CPU figures are
 * for our configuration and nobody else's traffic. Steps:
 *
 * 1. seed the invoices through the real pipeline (API, create worker, sandbox), polling deferred;
 * 2. memory: MEMORY USAGE by key family per invoice before the first poll (each invoice an entry
 *    in its lane's poll index), then with every invoice given its delayed poll job, as the first
 *    poll leaves it; `used_memory` before seeding and after;
 * 3. idle: Redis CPU while the poll jobs wait and nothing is due (the standing cost), on a fresh
 *    worker process; the same on the empty prefix before seeding, for comparison;
 * 4. polling: a sample of the poll jobs is promoted (due now), so the poll worker always has work
 *    and its limiter (POLL_RATE_MAX) sets the pace; polls per second, Redis and worker CPU per
 *    poll, worker RSS, and whether `used_memory` grows while polling.
 */
import { performance } from 'node:perf_hooks';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CREATE_QUEUE } from '../queues/create.ts';
import { POLL_QUEUE, PollJobSchema, createPollQueue, pollJobOf, type PollJob } from '../queues/poll.ts';
import { DEFAULT_ACCOUNT } from '../src/lanes/key.ts';
import { RESULTS_QUEUE } from '../queues/results.ts';
import { missingOnPath, startRedisServer } from '../test/helpers/redis-server.ts';
import type { Child } from './procs.ts';
import { info, memoryByFamily, redisCpuMs } from './redis-tools.ts';
import { laneQueueCounts, startSandboxProcess, startStack, systemRun, type Stack } from './stack.ts';

export interface PollingOptions {
  dir: string;
  invoices: number;
  concurrency: number;
  logLevel: string;
  timeoutMs: number;
  measureSeconds: number;
  pollRatePerSecond: number;
  progress: (msg: string) => void;
}

/** Invoices per seeding run, so progress shows on a 100,000 seed. */
const SEED_CHUNK = 10_000;
/** The sweeper's tick is 15 s (src/background/sweeper.ts): a shorter idle window would catch it or not. */
const IDLE_SECONDS = 15;
/** Polls before the window opens: JIT, connection pools and the first limiter windows settle. */
const WARMUP_SECONDS = 3;
/** The memory settings docker-compose.yml gives Redis; persistence is left out on purpose. */
const SHIPPED_REDIS_ARGS = ['--maxmemory-policy', 'noeviction', '--hash-max-listpack-value', '1024'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits;
const mb = (bytes: number): number => Math.round(bytes / 1048576);

// ------------------------------------------------------------------------------------------------
// A private Redis

interface PrivateRedis {
  url: string;
  client: Redis;
  version: string;
  /** The settings that matter for the figures (port and dir left out). */
  config: string[];
  stop(): Promise<void>;
}

async function startPrivateRedis(parent: string): Promise<PrivateRedis> {
  const config = ['--save', '', '--appendonly', 'no', ...SHIPPED_REDIS_ARGS];
  const server = await startRedisServer({ args: SHIPPED_REDIS_ARGS, parentDir: parent });
  try {
    const version = (await info(server.client, 'server')).redis_version ?? '';
    return { url: server.url, client: server.client, version, config, stop: () => server.stop() };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

// ------------------------------------------------------------------------------------------------
// Reading Redis

async function usedMemory(redis: Redis): Promise<number> {
  return Number((await info(redis, 'memory')).used_memory);
}

/** Poll jobs that are due and not yet taken, plus those being polled right now. */
async function pollBacklog(queue: Queue): Promise<number> {
  const c = await queue.getJobCounts('wait', 'active', 'prioritized');
  return (c.wait ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0);
}

/**
 * After seeding: every create job done and every result published. `systemRun` returns at the
 * last `created` result, but CryptoSteroid's `pending` and the completed jobs follow just after.
 */
async function waitUntilSettled(redis: Redis, prefix: string, timeoutMs: number): Promise<void> {
  {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await laneQueueCounts(redis, prefix, CREATE_QUEUE, 'wait', 'active', 'delayed', 'prioritized', 'failed');
      if (c.failed) throw new Error(`seeding: ${c.failed} create jobs failed`);
      const outbox = await redis.llen(`${prefix}:store:outbox`);
      if ((c.wait ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + outbox === 0) return;
      if (Date.now() > deadline) throw new Error(`seeding did not settle: ${JSON.stringify({ ...c, outbox })}`);
      await sleep(200);
    }
  }
}

interface MemoryFigures {
  keys: number;
  keysPerInvoice: number;
  storeBytesPerInvoice: number;
  pollJobBytesPerInvoice: number;
  createJobBytesPerInvoice: number;
  resultJobBytesPerInvoice: number;
  allKeysBytesPerInvoice: number;
  families: Record<string, { keys: number; bytes: number; bytesPerInvoice: number }>;
}

/** MEMORY USAGE of every key under the prefix, by family (redis-tools.ts) and per invoice. */
async function memoryFigures(redis: Redis, prefix: string, invoices: number): Promise<MemoryFigures> {
  const usage = await memoryByFamily(redis, prefix);
  const per = (bytes: number): number => Math.round(bytes / invoices);
  const sum = (match: (family: string) => boolean): number =>
    Object.entries(usage.families)
      .filter(([f]) => match(f))
      .reduce((n, [, v]) => n + v.bytes, 0);
  return {
    keys: usage.keys,
    keysPerInvoice: round(usage.keys / invoices, 2),
    storeBytesPerInvoice: per(sum((f) => f.startsWith('store'))),
    pollJobBytesPerInvoice: per(sum((f) => f.startsWith(`${POLL_QUEUE}:`))),
    createJobBytesPerInvoice: per(sum((f) => f.startsWith(`${CREATE_QUEUE}:`))),
    resultJobBytesPerInvoice: per(sum((f) => f.startsWith(`${RESULTS_QUEUE}:`))),
    allKeysBytesPerInvoice: per(usage.total),
    families: Object.fromEntries(
      Object.entries(usage.families)
        .sort((a, b) => b[1].bytes - a[1].bytes)
        .map(([f, v]) => [f, { keys: v.keys, bytes: v.bytes, bytesPerInvoice: per(v.bytes) }]),
    ),
  };
}

/** Which families grew or shrank, in bytes: growth while polling would be a leak per poll. */
function familyChange(before: MemoryFigures, after: MemoryFigures): Record<string, number> {
  const names = new Set([...Object.keys(before.families), ...Object.keys(after.families)]);
  const out: Record<string, number> = {};
  for (const f of names) {
    const d = (after.families[f]?.bytes ?? 0) - (before.families[f]?.bytes ?? 0);
    if (d !== 0) out[f] = d;
  }
  return out;
}

/** Mean MEMORY USAGE and field count of some job hashes. */
async function jobHashes(redis: Redis, queue: Queue, ids: string[]): Promise<{ jobs: number; bytes: number; fields: number }> {
  if (!ids.length) return { jobs: 0, bytes: 0, fields: 0 };
  const pipe = redis.pipeline();
  for (const id of ids) pipe.memory('USAGE', queue.toKey(id), 'SAMPLES', '0').hlen(queue.toKey(id));
  const res = (await pipe.exec()) ?? [];
  let bytes = 0;
  let fields = 0;
  ids.forEach((_, i) => {
    bytes += Number(res[2 * i]?.[1] ?? 0);
    fields += Number(res[2 * i + 1]?.[1] ?? 0);
  });
  return { jobs: ids.length, bytes: Math.round(bytes / ids.length), fields: round(fields / ids.length, 1) };
}

// ------------------------------------------------------------------------------------------------
// Driving the load

async function seed(stack: Stack, redis: Redis, prefix: string, o: PollingOptions): Promise<{ seconds: number; perSecond: number }> {
  const t0 = performance.now();
  for (let done = 0; done < o.invoices;) {
    const n = Math.min(SEED_CHUNK, o.invoices - done);
    const run = await systemRun(stack, redis, prefix, n, { batch: 1000, inflight: 2, timeoutMs: o.timeoutMs });
    done += n;
    o.progress(`polling: seeded ${done.toLocaleString('en-US')} of ${o.invoices.toLocaleString('en-US')} open invoices (${Math.round(run.perSecond)}/s)`);
  }
  await waitUntilSettled(redis, prefix, o.timeoutMs);
  const seconds = (performance.now() - t0) / 1000;
  return { seconds: round(seconds, 1), perSecond: Math.round(o.invoices / seconds) };
}

/**
 * Gives every invoice waiting in a poll index its poll job, delayed a day, and empties the
 * indexes: what the poll scheduler and the first poll together leave behind (the scheduler adds
 * the job when the first poll is due, the poll moves it back to delayed). Returns how many.
 */
async function pastFirstPoll(redis: Redis, prefix: string): Promise<number> {
  const indexes = await redis.keys(`${prefix}:store:idx:poll:*`);
  let n = 0;
  for (const key of indexes) {
    const lane = key.slice(`${prefix}:store:idx:poll:`.length);
    // The lane's poll queue as the system builds it (its job options included).
    const queue = createPollQueue(redis, prefix, lane);
    try {
      for (;;) {
        const ids = await redis.zrange(key, 0, 999);
        if (!ids.length) break;
        const jobs = [];
        for (const id of ids) {
          const [provider, kind, foreignId, account] = await redis.hmget(`${prefix}:store:inv:${id}`, 'provider', 'kind', 'foreign_id', 'account');
          const invoice = { provider: provider!, kind: kind as PollJob['kind'], foreign_id: foreignId!, account: account ?? DEFAULT_ACCOUNT };
          const { data, jobId } = pollJobOf(invoice);
          jobs.push({ name: 'poll', data: PollJobSchema.parse(data), opts: { jobId, delay: 86_400_000 } });
        }
        await queue.addBulk(jobs);
        await redis.zrem(key, ...ids);
        n += ids.length;
      }
    } finally {
      await queue.close();
    }
  }
  return n;
}

/**
 * Makes `count` poll jobs due now with BullMQ's own `Job.promote` (delayed -> wait, marker set, as
 * an operator's "promote" does). Every poll job of the queue is in the delayed set, ordered by due
 * time, which sorts them by connector (CryptoSteroid's deadline comes first); an even stride over
 * it keeps the connectors' mix. Returns the promoted ids, in promotion order.
 */
async function promoteSample(redis: Redis, queue: Queue, count: number): Promise<{ promoted: string[]; untouched: string[] }> {
  const all = await redis.zrange(queue.keys.delayed!, 0, -1);
  const n = Math.min(count, all.length);
  const picked = new Set<number>();
  for (let i = 0; i < n; i++) picked.add(Math.floor((i * all.length) / n));
  const promoted = [...picked].map((i) => all[i]!);
  const untouched = all.filter((_, i) => !picked.has(i));
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < promoted.length) {
      const job = await Job.fromId(queue, promoted[next++]!);
      await job?.promote();
    }
  };
  await Promise.all(Array.from({ length: 50 }, lane));
  return { promoted, untouched };
}

/** Samples a process's RSS and Redis `used_memory` while a stretch of work runs. */
class Sampler {
  private timers: NodeJS.Timeout[] = [];
  readonly rss: number[] = [];
  readonly used: number[] = [];
  constructor(
    private readonly child: Child,
    private readonly redis: Redis,
  ) {}
  start(): this {
    this.timers.push(
      setInterval(() => {
        const r = this.child.rss();
        if (r !== undefined) this.rss.push(r);
      }, 250),
      setInterval(
        () =>
          void usedMemory(this.redis).then(
            (u) => this.used.push(u),
            () => undefined,
          ),
        1000,
      ),
    );
    return this;
  }
  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }
  rssFigure(): { medianMb: number; maxMb: number } | null {
    if (!this.rss.length) return null;
    const s = [...this.rss].sort((a, b) => a - b);
    return { medianMb: mb(s[Math.floor(s.length / 2)]!), maxMb: mb(s[s.length - 1]!) };
  }
}

interface CpuMark {
  at: number;
  redis: number;
  worker: number;
  sandbox: number;
}

async function cpuMark(redis: Redis, worker: Child, sandbox: Child): Promise<CpuMark> {
  return { at: performance.now(), redis: await redisCpuMs(redis), worker: worker.cpuMs() ?? Number.NaN, sandbox: sandbox.cpuMs() ?? Number.NaN };
}

/** CPU over a quiet stretch: ms of CPU per second of wall time (10 ms/s = 1 % of one core). */
async function idleCpu(redis: Redis, worker: Child, sandbox: Child, seconds: number): Promise<Record<string, number>> {
  const a = await cpuMark(redis, worker, sandbox);
  await sleep(seconds * 1000);
  const b = await cpuMark(redis, worker, sandbox);
  const wall = (b.at - a.at) / 1000;
  const redisMsPerSecond = (b.redis - a.redis) / wall;
  return {
    seconds: round(wall, 1),
    redisCpuMsPerSecond: round(redisMsPerSecond, 2),
    redisCpuPercentOfCore: round(redisMsPerSecond / 10, 2),
    workerCpuMsPerSecond: round((b.worker - a.worker) / wall, 2),
  };
}

/** The poll window: the backlog shrinks by one for every poll finished (the job goes back to delayed). */
async function pollWindow(redis: Redis, queue: Queue, worker: Child, sandbox: Child, seconds: number, idleRedisMsPerSecond: number) {
  const backlogBefore = await pollBacklog(queue);
  const memBefore = await usedMemory(redis);
  const a = await cpuMark(redis, worker, sandbox);
  const sampler = new Sampler(worker, redis).start();
  await sleep(seconds * 1000);
  const b = await cpuMark(redis, worker, sandbox);
  const backlogAfter = await pollBacklog(queue);
  sampler.stop();
  const memAfter = await usedMemory(redis);
  const wall = (b.at - a.at) / 1000;
  const polls = backlogBefore - backlogAfter;
  const redisMs = b.redis - a.redis;
  const perPoll = (ms: number): number | null => (polls > 0 ? round(ms / polls, 3) : null);
  return {
    seconds: round(wall, 1),
    polls,
    pollsPerSecond: round(polls / wall, 1),
    backlogAtEnd: backlogAfter,
    redisCpuMsPerSecond: round(redisMs / wall, 2),
    redisCpuPercentOfCore: round(redisMs / wall / 10, 2),
    redisCpuMsPerPoll: perPoll(redisMs),
    // What polling adds over the standing cost measured just before.
    redisCpuMsPerPollAboveIdle: perPoll(redisMs - idleRedisMsPerSecond * wall),
    workerCpuMsPerPoll: perPoll(b.worker - a.worker),
    workerCpuPercentOfCore: round((b.worker - a.worker) / wall / 10, 1),
    sandboxCpuMsPerPoll: perPoll(b.sandbox - a.sandbox),
    workerRss: sampler.rssFigure(),
    usedMemory: {
      atStartMb: round(memBefore / 1048576, 1),
      atEndMb: round(memAfter / 1048576, 1),
      maxMb: round(Math.max(memBefore, memAfter, ...sampler.used) / 1048576, 1),
      changeBytes: memAfter - memBefore,
      changeBytesPerPoll: polls > 0 ? round((memAfter - memBefore) / polls, 1) : null,
    },
  };
}

// ------------------------------------------------------------------------------------------------

const METHOD = [
  'A private redis-server on loopback with the memory settings docker-compose.yml ships (maxmemory-policy noeviction, hash-max-listpack-value 1024) and no persistence.',
  'Invoices seeded through the real pipeline (sandbox at 0 ms, API, one worker), polls deferred a day by the stack settings; the seeding worker is then replaced by a fresh worker process with the same settings.',
  "Memory: used_memory before and after seeding, and MEMORY USAGE (SAMPLES 0) of every key under the prefix by family, divided by the invoices; create jobs completed are kept up to the queue's cap, result jobs are not consumed (no order system attached).",
  `Idle: Redis INFO cpu (user + sys) over ${IDLE_SECONDS} s on the empty prefix before seeding and with every poll job delayed and none due after it (API and worker running, as deployed).`,
  'Polling: POLL_RATE_MAX per 1,000 ms as the limiter, POLL_CONCURRENCY sized to reach it; an even sample of the poll jobs is promoted with BullMQ Job.promote so the worker always has due work (the real processor then polls the sandbox and moves each job back to delayed, a day out), enough to outlast the window.',
  `After a ${WARMUP_SECONDS} s warm-up, polls = the drop in the poll queue's wait + active + prioritized count over the window (each finished poll moves its job back to delayed); Redis CPU from INFO cpu, worker and sandbox CPU from the OS process stats, worker RSS sampled every 250 ms, used_memory every second.`,
].join(' ');

export async function scenarioPolling(o: PollingOptions): Promise<Record<string, unknown>> {
  const missing = missingOnPath('redis-server');
  if (missing) return { measured: false, reason: `${missing} (the scenario runs on a private Redis)` };
  // Slots enough that a poll may take 250 ms (a busy machine, a slow sandbox) and the limiter,
  // not the slots, still sets the pace.
  const pollConcurrency = Math.max(10, Math.ceil(o.pollRatePerSecond / 4));
  const prefix = `bench-polling-${Date.now().toString(36)}`;
  o.progress('polling: starting a private Redis');
  const priv = await startPrivateRedis(o.dir);
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    const redis = priv.client;
    const sb = await startSandboxProcess(o.dir, 0, 'sandbox-polling');
    cleanup.push(() => sb.child.stop());
    const stack = await startStack({
      dir: o.dir,
      redisUrl: priv.url,
      prefix,
      sandbox: sb.info,
      concurrency: o.concurrency,
      workers: 1,
      logLevel: o.logLevel,
      name: 'polling',
      // Cadences stay a day (stack.ts): each job is polled once in the window, then goes back to delayed.
      env: { POLL_RATE_MAX: String(o.pollRatePerSecond), POLL_RATE_DURATION_MS: '1000', POLL_CONCURRENCY: String(pollConcurrency) },
    });
    cleanup.push(() => stack.stop());
    // Polls are per lane, each with its own limiter: the window measures one lane (CryptoProcessing's)
    // at the configured rate; the other lanes' poll jobs stay delayed, as they would.
    const pollQueue = new Queue(`${POLL_QUEUE}.cryptoprocessing`, { connection: redis, prefix });
    cleanup.push(() => pollQueue.close());

    await sleep(2000);
    o.progress(`polling: Redis CPU idle on the empty prefix (${IDLE_SECONDS} s)`);
    const idleEmpty = await idleCpu(redis, stack.workers[0]!, sb.child, IDLE_SECONDS);
    const memBefore = await usedMemory(redis);

    o.progress(`polling: seeding ${o.invoices.toLocaleString('en-US')} open invoices`);
    const seeding = await seed(stack, redis, prefix, o);
    // A fresh worker for the rest: its RSS and CPU are those of a worker holding open invoices,
    // not of one that just created them.
    await stack.workers[0]!.stop();
    // Before their first poll, open invoices wait in the lanes' poll indexes, with no job.
    const memBeforeFirstPoll = await memoryFigures(redis, prefix, o.invoices);
    o.progress(
      `polling: before the first poll, ${memBeforeFirstPoll.allKeysBytesPerInvoice} B per open invoice in every key, ${memBeforeFirstPoll.storeBytesPerInvoice} B in the store`,
    );
    // From the first poll on, each has its delayed poll job: the state of invoices open longer.
    const converted = await pastFirstPoll(redis, prefix);
    const memAfter = await usedMemory(redis);
    const pollJobs = (await laneQueueCounts(redis, prefix, POLL_QUEUE, 'delayed')).delayed ?? 0;
    if (converted !== o.invoices) o.progress(`polling: ${converted} of ${o.invoices} invoices were in a poll index`);
    o.progress(`polling: memory by key family (${pollJobs.toLocaleString('en-US')} poll jobs delayed)`);
    const memory = await memoryFigures(redis, prefix, o.invoices);
    o.progress(`polling: ${memory.allKeysBytesPerInvoice} B per open invoice in every key, ${memory.storeBytesPerInvoice} B in the store`);

    const worker = await stack.addWorker();
    await sleep(2000);
    o.progress(`polling: Redis CPU idle with the open invoices (${IDLE_SECONDS} s)`);
    const idleOpen = await idleCpu(redis, worker, sb.child, IDLE_SECONDS);

    const sample = Math.ceil(o.pollRatePerSecond * (WARMUP_SECONDS + o.measureSeconds + 5) * 1.2);
    o.progress(`polling: promoting ${sample.toLocaleString('en-US')} poll jobs, then ${o.measureSeconds} s at up to ${o.pollRatePerSecond}/s`);
    const memBeforePromote = await usedMemory(redis);
    const { promoted, untouched } = await promoteSample(redis, pollQueue, sample);
    if (promoted.length < sample) o.progress(`polling: only ${promoted.length} poll jobs to promote; the backlog may run dry before the window ends (see backlogAtEnd)`);
    await sleep(WARMUP_SECONDS * 1000);
    const polling = await pollWindow(redis, pollQueue, worker, sb.child, o.measureSeconds, idleOpen.redisCpuMsPerSecond!);
    o.progress(`polling: ${polling.pollsPerSecond} polls/s, Redis ${polling.redisCpuMsPerSecond} ms/s, worker ${polling.workerCpuMsPerPoll} ms per poll`);

    // Stop polling before reading the keys, so the figures below are of a still Redis.
    await worker.stop();
    const failed = (await laneQueueCounts(redis, prefix, POLL_QUEUE, 'failed')).failed ?? 0;
    const polledIds = promoted.slice(0, 200);
    const pollJobHash = { neverPolled: await jobHashes(redis, pollQueue, untouched.slice(0, 200)), polledOnce: await jobHashes(redis, pollQueue, polledIds) };
    o.progress('polling: memory by key family after polling');
    const memoryAfterPolling = await memoryFigures(redis, prefix, o.invoices);
    const memAfterPolling = await usedMemory(redis);

    return {
      measured: true,
      method: METHOD,
      redis: { version: priv.version, config: priv.config.map((a) => (a === '' ? '""' : a)).join(' ') },
      invoices: o.invoices,
      createConcurrency: o.concurrency,
      pollRateMaxPerSecond: o.pollRatePerSecond,
      pollConcurrency,
      seeding,
      memoryBeforeFirstPoll: memBeforeFirstPoll,
      memory: {
        pollJobsDelayed: pollJobs,
        usedMemoryBeforeMb: round(memBefore / 1048576, 1),
        usedMemoryAfterMb: round(memAfter / 1048576, 1),
        usedMemoryDeltaPerInvoice: Math.round((memAfter - memBefore) / o.invoices),
        ...memory,
      },
      idle: { emptyPrefix: idleEmpty, openInvoices: idleOpen },
      polling: {
        ...polling,
        // Below the limiter, the figure is what this machine managed, not the configured rate.
        limiterReached: polling.pollsPerSecond >= 0.95 * o.pollRatePerSecond,
        promoted: promoted.length,
        warmupSeconds: WARMUP_SECONDS,
        failedPollJobs: failed,
        pollJobHash,
        // Promotion moves jobs from the delayed set to the wait list and polling moves them back,
        // so the window's change partly re-forms the set; against the state before promotion, a
        // leak per poll would still show.
        usedMemoryBeforePromotionMb: round(memBeforePromote / 1048576, 1),
        usedMemoryAfterPollingStoppedMb: round(memAfterPolling / 1048576, 1),
        usedMemoryChangeSincePromotionBytes: memAfterPolling - memBeforePromote,
        // Whole run, promotion included: jobs moved delayed -> wait -> delayed, hashes gained fields.
        familyChangeBytes: familyChange(memory, memoryAfterPolling),
      },
    };
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
    await priv.stop();
  }
}

// ------------------------------------------------------------------------------------------------

function fmt(n: unknown, unit = ''): string {
  return typeof n === 'number' ? `${n.toLocaleString('en-US')}${unit}` : String(n ?? 'n/a');
}

/** Rows for the bench's table: [figure, value, target]. */
export function pollingRows(r: Record<string, any>): Array<[string, string, string]> {
  if (!r.measured) return [['polling: open invoices, memory and Redis CPU', `not measured: ${r.reason}`, '']];
  const n = fmt(r.invoices);
  const m = r.memory;
  const p = r.polling;
  const cpu = (x: Record<string, number>): string => `${fmt(x.redisCpuMsPerSecond)} ms/s (${fmt(x.redisCpuPercentOfCore)} % of a core)`;
  return [
    [`polling: seeding ${n} open invoices`, `${fmt(r.seeding.seconds, ' s')} (${fmt(r.seeding.perSecond, '/s')})`, ''],
    [
      'Redis bytes per open invoice before its first poll: store (record + history + indexes + poll index entry)',
      fmt(r.memoryBeforeFirstPoll?.storeBytesPerInvoice, ' B'),
      '<= 2,048 B',
    ],
    ['Redis bytes per open invoice: store (record + history + indexes)', fmt(m.storeBytesPerInvoice, ' B'), ''],
    ['Redis bytes per open invoice: poll job', fmt(m.pollJobBytesPerInvoice, ' B'), ''],
    ['Redis bytes per open tracked invoice: store + poll job', fmt(m.storeBytesPerInvoice + m.pollJobBytesPerInvoice, ' B'), '<= 2,048 B'],
    ['Redis bytes per open invoice: create job (completed, kept)', fmt(m.createJobBytesPerInvoice, ' B'), ''],
    ['Redis bytes per open invoice: result jobs', fmt(m.resultJobBytesPerInvoice, ' B'), ''],
    ["Redis bytes per open invoice: all keys (with the queues' retained jobs)", fmt(m.allKeysBytesPerInvoice, ' B'), ''],
    ['Redis used_memory delta per open invoice', fmt(m.usedMemoryDeltaPerInvoice, ' B'), ''],
    ['Redis keys per open invoice', fmt(m.keysPerInvoice), ''],
    ['Redis CPU idle, empty prefix', cpu(r.idle.emptyPrefix), ''],
    [`Redis CPU idle, ${n} poll jobs delayed, none due`, cpu(r.idle.openInvoices), ''],
    [`polls completed, limiter ${fmt(r.pollRateMaxPerSecond)}/s, concurrency ${fmt(r.pollConcurrency)}`, fmt(p.pollsPerSecond, '/s'), `${fmt(r.pollRateMaxPerSecond)}/s`],
    ['Redis CPU while polling', `${cpu(p)}; ${fmt(p.redisCpuMsPerPoll)} ms per poll (${fmt(p.redisCpuMsPerPollAboveIdle)} above idle)`, ''],
    ['worker CPU per poll', `${fmt(p.workerCpuMsPerPoll, ' ms')} (${fmt(p.workerCpuPercentOfCore)} % of a core)`, ''],
    ['worker RSS while polling (max / median)', p.workerRss ? `${p.workerRss.maxMb} / ${p.workerRss.medianMb} MB` : 'n/a', '<= 200 MB'],
    [
      'Redis used_memory change while polling (window; since before promotion)',
      `${fmt(p.usedMemory.changeBytes, ' B')} (${fmt(p.usedMemory.changeBytesPerPoll, ' B')} per poll); ${fmt(p.usedMemoryChangeSincePromotionBytes, ' B')}`,
      'bounded',
    ],
  ];
}
