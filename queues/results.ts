/**
 * `invoice-results`: one job per state transition, for order systems to consume. Job `name` is
 * the new status; the id is deterministic per (provider, foreign_id, status), so a transition
 * relayed twice (e.g. after a crash mid-relay) is stored once.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { jobId } from '../src/ids.ts';
import type { InvoiceResult } from '../src/invoice/result.ts';

// The result contract (v1) lives with the invoice domain, which builds every result and checks it
// against the schema there (src/invoice/store.ts); consumers import it from here or from there.
export { ResultSchema, type InvoiceResult } from '../src/invoice/result.ts';

export const RESULTS_QUEUE = 'invoice-results';

export type ResultsQueue = Queue<InvoiceResult, unknown, string>;

export function createResultsQueue(connection: ConnectionOptions, prefix: string): ResultsQueue {
  return new Queue<InvoiceResult, unknown, string>(RESULTS_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      // Kept a week after a consumer completes them: long enough that a re-relayed transition
      // still finds its id and is not stored twice.
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: false,
    },
  });
}

/** `result.<lane>.<encoded foreign_id>.<status>`: unchanged for default accounts. */
export function resultJobId(lane: string, foreignId: string, status: string): string {
  return jobId('result', lane, foreignId, status);
}
