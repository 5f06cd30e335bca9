/**
 * `invoice-poll.<lane>`: one queue per lane, one delayed job per open invoice from its first poll
 * on (before that it waits in the lane's poll index: src/invoice/polling.ts `schedulePoll`), id
 * derived from (lane, foreign_id); each lane's lookups have their own limiter. The processor moves
 * the same job back to delayed until the invoice is terminal, so there is never a sweep over every
 * invoice and never two polls of one invoice.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { z } from 'zod';
import { jobId } from '../src/ids.ts';
import { OrderRefSchema } from '../src/invoice/order.ts';
import type { InvoiceRecord } from '../src/invoice/record.ts';
import { DEFAULT_ACCOUNT, laneKey } from '../src/lanes/key.ts';

export const POLL_QUEUE = 'invoice-poll';

export function pollQueueName(lane: string): string {
  return `${POLL_QUEUE}.${lane}`;
}

/** Job data of `invoice-poll.<lane>`, v1: the invoice's identity only, as its create job carries it; its state lives in the record. */
export const PollJobSchema = OrderRefSchema;
export type PollJob = z.infer<typeof PollJobSchema>;

export type PollQueue = Queue<PollJob, unknown, string>;

export function createPollQueue(connection: ConnectionOptions, prefix: string, lane: string): PollQueue {
  return new Queue<PollJob, unknown, string>(pollQueueName(lane), {
    connection,
    prefix,
    defaultJobOptions: {
      // Only unexpected errors spend attempts (provider errors just reschedule); once spent, the
      // job stays in the failed set for an operator (BullMQ keeps failed jobs unless told
      // otherwise; not spelling out `removeOnFail: false` saves its bytes in every poll job, which
      // lives as long as its invoice is open).
      attempts: 5,
      backoff: { type: 'exponential', delay: 5000, jitter: 0.5 },
      // Gone once the invoice is terminal, so a later schedule for the same id is never swallowed.
      removeOnComplete: true,
    },
  });
}

export function pollJobId(lane: string, foreignId: string): string {
  return jobId('poll', lane, foreignId);
}

export interface PollJobOf {
  data: PollJob;
  jobId: string;
}

/** The poll job of an invoice: its data (`account` only for another than the default) and its id. */
export function pollJobOf(invoice: Pick<InvoiceRecord, 'provider' | 'account' | 'kind' | 'foreign_id'>): PollJobOf {
  const data: PollJob = { v: 1, provider: invoice.provider, kind: invoice.kind, foreign_id: invoice.foreign_id };
  if (invoice.account !== DEFAULT_ACCOUNT) data.account = invoice.account;
  return { data, jobId: pollJobId(laneKey(invoice.provider, invoice.account), invoice.foreign_id) };
}

/** Schedules the invoice's poll, after `delayMs` if given (idempotent: an existing poll job for it is left as it is). */
export async function enqueuePoll(queue: PollQueue, data: PollJob, delayMs?: number): Promise<void> {
  const parsed = PollJobSchema.parse(data);
  await queue.add('poll', parsed, {
    jobId: pollJobId(laneKey(parsed.provider, parsed.account), parsed.foreign_id),
    ...(delayMs === undefined ? {} : { delay: Math.max(0, Math.round(delayMs)) }),
  });
}

/** Adds the poll jobs of these invoices now, in one round trip (idempotent, as `enqueuePoll`). */
export async function enqueuePollBulk(queue: PollQueue, items: readonly PollJob[]): Promise<void> {
  if (!items.length) return;
  await queue.addBulk(
    items.map((data) => {
      const parsed = PollJobSchema.parse(data);
      return { name: 'poll', data: parsed, opts: { jobId: pollJobId(laneKey(parsed.provider, parsed.account), parsed.foreign_id) } };
    }),
  );
}
