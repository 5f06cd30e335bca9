/**
 * `invoice-results`: one job per state transition, for order systems to consume. Job `name` is
 * the new status; the id is deterministic per (provider, foreign_id, status), so a transition
 * relayed twice (e.g. after a crash mid-relay) is stored once.
 */
import { Queue, type ConnectionOptions, type KeepJobs } from 'bullmq';
import { z } from 'zod';
import { jobId } from '../src/ids.ts';
import { KINDS, ProviderName } from '../src/invoice/order.ts';
import { STATUSES } from '../src/invoice/state.ts';

export const RESULTS_QUEUE = 'invoice-results';

/**
 * The result contract, v1. Consumers should parse with this. Job `name` is `status`; the job id is
 * `result.<lane>.<encoded foreign_id>.<status>` for a transition and
 * `result.<lane>.<encoded foreign_id>.<exception|parked>.<id>` for an event, so each is stored once.
 */
export const ResultSchema = z.object({
  v: z.literal(1),
  event_id: z.string(),
  provider: ProviderName,
  /** The provider account (lane); `default` unless the order named another. Added in v1, so consumers may not rely on it for older results. */
  account: z.string().optional(),
  kind: z.enum(KINDS),
  foreign_id: z.string(),
  status: z.enum(STATUSES),
  previous_status: z.enum(STATUSES),
  provider_invoice_id: z.string().nullable(),
  payment_url: z.string().nullable(),
  amount: z.string(),
  currency: z.string(),
  received_amount: z.string().optional(),
  /** Currency of `received_amount`, as the provider reported it (may differ from `currency`). */
  received_currency: z.string().optional(),
  reason: z.string().optional(),
  occurred_at: z.iso.datetime(),
  /**
   * What this result is (added in v1; absent on results published before it means `transition`):
   * `transition`: the status moved from `previous_status` to `status`;
   * `exception`: a provider message about money or status for an invoice already finished
   * (`exception` says what; status does not move);
   * `parked`: the order waits for an operator (`parked` says why and what happens next).
   */
  event: z.enum(['transition', 'exception', 'parked']).optional(),
  exception: z
    .object({
      /** payment_after_end | paid_after_end | status_after_end | status_after_inferred_end */
      type: z.string(),
      provider_status: z.string(),
      received_amount: z.string().optional(),
      received_currency: z.string().optional(),
      reason: z.string().optional(),
    })
    .optional(),
  parked: z.object({ reason: z.string(), next: z.string() }).optional(),
});
export type InvoiceResult = z.infer<typeof ResultSchema>;

export type ResultsQueue = Queue<InvoiceResult, unknown, string>;

/** Completed results by default: a week, at most 100,000 (`RESULTS_RETENTION`, `RESULTS_RETENTION_COUNT`). */
export const RESULTS_KEEP: KeepJobs = { age: 7 * 24 * 3600, count: 100_000 };

export function createResultsQueue(connection: ConnectionOptions, prefix: string, keep: KeepJobs = RESULTS_KEEP): ResultsQueue {
  return new Queue<InvoiceResult, unknown, string>(RESULTS_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      // Kept for a while after a consumer completes them, so that a transition re-relayed after a
      // crash (seconds later) still finds its id and is not stored twice. The count bounds Redis
      // whatever the rate (about 1 KB a result); a re-relay beyond it is delivered again under the
      // same event_id, which consumers deduplicate. BullMQ applies the job's own option, whatever
      // the consuming Worker says.
      removeOnComplete: keep,
      // A result a consumer failed waits for someone to look at it.
      removeOnFail: false,
    },
  });
}

/** `result.<lane>.<encoded foreign_id>.<status>`: unchanged for default accounts. */
export function resultJobId(lane: string, foreignId: string, status: string): string {
  return jobId('result', lane, foreignId, status);
}
