/**
 * `invoice-create`: one job per accepted order, id derived from (provider, foreign_id), so a
 * duplicate enqueue can never make a second job. The order itself lives in the invoice record;
 * the job carries only its identity (no personal data in Bull Board).
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { z } from 'zod';
import { jobId } from '../src/ids.ts';
import { KINDS, PROVIDERS } from '../src/invoice/order.ts';

export const CREATE_QUEUE = 'invoice-create';

/** Job data of `invoice-create`, v1. */
export const CreateJobSchema = z.strictObject({
  v: z.literal(1),
  provider: z.enum(PROVIDERS),
  kind: z.enum(KINDS),
  foreign_id: z.string().min(1).max(255),
});
export type CreateJob = z.infer<typeof CreateJobSchema>;

export function createJobOptions(attempts: number, backoffMs: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs, jitter: 0.5 },
    // Completed jobs go after an hour (at most 10,000 kept): the invoice record, not the job, is
    // what prevents a second create, and a job costs about 1.2 KB of Redis. Failed ones stay until
    // an operator retries or removes them.
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: false,
  };
}

export type CreateQueue = Queue<CreateJob, unknown, string>;

export function createCreateQueue(connection: ConnectionOptions, prefix: string, attempts = 10, backoffMs = 2000): CreateQueue {
  return new Queue<CreateJob, unknown, string>(CREATE_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: createJobOptions(attempts, backoffMs),
  });
}

export function createJobId(provider: string, foreignId: string): string {
  return jobId('create', provider, foreignId);
}

/** Enqueues (idempotently) the create job of one order. */
export async function enqueueCreate(queue: CreateQueue, data: CreateJob): Promise<void> {
  const parsed = CreateJobSchema.parse(data);
  await queue.add('create', parsed, { jobId: createJobId(parsed.provider, parsed.foreign_id) });
}

export async function enqueueCreateBulk(queue: CreateQueue, items: CreateJob[]): Promise<void> {
  if (!items.length) return;
  await queue.addBulk(
    items.map((data) => ({
      name: 'create',
      data: CreateJobSchema.parse(data),
      opts: { jobId: createJobId(data.provider, data.foreign_id) },
    })),
  );
}
