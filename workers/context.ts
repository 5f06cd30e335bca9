import type { ConnectionOptions, WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { OutboxRelay } from '../src/invoice/relay.ts';
import type { InvoiceRecord, InvoiceStore } from '../src/invoice/store.ts';
import type { ProviderId } from '../src/invoice/order.ts';
import type { ProviderAdapter } from '../src/providers/types.ts';

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
  /** Overrides for tests (stalled interval, lock duration). */
  workerOptions?: Partial<WorkerOptions>;
}
