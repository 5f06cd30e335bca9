/**
 * Composition root: builds the store, queues, adapters, relay, intake, workers and HTTP app from
 * a config and a Redis URL. `main.ts` runs it for a role; the integration tests run the same code
 * on their own queue prefix.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queue, Telemetry, WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { enqueueCreateBulk } from '../queues/create.ts';
import { createResultsQueue, resultJobId, type ResultsQueue } from '../queues/results.ts';
import { createEventsQueue, type EventsQueue } from '../queues/events.ts';
import { RETRY_SCHEDULE_MS, createWebhooksQueue, type WebhooksQueue } from '../queues/webhooks.ts';
import { createRepairsQueue, type RepairsQueue } from '../queues/repairs.ts';
import { ensureRepairTemplates } from './ops/repair-templates.ts';
import { EndpointStore } from './results/endpoints.ts';
import { fanOut } from './results/fanout.ts';
import { startWorkers, type RunningWorkers } from '../workers/index.ts';
import { KeyRing } from './access/api-keys.ts';
import { buildLane } from './lanes/build.ts';
import type { Config } from './config.ts';
import { createOpsApp } from './http/ops.ts';
import { Intake } from './invoice/intake.ts';
import { OutboxRelay } from './invoice/relay.ts';
import type { TrackSettings } from './invoice/track.ts';
import type { InvoiceRecord } from './invoice/record.ts';
import { InvoiceStore } from './invoice/store.ts';
import { laneKey, lanePrefix, lanesToRun } from './lanes/key.ts';
import { describeLane, type Lane, type LaneStatus, type Lanes } from './lanes/lane.ts';
import { createMetrics, type Metrics } from './ops/metrics.ts';
import { createHttpClient, type HttpClient } from './providers/http.ts';
import { providerModules, type ProviderModules } from './providers/registry.ts';
import { connect, connectionErrorLog, type RedisClient } from './redis/connect.ts';
import { Durability } from './redis/durability.ts';
import { RedisWatch } from './redis/watch.ts';

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
  /** Process metrics (CPU, memory) on /metrics; off in tests that start many systems. */
  defaultMetrics?: boolean;
  /** The providers this system knows (default: the registry's); a test may add one of its own. */
  providers?: ProviderModules;
  /** BullMQ telemetry (bullmq-otel) when tracing is on (src/observability/tracing.ts): every queue and worker gets it. */
  telemetry?: Telemetry;
}

export interface System {
  /** The producer API's keys (API_TOKEN, API_KEYS_FILE), once it listens; emits `reload` when the file was read again. */
  readonly keys: KeyRing | undefined;
  redis: RedisClient;
  store: InvoiceStore;
  /** Every lane (provider account) by key: `provider` for a default account, `provider@account` otherwise. */
  lanes: Lanes;
  /** The lane of a provider's default account, or of the given one; throws when it is not configured. */
  lane(provider: string, account?: string): Lane;
  /** Each lane's state: breaker, waiting orders, oldest wait. */
  laneStatus(): Promise<LaneStatus[]>;
  resultsQueue: ResultsQueue;
  /** Result webhook endpoints and their deliveries (`result-webhooks`). */
  endpoints: EndpointStore;
  webhooksQueue: WebhooksQueue;
  repairsQueue: RepairsQueue;
  /** Authentic callbacks, stored by the webhooks before they answer (`invoice-events`). */
  eventsQueue: EventsQueue;
  relay: OutboxRelay;
  intake: Intake;
  /** Every queue of the system, in the order Bull Board and /metrics show them. */
  queues: Queue[];
  metrics: Metrics;
  workers?: RunningWorkers;
  server?: Server;
  url?: string;
  listen(port: number, host?: string): Promise<string>;
  /** Stops HTTP intake, lets workers finish jobs in flight (up to `timeoutMs`), then closes connections. */
  close(timeoutMs?: number): Promise<void>;
}

export async function startSystem(opts: SystemOptions): Promise<System> {
  const { config, log } = opts;
  const role = opts.role ?? 'all';
  // Before anything connects: a lane LANES names must be one of the configured accounts.
  const run = lanesToRun(config.LANES, config.accounts);
  // Each connection is named after the prefix, as BullMQ names its workers' own: CLIENT LIST then
  // says whose every connection is (and a test finds the ones a stopped system left open).
  const redis = connect(opts.redisUrl, { connectionName: `${config.QUEUE_PREFIX}:queues` });
  redis.on('error', connectionErrorLog(log, 'redis connection error'));
  // The store's own connection, auto-pipelined: the reads and compare-and-sets that many jobs (or a
  // batch of orders) issue in one turn of the event loop leave in one write instead of one each.
  // Each caller still awaits its own command, so what one job does stays in order. BullMQ keeps
  // the plain connection above (its blocking connections are duplicates of it).
  const storeRedis = connect(opts.redisUrl, { enableAutoPipelining: true, connectionName: `${config.QUEUE_PREFIX}:store` }, { enableAutoPipelining: true });
  storeRedis.on('error', connectionErrorLog(log, 'redis connection error (store)'));
  const prefix = config.QUEUE_PREFIX;
  const modules = opts.providers ?? providerModules();
  // Retention of completed jobs: by age and count, from the configuration (docs/operations.md#retention).
  const resultsQueue = createResultsQueue(redis, prefix, { age: config.RESULTS_RETENTION, count: config.RESULTS_RETENTION_COUNT });
  const eventsQueue = createEventsQueue(redis, prefix, config.EVENTS_ATTEMPTS, config.EVENTS_BACKOFF_MS, { age: config.EVENTS_RETENTION, count: config.EVENTS_RETENTION_COUNT });
  // Filled below, once the HTTP client (which reports to the metrics) exists.
  let metrics: Metrics | undefined;
  const http =
    opts.http ??
    createHttpClient({
      connectTimeoutMs: config.HTTP_CONNECT_TIMEOUT_MS,
      responseTimeoutMs: config.HTTP_RESPONSE_TIMEOUT_MS,
      maxBodyBytes: config.PROVIDER_MAX_BODY_BYTES,
      onResponse: (req, res) => metrics?.providerResponse(req, res),
    });

  // One lane per configured account: its adapter, tuning, queues and breaker.
  const lanes = new Map<string, Lane>();
  for (const account of config.accounts) {
    const module = modules.get(account.provider);
    if (!module) throw new Error(`no provider ${account.provider} in the registry`);
    const lane = buildLane(account, module, { queues: redis, store: storeRedis, prefix, http, config });
    lanes.set(lane.key, lane);
  }
  const prefixOf = (lane: string): string => lanes.get(lane)?.prefix ?? lanePrefix(prefix, lane, config.LANE_HASH_TAGS);
  // DURABILITY=replica: WAIT on the store's own connection, where every store write goes (src/redis/durability.ts).
  if (config.DURABILITY === 'replica' && !(storeRedis instanceof Redis)) throw new Error('DURABILITY=replica is not supported on a Redis Cluster');
  const durability =
    config.DURABILITY === 'replica' && storeRedis instanceof Redis
      ? new Durability(storeRedis, {
          replicas: config.DURABILITY_REPLICAS,
          timeoutMs: config.DURABILITY_TIMEOUT_MS,
          fenceKey: `${prefix}:store:fence`,
          log: log.child({ component: 'durability' }),
        })
      : undefined;
  const store = new InvoiceStore({
    redis: storeRedis,
    prefix,
    resultId: resultJobId,
    prefixOf,
    lanePrefixes: [...lanes.values()].map((l) => l.prefix),
    durability,
    recordRetentionMs: config.RECORD_RETENTION * 1000,
  });
  // Register every queue here: Bull Board and the queue gauges on /metrics show exactly this list.
  // Result webhooks: registered endpoints (the one the environment names among them), and their deliveries.
  const webhooksQueue = createWebhooksQueue(redis, prefix, { age: config.WEBHOOK_RETENTION, count: config.WEBHOOK_RETENTION_COUNT });
  const endpoints = new EndpointStore(redis, prefix, config.WEBHOOK_ROTATION_GRACE_MS);
  if (config.RESULT_WEBHOOK_URL && config.RESULT_WEBHOOK_SECRET) {
    await endpoints.ensure({ id: 'configured', url: config.RESULT_WEBHOOK_URL, secret: config.RESULT_WEBHOOK_SECRET });
  }
  // Operators' repairs taken from Bull Board (its "Add job" on this queue).
  const repairsQueue = createRepairsQueue(redis, prefix);
  const queues: Queue[] = [...[...lanes.values()].flatMap((l) => [l.createQueue, l.pollQueue]), eventsQueue, resultsQueue, webhooksQueue, repairsQueue];
  // Without a listener BullMQ prints each connection error (every retry during a failover) to stderr, outside the log.
  for (const q of queues) q.on('error', (err) => log.debug({ err: err.message, queue: q.name }, 'queue connection error'));
  // BullMQ reads `opts.telemetry` at each call, so giving it here reaches every queue built above
  // without threading it through each queue's factory.
  if (opts.telemetry) for (const q of queues) q.opts.telemetry = opts.telemetry;
  metrics = createMetrics({ queues, store, lanes, log: log.child({ component: 'metrics' }), defaultMetrics: opts.defaultMetrics });
  const m = metrics;
  const relay = new OutboxRelay(store, resultsQueue, log.child({ component: 'relay' }), {
    onPublished: (entries) => m.observePublished(entries),
    fanout: (entries) => fanOut(endpoints, webhooksQueue, entries, (config.WEBHOOK_RETRY_SCHEDULE_MS ?? RETRY_SCHEDULE_MS).length + 1),
  });
  const intake = new Intake(store, lanes, (lane, orders) => enqueueCreateBulk((lanes.get(lane) as Lane).createQueue, orders));
  // Without PUBLIC_BASE_URL, where this process actually listens (known after listen()).
  // A worker-role process listens only for health and metrics: never a callback address.
  const ownUrl = (): string | undefined => (role === 'worker' ? undefined : system.url);
  const publicBase = (): string => (config.PUBLIC_BASE_URL ?? ownUrl() ?? `http://127.0.0.1:${config.PORT}`).replace(/\/+$/, '');
  // Providers that take a callback URL per order get this invoice's own route (src/http/callbacks.ts).
  const callbackUrl = (record: InvoiceRecord): string | undefined =>
    lanes.get(record.lane)?.adapter.callbacks === 'per-invoice' ? `${publicBase()}/webhooks/${record.provider}/${encodeURIComponent(record.id)}` : undefined;
  const track: TrackSettings = { pollIdleMs: config.POLL_IDLE_MS, graceMs: config.DEADLINE_GRACE_MS };
  const laneStatus = (): Promise<LaneStatus[]> => Promise.all([...lanes.values()].map((l) => describeLane(l, Date.now(), (k) => store.unpaidCount(k))));

  let workers: RunningWorkers | undefined;
  let watch: RedisWatch | undefined;
  if (role === 'all' || role === 'worker') {
    workers = startWorkers(
      {
        connection: redis,
        prefix,
        log,
        store,
        relay,
        lanes,
        run,
        rateLimitDelayMs: config.RATE_LIMIT_DELAY_MS,
        callbackUrl,
        metrics,
        track,
        eventsConcurrency: config.EVENTS_CONCURRENCY,
        webhooks: {
          endpoints,
          results: resultsQueue,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          concurrency: config.WEBHOOK_CONCURRENCY,
          allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
          maxBodyBytes: config.PROVIDER_MAX_BODY_BYTES,
          schedule: config.WEBHOOK_RETRY_SCHEDULE_MS,
          metrics: m,
        },
        workerOptions: {
          lockDuration: config.WORKER_LOCK_DURATION_MS,
          stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
          maxStalledCount: 3,
          ...(opts.telemetry ? { telemetry: opts.telemetry } : {}),
          ...opts.workerOptions,
        },
      },
      { sweepIntervalMs: opts.sweep?.intervalMs, sweepGraceMs: opts.sweep?.graceMs },
    );
  }

  let keyRing: KeyRing | undefined;
  const system: System = {
    get keys() {
      return keyRing;
    },
    redis,
    store,
    lanes,
    lane(provider, account) {
      const l = lanes.get(laneKey(provider, account));
      if (!l) throw new Error(`no lane ${laneKey(provider, account)} configured`);
      return l;
    },
    laneStatus,
    resultsQueue,
    endpoints,
    webhooksQueue,
    repairsQueue,
    eventsQueue,
    relay,
    intake,
    queues,
    metrics,
    workers,
    async listen(port, host = '127.0.0.1') {
      const workersRunning = workers ? () => workers.workers.every((w) => w.isRunning()) : undefined;
      // The app only pings Redis (readiness), which a Cluster answers too.
      const ops = { redis: redis as Redis, log, metrics: m, metricsToken: config.METRICS_TOKEN, workersRunning, laneStatus, authFailureLimit: config.AUTH_FAILURE_LIMIT };
      // The worker role serves only health and metrics; the producer API and Bull Board live on the
      // api role, and are not even loaded in a worker process (about 20 MB of its memory).
      const http = role === 'worker' ? undefined : await Promise.all([import('./http/app.ts'), import('./http/callbacks.ts')]);
      // API keys: API_TOKEN and the keys file, which is watched and read again when it changes.
      if (http) {
        keyRing?.close();
        keyRing = new KeyRing({ token: config.API_TOKEN, file: config.API_KEYS_FILE, knownProviders: [...modules.keys()], log: log.child({ component: 'auth' }) });
        watch = new RedisWatch({
          url: opts.redisUrl,
          connectionName: `${config.QUEUE_PREFIX}:watch`,
          log: log.child({ component: 'redis-watch' }),
          unavailableMs: config.REDIS_UNAVAILABLE_MS,
        }).start();
      }
      // The board's repair templates (src/ops/repair-templates.ts), where there is a board to show them.
      if (http && (config.ADMIN_USER || config.adminUsers.length || config.sandbox)) {
        await ensureRepairTemplates(repairsQueue, redis).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not add the repair templates'));
      }
      const app = !http
        ? createOpsApp(ops)
        : http[0].createApp({
            redisWatch: watch ? { watch, unavailableMs: config.REDIS_UNAVAILABLE_MS } : undefined,
            intake,
            store,
            lanes,
            track,
            apiToken: config.API_TOKEN,
            keys: keyRing,
            ...ops,
            // Provider callbacks: raw-body routes, mounted before the producer API's JSON parser.
            mount: (app) => void app.use(http[1].webhookRoutes({ lanes, store, eventsQueue, log, metrics: m })),
            webhookEndpoints: {
              endpoints,
              webhooks: webhooksQueue,
              results: resultsQueue,
              log: log.child({ component: 'webhooks' }),
              attempts: (config.WEBHOOK_RETRY_SCHEDULE_MS ?? RETRY_SCHEDULE_MS).length + 1,
              allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
            },
            admin: {
              queues,
              user: config.ADMIN_USER,
              password: config.ADMIN_PASSWORD,
              role: config.ADMIN_ROLE,
              users: config.adminUsers,
              sandbox: config.sandbox,
              lanes,
              log: log.child({ component: 'admin' }),
              metrics,
            },
          });
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
    async close(timeoutMs) {
      keyRing?.close();
      if (system.server) {
        // Intake stops first; a request still running after the bound is cut (its client retries).
        const server = system.server;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const cut = setTimeout(() => server.closeAllConnections(), Math.min(timeoutMs ?? 5000, 5000));
        await closed;
        clearTimeout(cut);
      }
      await workers?.close(timeoutMs);
      await relay.close();
      await Promise.all(queues.map((q) => q.close()));
      await http.close();
      await watch?.stop();
      storeRedis.disconnect();
      redis.disconnect();
    },
  };
  return system;
}
