/**
 * One running pipeline for the benchmark: the sandbox, the API (`src/main.ts --role api`) and N
 * worker processes (`--role worker`), each a process of its own, on one Redis (or cluster) and one
 * queue prefix. Plus the drivers: post orders in batches and wait for their results.
 */
import { performance } from 'node:perf_hooks';
import { Queue, type JobType } from 'bullmq';
import { request } from 'undici';
import type { RedisClient } from '../src/redis/connect.ts';
import { lanePrefix } from '../src/lanes/key.ts';
import { serviceEnv } from '../src/sandbox/env.ts';
import { orders, runTag } from './orders.ts';
import { freePort, spawnTs, waitForOutput, type Child } from './procs.ts';

export interface SandboxInfo {
  url: string;
  baseUrls: Record<'cryptoprocessing' | 'alphapo' | 'cryptosteroid', string>;
  credentials: {
    cryptoprocessing: { apiKey: string; apiSecret: string };
    alphapo: { apiKey: string; apiSecret: string };
    cryptosteroid: { apiKey: string; merchantId: string };
  };
}

export async function startSandboxProcess(dir: string, latencyMs: number, name = 'sandbox'): Promise<{ child: Child; info: SandboxInfo }> {
  const child = spawnTs(name, 'bench/sandbox-process.ts', [], { SANDBOX_LATENCY_MS: String(latencyMs), LOG_LEVEL: 'warn' }, dir);
  const info = await waitForOutput(
    child,
    (out) => {
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      return line ? (JSON.parse(line) as SandboxInfo) : undefined;
    },
    'the sandbox to listen',
  );
  return { child, info };
}

export interface StackOptions {
  dir: string;
  redisUrl: string;
  prefix: string;
  sandbox: SandboxInfo;
  concurrency: number;
  workers: number;
  logLevel: string;
  /** Extra node flags for the API and workers (e.g. --cpu-prof). */
  nodeFlags?: string[];
  name?: string;
  /** Settings over the defaults below (e.g. POLL_* for a scenario that measures polling). */
  env?: Record<string, string>;
}

export interface Stack {
  api: Child;
  apiUrl: string;
  workers: Child[];
  addWorker(): Promise<Child>;
  stop(): Promise<void>;
}

/**
 * Each provider's default account at the sandbox process: its base URL and credentials. Also the
 * CryptoSteroid lane's own cap on unpaid invoices (50 as shipped), lifted: it would hold every
 * CryptoSteroid order past the 50th of a run until payers pay; lifted, each order still takes
 * and keeps its slot (the same Redis work) and none waits.
 */
export function sandboxProviderEnv(sandbox: SandboxInfo): Record<string, string> {
  return { ...serviceEnv(sandbox), CRYPTOSTEROID_MAX_UNPAID: '100000' };
}

function systemEnv(o: StackOptions, port: number): Record<string, string> {
  return {
    REDIS_URL: o.redisUrl,
    QUEUE_PREFIX: o.prefix,
    SANDBOX: 'off',
    LOG_LEVEL: o.logLevel,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    CREATE_CONCURRENCY: String(o.concurrency),
    // Polls are deferred a day, to keep them out of the throughput figures: CryptoSteroid's first
    // polls (after 60 s) would land in the middle of the later runs. The first poll is still
    // scheduled (in the poll index, its memory counted); only the poll, at most POLL_RATE_MAX a
    // second, is left out.
    POLL_CRYPTOSTEROID_MS: '86400000',
    POLL_PLATFORM_MS: '86400000',
    POLL_IDLE_MS: '86400000',
    ...sandboxProviderEnv(o.sandbox),
    ...o.env,
  };
}

/** Ready when the process answers `/readyz` (Redis reachable, its workers running), whatever it logs. */
export async function whenReady(child: Child, url: string, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) throw new Error(`${child.name} exited before ${what}:\n${child.output().slice(-3000)}`);
    const ok = await request(`${url}/readyz`).then(
      async (res) => {
        await res.body.dump();
        return res.statusCode === 200;
      },
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${child.name}: timed out waiting for ${what}:\n${child.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const name = o.name ?? 'stack';
  const port = await freePort();
  const env = systemEnv(o, port);
  // BENCH_NODE_FLAGS: extra node flags for every API and worker process (e.g. V8 heap settings).
  const flags = [...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), ...(o.nodeFlags ?? [])];
  const api = spawnTs(`${name}-api`, 'src/main.ts', ['--role', 'api'], env, o.dir, flags);
  const workers: Child[] = [];
  const stack: Stack = {
    api,
    apiUrl: `http://127.0.0.1:${port}`,
    workers,
    async addWorker() {
      // Each worker serves health and metrics on a port of its own.
      const opsPort = String(await freePort());
      const w = spawnTs(`${name}-worker-${workers.length + 1}`, 'src/main.ts', ['--role', 'worker'], { ...env, OPS_PORT: opsPort }, o.dir, flags);
      workers.push(w);
      await whenReady(w, `http://127.0.0.1:${opsPort}`, 'the worker to start');
      return w;
    },
    async stop() {
      await Promise.all([...workers.map((w) => w.stop()), api.stop()]);
    },
  };
  try {
    await whenReady(api, stack.apiUrl, 'the API to start');
    for (let i = 0; i < o.workers; i++) await stack.addWorker();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Posts pre-serialized batches, `inflight` at a time; every order must be accepted. */
export async function postBatches(apiUrl: string, bodies: Array<{ body: string; count: number }>, inflight: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < bodies.length) {
      const item = bodies[next++]!;
      const res = await request(`${apiUrl}/v1/invoices/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: item.body });
      const json = (await res.body.json()) as { counts?: Record<string, number> };
      if (res.statusCode !== 200 || json.counts?.accepted !== item.count) {
        throw new Error(`batch not accepted: HTTP ${res.statusCode} ${JSON.stringify(json).slice(0, 500)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, inflight) }, lane));
}

export async function waitForLength(redis: RedisClient, key: string, target: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await redis.llen(key);
    if (n >= target) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${n} of ${target}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Counts `created` results as they arrive. Results are pushed to the head of the queue's wait
 * list (nothing consumes them here), and a result's job id ends in its status, so each poll reads
 * only the ids added since the last one. Other transitions (CryptoSteroid's `pending` right after
 * `created`, a callback's `processing`) are results too, and are not counted.
 */
// Length and the new ids in one atomic step: a push between two calls would shift the list.
const NEW_CREATED = `
local n = redis.call('LLEN', KEYS[1])
local fresh = n - tonumber(ARGV[1])
if fresh <= 0 then return {n, 0} end
local c = 0
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, fresh - 1)) do
  if string.sub(id, -8) == '.created' then c = c + 1 end
end
return {n, c}
`;

export async function waitForCreated(redis: RedisClient, prefix: string, count: number, timeoutMs: number, start: number): Promise<void> {
  const key = `${prefix}:invoice-results:wait`;
  let seen = start;
  let created = 0;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [len, fresh] = (await redis.eval(NEW_CREATED, 1, key, String(seen))) as [number, number];
    seen = len;
    created += fresh;
    if (created >= count) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for created results: ${created} of ${count}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface RunResult {
  orders: number;
  ms: number;
  perSecond: number;
}

/**
 * One timed run: from the first batch POST to the last `created` result on `invoice-results`.
 * The bodies are built before the clock starts.
 */
export async function systemRun(
  stack: Pick<Stack, 'apiUrl'>,
  redis: RedisClient,
  prefix: string,
  count: number,
  opts: { batch: number; inflight: number; timeoutMs: number },
): Promise<RunResult> {
  const tag = runTag();
  const bodies = chunks(orders(tag, count), opts.batch).map((b) => ({ body: JSON.stringify({ orders: b }), count: b.length }));
  const base = await redis.llen(`${prefix}:invoice-results:wait`);
  const t0 = performance.now();
  await postBatches(stack.apiUrl, bodies, opts.inflight);
  await waitForCreated(redis, prefix, count, opts.timeoutMs, base);
  const ms = performance.now() - t0;
  return { orders: count, ms, perSecond: (count / ms) * 1000 };
}

/** The lanes the bench runs: the sandbox's default account of each provider. */
export const BENCH_LANES = ['cryptoprocessing', 'alphapo', 'cryptosteroid'] as const;

/** Job counts summed over every lane's queue of one kind (`invoice-create` or `invoice-poll`). */
export async function laneQueueCounts(redis: RedisClient, prefix: string, kind: string, ...states: JobType[]): Promise<Record<string, number>> {
  return laneQueueCountsIn(redis, prefix, false, kind, ...states);
}

/** The same, for lanes with hash tags of their own (`LANE_HASH_TAGS=true`) when `laneTags`. */
export async function laneQueueCountsIn(redis: RedisClient, prefix: string, laneTags: boolean, kind: string, ...states: JobType[]): Promise<Record<string, number>> {
  const total: Record<string, number> = {};
  for (const lane of BENCH_LANES) {
    const q = new Queue(`${kind}.${lane}`, { connection: redis, prefix: lanePrefix(prefix, lane, laneTags) });
    try {
      for (const [k, v] of Object.entries(await q.getJobCounts(...states))) total[k] = (total[k] ?? 0) + v;
    } finally {
      await q.close();
    }
  }
  return total;
}
