/**
 * `invoice-events`: one job per authentic provider message (callback), stored before the webhook
 * answers 200. The job id comes from the provider's dedupe key (docs/providers.md 6.16), so a redelivered
 * or duplicated callback is one job. The job carries the normalized update, never the raw body:
 * callback bodies hold personal data (e.g. `end_user_email`, docs/providers.md 2.4) that Bull Board must
 * not show.
 */
import { Queue, type ConnectionOptions, type JobsOptions, type KeepJobs } from 'bullmq';
import { z } from 'zod';
import { encodeForeignId } from '../src/ids.ts';
import { ProviderMessageSchema } from '../src/invoice/track.ts';

export const EVENTS_QUEUE = 'invoice-events';

/** Job data of `invoice-events`, v1: a stored provider message (src/invoice/track.ts `ProviderMessage`). */
export const EventJobSchema = z.strictObject({
  v: z.literal(1),
  ...ProviderMessageSchema.shape,
  received_at: z.iso.datetime(),
});
export type EventJob = z.infer<typeof EventJobSchema>;

export type EventsQueue = Queue<EventJob, unknown, string>;

/** Completed callback jobs by default: a day, at most 200,000 (`EVENTS_RETENTION`, `EVENTS_RETENTION_COUNT`). */
export const EVENTS_KEEP: KeepJobs = { age: 24 * 3600, count: 200_000 };

export function eventJobOptions(attempts: number, backoffMs: number, keep: KeepJobs = EVENTS_KEEP): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs, jitter: 0.5 },
    // Kept a while so redeliveries inside that window are still the same job; a later one is a
    // new job whose transition the state machine ignores as a duplicate. Failed ones (an event for
    // an invoice nobody knows) wait for an operator, whatever the retention.
    removeOnComplete: keep,
    removeOnFail: false,
  };
}

export function createEventsQueue(connection: ConnectionOptions, prefix: string, attempts = 8, backoffMs = 2000, keep: KeepJobs = EVENTS_KEEP): EventsQueue {
  return new Queue<EventJob, unknown, string>(EVENTS_QUEUE, { connection, prefix, defaultJobOptions: eventJobOptions(attempts, backoffMs, keep) });
}

/** `event.<lane>.<encoded dedupe key>`: dedupe keys hold `:`, which job ids may not. */
export function eventJobId(lane: string, dedupeKey: string): string {
  return `event.${lane}.${encodeForeignId(dedupeKey)}`;
}
