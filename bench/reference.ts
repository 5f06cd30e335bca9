/**
 * The driver side of the reference pipeline (reference-worker.ts): start its worker process, and
 * time one run of it, from the first job added to the last result on its results queue. The jobs
 * are the provider requests our adapters would send for the same orders, added in batches as the
 * API adds create jobs.
 */
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import type { RedisClient } from '../src/redis/connect.ts';
import { REF_QUEUE, REF_RESULTS, orders, providerRequest, runTag, type RefJob } from './orders.ts';
import { spawnTs, waitForOutput, type Child } from './procs.ts';
import { waitForLength, type RunResult, type SandboxInfo } from './stack.ts';

export async function startReference(dir: string, prefix: string, sandbox: SandboxInfo, concurrency: number, redisUrl: string, name = 'reference-worker'): Promise<Child> {
  const child = spawnTs(
    name,
    'bench/reference-worker.ts',
    [],
    {
      REDIS_URL: redisUrl,
      REF_PREFIX: prefix,
      REF_CONCURRENCY: String(concurrency),
      REF_SANDBOX: JSON.stringify(sandbox),
    },
    dir,
  );
  await waitForOutput(child, (out) => (out.includes('ready') ? true : undefined), 'the reference worker');
  return child;
}

/** The queue the driver adds the reference's jobs to (completed ones kept a day, up to 100,000). */
export function referenceQueue(connection: RedisClient, prefix: string): Queue {
  return new Queue(REF_QUEUE, { connection, prefix, defaultJobOptions: { removeOnComplete: { age: 24 * 3600, count: 100_000 }, removeOnFail: false } });
}

export async function referenceRun(
  redis: RedisClient,
  queue: Queue,
  prefix: string,
  sandbox: SandboxInfo,
  count: number,
  opts: { batch: number; inflight: number; timeoutMs: number },
): Promise<RunResult> {
  const tag = runTag();
  const jobs = orders(tag, count).map((o) => {
    const data: RefJob = { ...providerRequest(o, sandbox.credentials.cryptosteroid.merchantId, 'http://127.0.0.1:1'), id: `${o.provider}.${o.foreign_id}` };
    return { name: 'create', data, opts: { jobId: `create.${data.id}` } };
  });
  const batches: (typeof jobs)[] = [];
  for (let i = 0; i < jobs.length; i += opts.batch) batches.push(jobs.slice(i, i + opts.batch));
  const key = `${prefix}:${REF_RESULTS}:wait`;
  const base = await redis.llen(key);
  const t0 = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < batches.length) await queue.addBulk(batches[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.inflight) }, lane));
  await waitForLength(redis, key, base + count, opts.timeoutMs, `${count} reference results`);
  const ms = performance.now() - t0;
  return { orders: count, ms, perSecond: (count / ms) * 1000 };
}
