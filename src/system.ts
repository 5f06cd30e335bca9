/**
 * Composition root: builds the store, queues, adapters, relay, intake, workers and HTTP app from
 * a config and a Redis URL. `main.ts` runs it for a role; the integration tests run the same code
 * on their own queue prefix.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createCreateQueue, type CreateQueue } from '../queues/create.ts';
import { createResultsQueue, resultJobId, type ResultsQueue } from '../queues/results.ts';
import { startWorkers, type RunningWorkers } from '../workers/index.ts';
import type { Config } from './config.ts';
import { createApp } from './http/app.ts';
import { Intake } from './invoice/intake.ts';
import { OutboxRelay } from './invoice/relay.ts';
import { InvoiceStore, type InvoiceRecord } from './invoice/store.ts';
import { createHttpClient, type HttpClient } from './providers/http.ts';
import { createAdapters } from './providers/registry.ts';
import { connect } from './redis.ts';

export type Role = 'all' | 'api' | 'worker';

export interface SystemOptions {
  config: Readonly<Config>;
  redisUrl: string;
  log: Logger;
  role?: Role;
  /** Test overrides for BullMQ worker timing (stalled checks). */
  workerOptions?: Partial<WorkerOptions>;
  sweep?: { intervalMs?: number; graceMs?: number };
  http?: HttpClient;
}

export interface System {
  redis: Redis;
  store: InvoiceStore;
  createQueue: CreateQueue;
  resultsQueue: ResultsQueue;
  relay: OutboxRelay;
  intake: Intake;
  workers?: RunningWorkers;
  server?: Server;
  url?: string;
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startSystem(opts: SystemOptions): Promise<System> {
  const { config, log } = opts;
  const role = opts.role ?? 'all';
  const redis = connect(opts.redisUrl);
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  const prefix = config.QUEUE_PREFIX;
  const store = new InvoiceStore(redis, prefix, resultJobId);
  const createQueue = createCreateQueue(redis, prefix, config.CREATE_ATTEMPTS, config.CREATE_BACKOFF_MS);
  const resultsQueue = createResultsQueue(redis, prefix);
  const relay = new OutboxRelay(store, resultsQueue, log.child({ component: 'relay' }));
  const http = opts.http ?? createHttpClient({ connectTimeoutMs: config.HTTP_CONNECT_TIMEOUT_MS, responseTimeoutMs: config.HTTP_RESPONSE_TIMEOUT_MS });
  const adapters = createAdapters(config.providers, { http });
  const intake = new Intake(store, createQueue, adapters);
  const publicBase = (config.PUBLIC_BASE_URL ?? `http://127.0.0.1:${config.PORT}`).replace(/\/+$/, '');
  const callbackUrl = (record: InvoiceRecord): string | undefined =>
    record.provider === 'cryptosteroid' ? `${publicBase}/webhooks/cryptosteroid/${encodeURIComponent(record.id)}` : undefined;

  let workers: RunningWorkers | undefined;
  if (role === 'all' || role === 'worker') {
    workers = startWorkers(
      {
        connection: redis,
        prefix,
        log,
        store,
        relay,
        adapters,
        concurrency: config.CREATE_CONCURRENCY,
        rateLimitDelayMs: config.RATE_LIMIT_DELAY_MS,
        callbackUrl,
        workerOptions: {
          lockDuration: config.WORKER_LOCK_DURATION_MS,
          stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
          maxStalledCount: 3,
          ...opts.workerOptions,
        },
      },
      createQueue,
      { sweepIntervalMs: opts.sweep?.intervalMs, sweepGraceMs: opts.sweep?.graceMs },
    );
  }

  const system: System = {
    redis,
    store,
    createQueue,
    resultsQueue,
    relay,
    intake,
    workers,
    async listen(port, host = '127.0.0.1') {
      const app = createApp({ intake, store, createQueue, redis, log, apiToken: config.API_TOKEN });
      const server = app.listen(port, host);
      await new Promise<void>((resolve, reject) => {
        server.once('listening', resolve);
        server.once('error', reject);
      });
      system.server = server;
      const addr = server.address() as AddressInfo;
      system.url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`;
      return system.url;
    },
    async close() {
      if (system.server) {
        const server = system.server;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await closed;
      }
      await workers?.close();
      await relay.close();
      await Promise.all([createQueue.close(), resultsQueue.close()]);
      await http.close();
      redis.disconnect();
    },
  };
  return system;
}
