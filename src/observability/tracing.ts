/**
 * OpenTelemetry tracing, off unless configured with the standard `OTEL_*` variables (README
 * "Tracing"). This file imports OpenTelemetry's types only, and every helper below is a plain pass
 * through until `startTracing` has run: with tracing off the SDK is never loaded, no span is made
 * and no header is added. `startTracing` loads the API, the SDK and bullmq-otel.
 *
 * One order is one trace. Its root is the producer's request (POST /v1/invoices, or the
 * producer's own span when it sends `traceparent`); BullMQ carries the context from each job's
 * producer to its consumer (bullmq-otel). Providers send no `traceparent` back, so the record
 * keeps the W3C traceparent of the request that accepted the order (`trace`), and what happens
 * later for that order is parented on it, not merely linked: the callback's server span (and its
 * `invoice-events` job), and each result published to `invoice-results` (with its webhook
 * deliveries). A result batch or a burst of callbacks mixes many orders, so each job carries its
 * own order's context instead of the batch's.
 *
 * Never recorded: request or response bodies, query strings, URL paths of our own routes (they
 * hold foreign ids and record ids; the route template is recorded), headers, client addresses,
 * any customer field. Spans carry ids, statuses, methods, hosts and HTTP status codes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, Span, Tracer } from '@opentelemetry/api';
import type { Telemetry } from 'bullmq';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';

type Env = Record<string, string | undefined>;

/** What the OTel spec's variables say about traces: on (with which exporter) or off. */
export function tracingFromEnv(env: Env = process.env): { exporter: 'otlp' | 'console' } | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const named = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (named.includes('none')) return undefined;
  if (named.includes('console') && !named.includes('otlp')) return { exporter: 'console' };
  if (named.includes('otlp')) return { exporter: 'otlp' };
  // Nothing named: on only when an OTLP endpoint is given (the spec's default exporter is OTLP,
  // but a worker must not start sending spans to localhost:4318 because nobody configured it).
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()) return { exporter: 'otlp' };
  return undefined;
}

export interface StartTracingOptions {
  /** `service.name` unless OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES) names one. */
  serviceName: string;
  env?: Env;
  /** Instead of the exporter the environment names (tests: an in-memory exporter, exported at once). */
  exporter?: SpanExporter;
}

export interface Tracing {
  /** For BullMQ's `telemetry` option of every Queue and Worker. */
  telemetry: Telemetry;
  /** Exports what is still buffered, then stops the SDK. */
  shutdown(): Promise<void>;
}

type Api = typeof import('@opentelemetry/api');

let tracer: Tracer | undefined;
/** The OpenTelemetry API, once tracing is started (set together with `tracer`). */
let otel: Api;

/** Whether tracing runs in this process. */
export function tracingActive(): boolean {
  return tracer !== undefined;
}

/** Loads and registers the SDK (a tracer provider with the W3C propagator and AsyncLocalStorage context). Once per process. */
export async function startTracing(opts: StartTracingOptions): Promise<Tracing> {
  if (tracer) throw new Error('tracing is already started in this process');
  const env = opts.env ?? process.env;
  const [api, { NodeTracerProvider }, { BatchSpanProcessor, SimpleSpanProcessor, ConsoleSpanExporter }, { resourceFromAttributes, detectResources, envDetector }, { BullMQOtel }] =
    await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/resources'),
      import('bullmq-otel'),
    ]);
  let processor: SpanProcessor;
  if (opts.exporter) processor = new SimpleSpanProcessor(opts.exporter);
  else if (tracingFromEnv(env)?.exporter === 'console') processor = new SimpleSpanProcessor(new ConsoleSpanExporter());
  else {
    // Endpoint, headers, timeout and compression come from OTEL_EXPORTER_OTLP_(TRACES_)* (read by the exporter).
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    processor = new BatchSpanProcessor(new OTLPTraceExporter());
  }
  // The environment's resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) wins over our default name.
  const resource = resourceFromAttributes({ 'service.name': opts.serviceName }).merge(detectResources({ detectors: [envDetector] }));
  // The sampler comes from OTEL_TRACES_SAMPLER / _ARG (default: parent-based, always on).
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  otel = api;
  tracer = api.trace.getTracer('invoice-worker');
  const queues = new BullMQOtel({ tracerName: 'bullmq' });
  return {
    telemetry: { contextManager: queues.contextManager, tracer: queueSpansOnly(queues.tracer) },
    async shutdown() {
      await provider.shutdown();
      tracer = undefined;
      api.trace.disable();
      api.context.disable();
      api.propagation.disable();
    },
  };
}

/**
 * BullMQ makes INTERNAL spans of its own housekeeping (each blocking fetch, stalled checks, lock
 * renewals, completing a job): a root trace every few seconds per worker, and noise in an order's
 * trace. Only its producer and consumer spans are kept; the others become non-recording spans
 * that carry their parent's context, so what BullMQ propagates through them (a retried job's
 * context, set while it is failed) still points at the attempt before.
 */
function queueSpansOnly(inner: Telemetry['tracer']): Telemetry['tracer'] {
  return {
    startSpan(name, options, ctx?: Context) {
      const { trace, context, SpanKind, INVALID_SPAN_CONTEXT } = otel;
      // BullMQ's SpanKind has OpenTelemetry's numbers (imported as a type only: the logger loads this file).
      if (Number(options?.kind) !== Number(SpanKind.INTERNAL)) return inner.startSpan(name, options, ctx);
      const parent = trace.getSpanContext(ctx ?? context.active());
      const span = trace.wrapSpanContext(parent ?? INVALID_SPAN_CONTEXT);
      return {
        setSpanOnContext: (c: Context) => trace.setSpan(c, span),
        setAttribute: () => undefined,
        setAttributes: () => undefined,
        addEvent: () => undefined,
        recordException: () => undefined,
        end: () => undefined,
      };
    },
  };
}

/** The W3C traceparent of the active span (stored on a record at accept), or undefined. */
export function activeTraceparent(): string | undefined {
  if (!tracer || !otel.trace.getActiveSpan()) return undefined;
  const carrier: Record<string, string> = {};
  otel.propagation.inject(otel.context.active(), carrier);
  return carrier.traceparent;
}

/** The context a stored traceparent names (a remote parent). */
function contextOf(traceparent: string | undefined): Context | undefined {
  return traceparent ? otel.propagation.extract(otel.ROOT_CONTEXT, { traceparent }) : undefined;
}

/**
 * Runs `fn` in the order's trace (its stored traceparent) when no span is active: work that a
 * timer starts for an order (a poll job the sweeper re-creates) still lands in that order's tree.
 * Inside a span (a job, an operator's request) that span stays the parent.
 */
export function inOrderTrace<T>(traceparent: string | undefined, fn: () => T): T {
  if (!tracer || !traceparent || otel.trace.getActiveSpan()) return fn();
  return otel.context.with(contextOf(traceparent) as Context, fn);
}

/** bullmq-otel's propagation metadata (JSON of the W3C carrier) for a job to be processed under `ctx`. */
function metadataOf(ctx: Context): string {
  const carrier: Record<string, string> = {};
  otel.propagation.inject(ctx, carrier);
  return JSON.stringify(carrier);
}

/**
 * Job options that put one job into the active context: for jobs added in a batch with other
 * orders' jobs (BullMQ would otherwise give every job of an `addBulk` the batch's context).
 */
export function jobTelemetry(): { telemetry?: { metadata: string } } {
  if (!tracer || !otel.trace.getActiveSpan()) return {};
  return { telemetry: { metadata: metadataOf(otel.context.active()) } };
}

function finish(span: Span, status: number | undefined, err?: unknown): void {
  if (status !== undefined) span.setAttribute('http.response.status_code', status);
  if (err !== undefined) span.setAttribute('error.type', String((err as { code?: unknown })?.code ?? (err as Error)?.name ?? 'error'));
  if (err !== undefined || (status !== undefined && status >= 500)) span.setStatus({ code: otel.SpanStatusCode.ERROR });
  span.end();
}

/**
 * An outgoing HTTP request (to a provider, or a result webhook) as a CLIENT span, with
 * `traceparent` for the receiver. `run` gets the headers to add; `statusOf` reads the answer.
 * The URL is recorded without its query string.
 */
export async function clientSpan<T>(method: string, url: URL, run: (headers: Record<string, string>) => Promise<T>, statusOf: (result: T) => number): Promise<T> {
  if (!tracer) return run({});
  const { trace, context, propagation, SpanKind } = otel;
  const span = tracer.startSpan(method, {
    kind: SpanKind.CLIENT,
    attributes: {
      'http.request.method': method,
      'server.address': url.hostname,
      'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      'url.full': `${url.origin}${url.pathname}`,
    },
  });
  const ctx = trace.setSpan(context.active(), span);
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers);
  try {
    const result = await context.with(ctx, () => run(headers));
    finish(span, statusOf(result));
    return result;
  } catch (err) {
    finish(span, undefined, err);
    throw err;
  }
}

// Inbound requests -------------------------------------------------------------------------------

/** Not traced: probes and scrapes, many a minute, about no order. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

interface Pending {
  start: number;
  span?: Span;
}
const callbacks = new WeakMap<IncomingMessage, Pending>();

function routeOf(req: IncomingMessage): string | undefined {
  const r = req as IncomingMessage & { baseUrl?: string; route?: { path?: unknown } };
  return typeof r.route?.path === 'string' ? `${r.baseUrl ?? ''}${r.route.path}` : undefined;
}

function serverSpan(req: IncomingMessage, parent: Context, startTime?: number): Span {
  return (tracer as Tracer).startSpan(req.method ?? 'HTTP', { kind: otel.SpanKind.SERVER, startTime, attributes: { 'http.request.method': req.method ?? '' } }, parent);
}

function endServerSpan(span: Span, req: IncomingMessage, res: ServerResponse): void {
  const route = routeOf(req);
  if (route) {
    span.setAttribute('http.route', route);
    span.updateName(`${req.method} ${route}`);
  }
  finish(span, res.statusCode);
}

/**
 * Express middleware (mounted first): a SERVER span per request, the parent of everything the
 * request does, continuing the caller's `traceparent` when it sends one. A provider callback's
 * span starts (back-dated to its arrival) only once its route knows the order
 * (`inCallbackSpan`), so it can be a child of the order's trace; a callback refused before that
 * gets a span of its own.
 */
export function tracingMiddleware(): ((req: IncomingMessage, res: ServerResponse, next: () => void) => void) | undefined {
  if (!tracer) return undefined;
  const { trace, context, propagation, ROOT_CONTEXT } = otel;
  return (req, res, next) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (UNTRACED.has(path)) return next();
    if (path.startsWith('/webhooks/')) {
      const pending: Pending = { start: performance.timeOrigin + performance.now() };
      callbacks.set(req, pending);
      res.once('close', () => endServerSpan(pending.span ?? serverSpan(req, ROOT_CONTEXT, pending.start), req, res));
      return next();
    }
    const span = serverSpan(req, propagation.extract(ROOT_CONTEXT, req.headers));
    const ctx = trace.setSpan(ROOT_CONTEXT, span);
    // Listeners added later (the body parser's) run in this context too.
    context.bind(ctx, req);
    context.bind(ctx, res);
    // 'close' comes after the answer is sent, and also when the client went away first.
    res.once('close', () => endServerSpan(span, req, res));
    context.with(ctx, next);
  };
}

/**
 * Runs a provider callback's handling in its SERVER span, as a child of the order's trace (the
 * traceparent stored on the record) when there is one.
 */
export async function inCallbackSpan<T>(req: IncomingMessage, orderTrace: () => Promise<string | undefined>, fn: () => Promise<T>): Promise<T> {
  const pending = tracer ? callbacks.get(req) : undefined;
  if (!pending || pending.span) return fn();
  // Tracing never fails a callback: without the order's trace it gets one of its own.
  const parent = contextOf(await orderTrace().catch(() => undefined)) ?? otel.propagation.extract(otel.ROOT_CONTEXT, req.headers);
  pending.span = serverSpan(req, parent, pending.start);
  return otel.context.with(otel.trace.setSpan(parent, pending.span), fn);
}

// Results ----------------------------------------------------------------------------------------

const published = new WeakMap<object, string>();

/**
 * The relay's spans for one batch: a PRODUCER span per result, a child of its order's trace (the
 * traceparent carried in the outbox entry), whose context the result job (and each of its webhook
 * deliveries, `resultTelemetry`) carries. `telemetry(i)` is the job option for entry i.
 */
export function publishSpans(entries: ReadonlyArray<{ jobId: string; name: string; meta?: { trace?: string } }>, queue: string) {
  if (!tracer) return { telemetry: (): { telemetry?: { metadata: string } } => ({}), end: (): void => undefined };
  const t = tracer;
  const { trace, context, SpanKind } = otel;
  const spans = entries.map((e) => {
    const parent = contextOf(e.meta?.trace) ?? context.active();
    const span = t.startSpan(
      `publish ${queue}`,
      { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'bullmq', 'messaging.destination.name': queue, 'messaging.message.id': e.jobId, 'invoice.status': e.name } },
      parent,
    );
    const metadata = metadataOf(trace.setSpan(parent, span));
    published.set(e, metadata);
    return { span, metadata };
  });
  return {
    telemetry: (i: number): { telemetry?: { metadata: string } } => {
      const s = spans[i];
      return s ? { telemetry: { metadata: s.metadata } } : {};
    },
    end(err?: unknown): void {
      for (const s of spans) finish(s.span, undefined, err);
    },
  };
}

/** A webhook delivery's job option: under the span that published its result. */
export function resultTelemetry(entry: object): { telemetry?: { metadata: string } } {
  const metadata = published.get(entry);
  return metadata ? { telemetry: { metadata } } : {};
}

// Logs -------------------------------------------------------------------------------------------

/** pino `mixin`: the active span's ids on every line logged inside it; nothing when tracing is off. */
export function traceIds(): { trace_id?: string; span_id?: string } {
  if (!tracer) return {};
  const sc = otel.trace.getActiveSpan()?.spanContext();
  return sc && otel.trace.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}
