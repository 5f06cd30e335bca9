/**
 * Prometheus metrics, on a registry of their own (one per system, so tests can run several).
 * Counters and histograms are fed by the code paths that see the event; queue and store sizes
 * are read from Redis when Prometheus scrapes, so every process reports the same global numbers
 * (aggregate them with `max`, not `sum`).
 */
import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import { DURABLE_POINTS } from '../redis/durability.ts';
import type { OutboxEntry } from '../invoice/outbox.ts';
import type { InvoiceStore } from '../invoice/store.ts';
import { TERMINAL } from '../invoice/state.ts';
import { describeLane, type Lanes } from '../lanes/lane.ts';
import type { HttpRequest } from '../providers/http.ts';
import { within } from '../background/within.ts';

const P = 'invoice_worker_';
/** A scrape must answer even while Redis hangs: Redis-backed gauges give up after this. */
const COLLECT_TIMEOUT_MS = 2000;
const JOB_STATES = ['wait', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;

export type RetryVia = 'api' | 'cli' | 'bull-board' | 'invoice-page';

export interface Metrics {
  readonly registry: Registry;
  /** One create-job outcome (created, done, parked, rejected, auth_error, retry, rate-limited), per lane. */
  submission(provider: string, outcome: string, lane?: string): void;
  /** A lane was told to wait: a provider rate limit, or a capacity limit of the account (e.g. unpaid invoices). */
  laneThrottled(lane: string, cause: 'rate_limit' | 'capacity'): void;
  /** A lane's circuit breaker opened (or a probe failed and it stayed open). */
  breakerOpened(lane: string): void;
  /** One result webhook attempt: delivered, http_<status>, no_answer, or endpoint_disabled. */
  webhookDelivery(endpoint: string, outcome: string): void;
  /** The provider HTTP client's `onResponse` hook. */
  providerResponse(req: Pick<HttpRequest, 'provider' | 'method'>, res: { status: number | 'error'; durationMs: number }): void;
  /** A callback refused at the edge (bad or missing signature/token, malformed body). */
  callbackRejected(provider: string, reason: string): void;
  /** An authentic callback that is not about an invoice (deposit, withdrawal, exchange...): acknowledged, not applied. */
  foreignCallback(type: string): void;
  /** A failed authentication (wrong credentials presented) on one surface. */
  authFailure(surface: 'api' | 'admin' | 'metrics'): void;
  /** Submissions an operator sent back to the queue. */
  operatorRetry(via: RetryVia, count?: number): void;
  /** The relay's hook: results just published to `invoice-results`. */
  observePublished(entries: readonly OutboxEntry[]): void;
  render(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  /** Every queue of the system; read on each scrape, so queues added to the list later count too. */
  queues: readonly Queue[];
  store: InvoiceStore;
  /** Every lane: breaker state, waiting orders and oldest wait are read per lane at scrape time. */
  lanes?: Lanes;
  log: Logger;
  /** Process metrics (CPU, memory, event loop lag). */
  defaultMetrics?: boolean;
}

/** A read for a scrape, bounded so a Redis that never answers cannot hold the scrape. */
function collected<T>(p: Promise<T>, what: string): Promise<T> {
  return within(p, COLLECT_TIMEOUT_MS, what);
}

export function createMetrics(opts: MetricsOptions): Metrics {
  const { store, log } = opts;
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const submissions = new Counter({
    name: `${P}submissions_total`,
    help: 'Create-job outcomes by provider and lane (auth_error: the provider refused our credentials).',
    labelNames: ['provider', 'outcome', 'lane'] as const,
    registers: [registry],
  });
  const throttled = new Counter({
    name: `${P}lane_throttled_total`,
    help: 'Throttled create answers per lane: cause rate_limit (429) or capacity (the account is at a provider limit, e.g. unpaid invoices).',
    labelNames: ['lane', 'cause'] as const,
    registers: [registry],
  });
  const webhookDeliveries = new Counter({
    name: `${P}webhook_deliveries_total`,
    help: 'Result webhook attempts per endpoint: delivered, http_<status>, no_answer; endpoint_disabled when one kept failing for a day.',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [registry],
  });
  const breakerOpens = new Counter({
    name: `${P}lane_breaker_opened_total`,
    help: 'Times a lane circuit breaker opened, or stayed open after a failed probe.',
    labelNames: ['lane'] as const,
    registers: [registry],
  });
  // Durability mode only (src/redis/durability.ts): this process's count, read from its Durability on scrape.
  const durability = store.durability;
  if (durability) {
    new Counter({
      name: `${P}durability_shortfall_total`,
      help: 'Durability mode: writes a replica did not confirm in time (WAIT fell short, the connection changed under it, or it failed), by point: accept (answered 503), submit (not sent; the job retries), created and terminal (kept, not held back), settle (the relay waits and retries). Each caller counted.',
      labelNames: ['point'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const point of DURABLE_POINTS) this.inc({ point }, durability.shortfallsAt[point]);
      },
    });
  }
  if (opts.lanes && opts.lanes.size) {
    const lanes = opts.lanes;
    // One read of every lane per scrape, shared by the three gauges below.
    let pending: Promise<Awaited<ReturnType<typeof describeLane>>[]> | undefined;
    const read = (): Promise<Awaited<ReturnType<typeof describeLane>>[]> => {
      pending ??= collected(Promise.all([...lanes.values()].map((l) => describeLane(l, Date.now(), (k) => store.unpaidCount(k)))), 'lane status').finally(() => {
        setImmediate(() => {
          pending = undefined;
        });
      });
      return pending;
    };
    const BREAKER_STATES = ['closed', 'half-open', 'open'] as const;
    new Gauge({
      name: `${P}lane_breaker_state`,
      help: 'Circuit breaker of each lane: 1 for its current state (closed, half-open, open).',
      labelNames: ['lane', 'state'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const all = await read().catch(() => []);
        for (const l of all) for (const state of BREAKER_STATES) this.set({ lane: l.lane, state }, l.breaker === state ? 1 : 0);
      },
    });
    new Gauge({
      name: `${P}lane_waiting_orders`,
      help: 'Orders of each lane waiting to be sent (waiting, backing off, or held by a limit or an open breaker).',
      labelNames: ['lane'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const l of await read().catch(() => [])) this.set({ lane: l.lane }, l.waiting);
      },
    });
    new Gauge({
      name: `${P}lane_paused_seconds`,
      help: 'How much longer each lane stays paused by a provider limit or an open breaker (0: sending).',
      labelNames: ['lane'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const l of await read().catch(() => [])) this.set({ lane: l.lane }, l.paused_seconds);
      },
    });
    new Gauge({
      name: `${P}lane_unpaid_invoices`,
      help: 'Unpaid invoices each capped lane holds (created or pending, or reserved for a create on its way); it never sends past its cap.',
      labelNames: ['lane'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const l of await read().catch(() => [])) if (l.unpaid !== undefined) this.set({ lane: l.lane }, l.unpaid);
      },
    });
    new Gauge({
      name: `${P}lane_oldest_wait_seconds`,
      help: 'How long the oldest waiting order of each lane has waited.',
      labelNames: ['lane'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const l of await read().catch(() => [])) this.set({ lane: l.lane }, l.oldest_wait_seconds);
      },
    });
  }
  const providerLatency = new Histogram({
    name: `${P}provider_http_request_duration_seconds`,
    help: 'Provider HTTP exchanges, send to full body; status is the HTTP status or "error" (no answer).',
    labelNames: ['provider', 'method', 'status'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30],
    registers: [registry],
  });
  const callbackFailures = new Counter({
    name: `${P}callback_verification_failures_total`,
    help: 'Callbacks refused because their signature or token did not verify, or the body was malformed.',
    labelNames: ['provider', 'reason'] as const,
    registers: [registry],
  });
  const foreignCallbacks = new Counter({
    name: `${P}foreign_callbacks_total`,
    help: 'Authentic callbacks that are not about an invoice (deposit, deposit_exchange, withdrawal, withdrawal_exchange, exchange, unknown): answered 200, changed nothing.',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: `${P}operator_retries_total`,
    help: 'Submissions sent back to the queue by an operator.',
    labelNames: ['via'] as const,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: `${P}auth_failures_total`,
    help: 'Failed authentications by surface (api, admin, metrics).',
    labelNames: ['surface'] as const,
    registers: [registry],
  });
  const acceptToCreated = new Histogram({
    name: `${P}accept_to_created_seconds`,
    help: 'From accepting an order to the provider creating its invoice.',
    labelNames: ['provider'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });
  const createdToTerminal = new Histogram({
    name: `${P}created_to_terminal_seconds`,
    help: 'From invoice creation to its terminal status (paid, expired, failed, cancelled).',
    labelNames: ['provider', 'status'] as const,
    buckets: [10, 60, 300, 900, 1800, 3600, 7200, 21600, 86400, 259200],
    registers: [registry],
  });

  new Gauge({
    name: `${P}redis_up`,
    help: '1 when Redis answered a PING during this scrape.',
    registers: [registry],
    async collect() {
      this.set(
        await collected(store.ping(), 'redis ping').then(
          () => 1,
          () => 0,
        ),
      );
    },
  });
  // Both from one INFO per scrape: the headroom alert divides them (deploy/prometheus/alerts.yml).
  let memory: Promise<{ used: number; max: number } | null> | undefined;
  const readMemory = (): Promise<{ used: number; max: number } | null> => {
    memory ??= collected(store.memory(), 'redis memory')
      .catch(() => null)
      .finally(() => {
        setImmediate(() => {
          memory = undefined;
        });
      });
    return memory;
  };
  new Gauge({
    name: `${P}redis_memory_used_bytes`,
    help: 'Memory Redis uses (INFO used_memory); on a Cluster, of the master closest to its maxmemory.',
    registers: [registry],
    async collect() {
      const m = await readMemory();
      if (m) this.set(m.used);
    },
  });
  new Gauge({
    name: `${P}redis_memory_max_bytes`,
    help: 'The maxmemory Redis is configured with (0: no limit, which a queue store should not run with).',
    registers: [registry],
    async collect() {
      const m = await readMemory();
      if (m) this.set(m.max);
    },
  });
  new Gauge({
    name: `${P}queue_jobs`,
    help: 'Jobs per queue and state, read from Redis at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const all = await collected(Promise.all(opts.queues.map(async (q) => [q.name, await q.getJobCounts(...JOB_STATES)] as const)), 'queue counts');
        for (const [queue, counts] of all) {
          for (const state of JOB_STATES) this.set({ queue, state }, counts[state] ?? 0);
        }
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'metrics: could not read queue counts');
      }
    },
  });
  new Gauge({
    name: `${P}outbox_pending`,
    help: 'Results recorded but not yet published to invoice-results (relay backlog).',
    registers: [registry],
    async collect() {
      this.set(await collected(store.outboxLength(), 'outbox length').catch(() => 0));
    },
  });
  new Gauge({
    name: `${P}outbox_oldest_seconds`,
    help: 'Age of the oldest unpublished result (relay lag); 0 when the outbox is empty.',
    registers: [registry],
    async collect() {
      const oldest = await collected(store.oldestOutboxAt(), 'outbox head').catch(() => null);
      this.set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    },
  });
  new Gauge({
    name: `${P}reconciliation_pending`,
    help: 'Orders parked for an operator (outcome unknown, duplicate at the provider).',
    registers: [registry],
    async collect() {
      this.set(await collected(store.parkedCount(), 'reconciliation list').catch(() => 0));
    },
  });
  new Gauge({
    name: `${P}first_polls_scheduled`,
    help: 'Open invoices waiting for their first poll in the poll index (each gets its poll job when that falls due).',
    registers: [registry],
    async collect() {
      this.set(await collected(store.pollIndexCount([...(opts.lanes?.keys() ?? [])]), 'poll index').catch(() => 0));
    },
  });
  new Gauge({
    name: `${P}queued_orders`,
    help: 'Orders accepted and not yet at the provider (includes failed submissions awaiting a retry).',
    registers: [registry],
    async collect() {
      this.set(await collected(store.queuedCount(), 'queued index').catch(() => 0));
    },
  });

  const exceptions = new Counter({
    name: `${P}exceptions_total`,
    help: 'Exceptions published: provider news about money or status for an invoice already finished (payment_after_end, paid_after_end, ...).',
    labelNames: ['provider', 'type'] as const,
    registers: [registry],
  });
  const parkedTotal = new Counter({
    name: `${P}parked_total`,
    help: 'Orders announced as parked for an operator.',
    labelNames: ['provider'] as const,
    registers: [registry],
  });

  /** Lifecycle timings from what the outbox entry carries: no Redis read per published result. */
  function observe(entries: readonly OutboxEntry[]): void {
    for (const e of entries) {
      const provider = String(e.data.provider);
      if (e.data.event === 'exception') {
        exceptions.inc({ provider, type: String((e.data.exception as { type?: string } | undefined)?.type ?? 'unknown') });
        continue;
      }
      if (e.data.event === 'parked') {
        parkedTotal.inc({ provider });
        continue;
      }
      const at = Date.parse(String(e.data.occurred_at));
      if (!e.meta || !Number.isFinite(at)) continue;
      if (e.name === 'created') {
        const from = Date.parse(e.meta.accepted_at);
        if (Number.isFinite(from)) acceptToCreated.observe({ provider }, Math.max(0, (at - from) / 1000));
      } else if (TERMINAL.has(e.name) && e.data.previous_status !== 'queued' && e.meta.opened_at !== null) {
        // From the moment the invoice existed at the provider (left `queued`) to its end.
        createdToTerminal.observe({ provider, status: e.name }, Math.max(0, (at - e.meta.opened_at) / 1000));
      }
    }
  }

  return {
    registry,
    contentType: registry.contentType,
    submission(provider, outcome, lane = provider) {
      submissions.inc({ provider, outcome, lane });
    },
    laneThrottled(lane, cause) {
      throttled.inc({ lane, cause });
    },
    breakerOpened(lane) {
      breakerOpens.inc({ lane });
    },
    webhookDelivery(endpoint, outcome) {
      webhookDeliveries.inc({ endpoint, outcome });
    },
    providerResponse(req, res) {
      providerLatency.observe({ provider: req.provider, method: req.method, status: String(res.status) }, res.durationMs / 1000);
    },
    callbackRejected(provider, reason) {
      callbackFailures.inc({ provider, reason });
    },
    foreignCallback(type) {
      foreignCallbacks.inc({ type });
    },
    authFailure(surface) {
      authFailures.inc({ surface });
    },
    operatorRetry(via, count = 1) {
      if (count > 0) retries.inc({ via }, count);
    },
    observePublished(entries) {
      try {
        observe(entries);
      } catch (err) {
        // Metrics must never hold up or break publishing.
        log.debug({ err: (err as Error).message }, 'metrics: could not observe published results');
      }
    },
    render: () => registry.metrics(),
  };
}
