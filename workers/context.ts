/**
 * What the worker role's processors are given (the system builds it, a test builds its own): the
 * connections, store, relay and lanes, and the settings of each worker.
 */
import type { ConnectionOptions, WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { OutboxRelay } from '../src/invoice/relay.ts';
import type { InvoiceRecord, InvoiceStore } from '../src/invoice/store.ts';
import type { TrackSettings } from '../src/invoice/track.ts';
import type { Lanes } from '../src/lanes/lane.ts';
import type { Metrics } from '../src/ops/metrics.ts';
import type { ResultsQueue } from '../queues/results.ts';
import type { EndpointStore } from '../src/results/endpoints.ts';
import type { Resolve } from '../src/results/target.ts';

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

/** What the result webhooks worker is given: where endpoints live, what is delivered, and how. */
export interface WebhookWorkerDeps {
  endpoints: EndpointStore;
  results: ResultsQueue;
  /** One deadline for a delivery's whole answer (headers and body together). */
  timeoutMs: number;
  concurrency: number;
  /** `WEBHOOK_ALLOW_PRIVATE`: deliveries may go to internal addresses (development). */
  allowPrivate?: boolean;
  /** Answers larger than this are cut (`PROVIDER_MAX_BODY_BYTES`). */
  maxBodyBytes?: number;
  /** Name resolution for the connect-time check (the system's resolver unless a test gives one). */
  resolve?: Resolve;
  /** The agent requests go through (made from the settings above unless given). */
  dispatcher?: Dispatcher;
  /** Waits before each retry (queues/webhooks.ts RETRY_SCHEDULE_MS unless configured). */
  schedule?: readonly number[];
  metrics?: { webhookDelivery(endpoint: string, outcome: string): void };
}
