/**
 * `invoice-results`: one job per state transition, for order systems to consume. Job `name` is
 * the new status; the id is deterministic per (provider, foreign_id, status), so a transition
 * relayed twice (e.g. after a crash mid-relay) is stored once.
 */
import { Queue, type ConnectionOptions, type KeepJobs } from 'bullmq';
import { jobId } from '../src/ids.ts';
import type { InvoiceResult } from '../src/invoice/result.ts';

// The result contract (v1) lives with the invoice domain, which builds every result and checks it
// against the schema there (src/invoice/store.ts); consumers import it from here or from there.
export { ResultSchema, type InvoiceResult } from '../src/invoice/result.ts';

export const RESULTS_QUEUE = 'invoice-results';

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
