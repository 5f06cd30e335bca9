/**
 * What the worker role's processors are given (the system builds it, a test builds its own): the
 * connections, store, relay and lanes, and the settings of each worker.
 */
import type { ConnectionOptions, WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { OutboxRelay } from '../src/invoice/relay.ts';
import type { InvoiceRecord } from '../src/invoice/record.ts';
import type { InvoiceStore } from '../src/invoice/store.ts';
import type { TrackSettings } from '../src/invoice/track.ts';
import type { Lanes } from '../src/lanes/lane.ts';
import type { Metrics } from '../src/ops/metrics.ts';
import type { ResultsQueue } from '../queues/results.ts';
import type { DeliveryOptions } from '../src/results/delivery.ts';
import type { EndpointStore } from '../src/results/endpoints.ts';

/** What every processor gets: injected, so tests run the real processors on their own prefix. */
export interface WorkerContext {
  connection: ConnectionOptions;
  prefix: string;
  log: Logger;
  store: InvoiceStore;
  relay: OutboxRelay;
  /** Every lane of the system (callbacks may name any); `run` says which ones this process works. */
  lanes: Lanes;
  /** Lane keys whose create and poll queues this process works; undefined: all. */
  run?: readonly string[];
  rateLimitDelayMs: number;
  callbackUrl?: (record: InvoiceRecord) => string | undefined;
  metrics?: Pick<Metrics, 'submission' | 'laneThrottled' | 'breakerOpened'>;
  /** Tracking after creation: cadences and deadlines. */
  track: TrackSettings;
  eventsConcurrency: number;
  /** Result webhooks: where endpoints live and what is delivered (absent: no webhooks worker). */
  webhooks?: WebhookWorkerDeps;
  /** Overrides for tests (stalled interval, lock duration). */
  workerOptions?: Partial<WorkerOptions>;
}

/** What the result webhooks worker is given: where endpoints live, what is delivered, and how (src/results/delivery.ts). */
export interface WebhookWorkerDeps extends DeliveryOptions {
  endpoints: EndpointStore;
  results: ResultsQueue;
  concurrency: number;
  /** Waits before each retry (queues/webhooks.ts RETRY_SCHEDULE_MS unless configured). */
  schedule?: readonly number[];
  metrics?: { webhookDelivery(endpoint: string, outcome: string): void };
}
