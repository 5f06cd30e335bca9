/**
 * `result-webhooks`: one job per (endpoint, result), id `wh.<endpoint>.<event_id>`, so a result
 * relayed twice is delivered as one job; an operator's redelivery is a job of its own. Retries
 * follow a fixed schedule over about a day (or the endpoint's `Retry-After`, when longer), then
 * the job stays in the failed set, the endpoint is disabled, and an operator can redeliver.
 */
import { Queue, type ConnectionOptions, type JobsOptions, type KeepJobs } from 'bullmq';
import { z } from 'zod';
import { encodeForeignId } from '../src/ids.ts';

export const WEBHOOKS_QUEUE = 'result-webhooks';

/** Waits before attempt 2, 3, ...: 10 s, 1 min, 5 min, 30 min, 1 h, 3 h, 6 h, 12 h (about 23 h in all). */
export const RETRY_SCHEDULE_MS = [10_000, 60_000, 300_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000] as const;

/** Job data of `result-webhooks`, v1: what to deliver; the body is the result itself, read when sending. */
export const WebhookJobSchema = z.strictObject({
  v: z.literal(1),
  endpoint: z.string().regex(/^[a-z0-9_-]{1,64}$/),
  event_id: z.string().min(1).max(1200),
  /** `<lane>.<encoded foreign_id>`: deliveries of one invoice to one endpoint go in order. */
  invoice: z.string().min(1).max(700),
  /** The event of the same invoice enqueued for this endpoint just before this one, if any. */
  after: z.string().min(1).max(1200).nullable(),
  /** Set on an operator's redelivery: who asked. */
  redelivery: z.string().max(100).optional(),
});
export type WebhookJob = z.infer<typeof WebhookJobSchema>;

export type WebhooksQueue = Queue<WebhookJob, unknown, string>;

/** Delivered jobs by default: 8 days (the delivery log's span), at most 100,000 (`WEBHOOK_RETENTION`, `WEBHOOK_RETENTION_COUNT`). */
export const WEBHOOK_KEEP: KeepJobs = { age: 8 * 24 * 3600, count: 100_000 };

export function webhookJobOptions(keep: KeepJobs = WEBHOOK_KEEP): JobsOptions {
  return {
    attempts: RETRY_SCHEDULE_MS.length + 1,
    backoff: { type: 'schedule' },
    removeOnComplete: keep,
    // Given up for good: the endpoint is disabled and an operator redelivers from here.
    removeOnFail: false,
  };
}

export function createWebhooksQueue(connection: ConnectionOptions, prefix: string, keep: KeepJobs = WEBHOOK_KEEP): WebhooksQueue {
  return new Queue<WebhookJob, unknown, string>(WEBHOOKS_QUEUE, { connection, prefix, defaultJobOptions: webhookJobOptions(keep) });
}

export function webhookJobId(endpoint: string, eventId: string, redelivery?: string): string {
  return `wh.${endpoint}.${encodeForeignId(eventId)}${redelivery ? `.r${redelivery}` : ''}`;
}
