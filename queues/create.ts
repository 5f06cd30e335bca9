/**
 * `invoice-create.<lane>`: one queue per lane (provider account), so one account's throttling or
 * outage holds back no other (BullMQ's limiter and `rateLimit()` act on a whole queue). One job
 * per accepted order, id derived from (lane, foreign_id), so a duplicate enqueue can never make a
 * second job. The order itself lives in the invoice record; the job carries only its identity (no
 * personal data in Bull Board). `invoice-create` itself is where jobs waited before lanes: a
 * worker drains what is left there into the lanes (workers/legacy.ts).
 */
import { Queue, type ConnectionOptions, type JobsOptions, type KeepJobs } from 'bullmq';
import type { z } from 'zod';
import { jobId } from '../src/ids.ts';
import { OrderRefSchema } from '../src/invoice/order.ts';
import { laneKey } from '../src/lanes/key.ts';

export const CREATE_QUEUE = 'invoice-create';

export function createQueueName(lane: string): string {
  return `${CREATE_QUEUE}.${lane}`;
}

/** Job data of `invoice-create.<lane>`, v1: the order's identity, as the invoice domain defines it (`OrderRefSchema`). */
export const CreateJobSchema = OrderRefSchema;
export type CreateJob = z.infer<typeof CreateJobSchema>;

/** Completed create jobs by default, per lane: an hour, at most 10,000 (`CREATE_RETENTION`, `CREATE_RETENTION_COUNT`). */
export const CREATE_KEEP: KeepJobs = { age: 3600, count: 10_000 };

export function createJobOptions(attempts: number, backoffMs: number, keep: KeepJobs = CREATE_KEEP): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs, jitter: 0.5 },
    // Completed jobs go by age and count: the invoice record, not the job, is what prevents a
    // second create, and a job costs about 1.2 KB of Redis. Failed ones are accepted work waiting
    // for an operator: they stay until an operator retries or removes them, whatever the retention.
    removeOnComplete: keep,
    removeOnFail: false,
  };
}

export type CreateQueue = Queue<CreateJob, unknown, string>;

export function createCreateQueue(connection: ConnectionOptions, prefix: string, lane: string, attempts = 10, backoffMs = 2000, keep: KeepJobs = CREATE_KEEP): CreateQueue {
  return new Queue<CreateJob, unknown, string>(createQueueName(lane), {
    connection,
    prefix,
    defaultJobOptions: createJobOptions(attempts, backoffMs, keep),
  });
}

/** `create.<lane>.<encoded foreign_id>`: unchanged for default accounts, so older jobs keep their ids. */
export function createJobId(lane: string, foreignId: string): string {
  return jobId('create', lane, foreignId);
}

export function createJobLane(data: Pick<CreateJob, 'provider' | 'account'>): string {
  return laneKey(data.provider, data.account);
}

/** Enqueues (idempotently) the create job of one order. */
export async function enqueueCreate(queue: CreateQueue, data: CreateJob): Promise<void> {
  const parsed = CreateJobSchema.parse(data);
  await queue.add('create', parsed, { jobId: createJobId(createJobLane(parsed), parsed.foreign_id) });
}

export async function enqueueCreateBulk(queue: CreateQueue, items: CreateJob[]): Promise<void> {
  if (!items.length) return;
  await queue.addBulk(
    items.map((data) => ({
      name: 'create',
      data: CreateJobSchema.parse(data),
      opts: { jobId: createJobId(createJobLane(data), data.foreign_id) },
    })),
  );
}
