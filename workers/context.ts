import type { ConnectionOptions, WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { OutboxRelay } from '../src/invoice/relay.ts';
import type { InvoiceRecord, InvoiceStore } from '../src/invoice/store.ts';
import type { ProviderId } from '../src/invoice/order.ts';
import type { ProviderAdapter } from '../src/providers/types.ts';
import type { TrackSettings } from '../src/invoice/track.ts';
import type { PollQueue } from '../queues/poll.ts';

/** What every processor gets: injected, so tests run the real processors on their own prefix. */
export interface WorkerContext {
  connection: ConnectionOptions;
  prefix: string;
  log: Logger;
  store: InvoiceStore;
  relay: OutboxRelay;
  adapters: Map<ProviderId, ProviderAdapter>;
  concurrency: number;
  rateLimitDelayMs: number;
  callbackUrl?: (record: InvoiceRecord) => string | undefined;
  metrics?: { submission(provider: string, outcome: string): void };
  /** Tracking after creation: where open invoices get their poll job, cadences and deadlines. */
  pollQueue: PollQueue;
  track: TrackSettings;
  eventsConcurrency: number;
  pollConcurrency: number;
  /** Bounds lookups across every process (BullMQ keeps the limiter per queue in Redis). */
  pollLimiter: { max: number; duration: number };
  /** Overrides for tests (stalled interval, lock duration). */
  workerOptions?: Partial<WorkerOptions>;
}
