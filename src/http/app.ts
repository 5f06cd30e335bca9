/**
 * The HTTP app: producer API, health and metrics, Bull Board. Each concern is its own router; this file only wires them
 * and maps the errors of bad requests (body-parser, router, our own checks) to clear 4xx answers.
 */
import { isUtf8 } from 'node:buffer';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DurabilityShortfall } from '../redis/durability.ts';
import { errorSummary, redisUnavailable } from '../errors.ts';
import type { Intake } from '../invoice/intake.ts';
import type { LaneStatus, Lanes } from '../lanes/lane.ts';
import { listingRoutes } from './listing.ts';
import { paymentMethodRoutes } from './payment-method.ts';
import type { InvoiceStore } from '../invoice/store.ts';
import type { Metrics } from '../ops/metrics.ts';
import { ADMIN_PATH, adminRouter, adminSignIn, type AdminOptions } from './admin.ts';
import { INVOICES_PATH, invoicePageRoutes } from './admin-invoices.ts';
import { KeyRing } from '../access/api-keys.ts';
import { AuthFailures, apiAccess, apiAuth } from './auth.ts';
import { opsRoutes } from './ops.ts';
import { invoiceRoutes } from './invoices.ts';
import { repairRoutes } from './repairs.ts';
import { webhookEndpointRoutes, type EndpointRouteDeps } from './webhook-endpoints.ts';
import type { TrackSettings } from '../invoice/track.ts';
import { openApiRoutes } from './openapi-routes.ts';
import { tracingMiddleware } from '../observability/tracing.ts';
import { lateAnswer, redisDeadline, type RedisWatch } from '../redis/watch.ts';
import { oncePerInterval } from '../redis/connect.ts';

export interface AppDeps {
  intake: Intake;
  store: InvoiceStore;
  /** Every lane (its create queue serves the retry routes). */
  lanes: Lanes;
  /** Result webhook endpoints: registration, rotation, delivery log, redelivery. */
  webhookEndpoints?: EndpointRouteDeps;
  /** Tracking settings, for repairs that open an invoice (attach). */
  track?: TrackSettings;
  /** Each lane's state, for /readyz. */
  laneStatus?: () => Promise<LaneStatus[]>;
  redis: Redis;
  log: Logger;
  apiToken?: string;
  /** The API keys in force (API_TOKEN and API_KEYS_FILE); default: API_TOKEN alone. */
  keys?: KeyRing;
  /** AUTH_FAILURE_LIMIT: failed authentications per address and minute before 429; 0: no brake. */
  authFailureLimit?: number;
  /** Extra routers mounted before the producer API (webhooks, admin, metrics). */
  mount?: (app: Express) => void;
  /** Metrics: served at /metrics, and for routers to count what they see (e.g. `callbackRejected`). */
  metrics?: Metrics;
  metricsToken?: string;
  /** Where this process runs workers: whether they all run (for /readyz). */
  workersRunning?: () => boolean;
  /** Bull Board at /admin/queues. */
  admin?: AdminOptions;
  /** Whether Redis answers: the producer API and callbacks answer 503 within `unavailableMs` while it does not. */
  redisWatch?: { watch: RedisWatch; unavailableMs: number };
}

/** Tracking settings when none are given (tests of the API alone). */
const DEFAULT_TRACK: TrackSettings = { pollIdleMs: 1_800_000, graceMs: 3_600_000 };

/** A body that is not declared JSON is refused (415) rather than half-parsed or ignored. */
const requireJson: RequestHandler = (req, res, next) => {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && !req.is('application/json')) {
    res.status(415).json({ error: 'unsupported_media_type', message: 'send the body as application/json' });
    return;
  }
  next();
};

/** What an error thrown by express, its router, body-parser or {@link requireUtf8} may carry. */
interface RequestError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
}

function requestError(type: string, status: number, message: string): Error & RequestError {
  return Object.assign(new Error(message), { type, status, expose: true });
}

/**
 * express.json's `verify`: runs on the raw bytes, before they are decoded. JSON exchanged between
 * systems is UTF-8 by definition; the decoder would otherwise replace every invalid byte with
 * U+FFFD, so two foreign_ids that differ only in an invalid byte would become the same order. A
 * leading byte order mark is ignored, not refused: JSON's definition lets a parser ignore one
 * (only forbids sending it), some clients still send it, and dropping it changes no value.
 */
function requireUtf8(_req: IncomingMessage, _res: unknown, body: Buffer, encoding: string): void {
  // body-parser lets any `utf-*` charset through to here; UTF-16 or UTF-32 JSON is not JSON on the wire.
  if (encoding !== 'utf-8') throw requestError('charset.unsupported', 415, `charset "${encoding}" is not supported: send the body as UTF-8`);
  if (!isUtf8(body)) throw requestError('entity.not.utf8', 400, 'request body is not valid UTF-8: JSON must be UTF-8 encoded');
}

/** The 4xx an error names (express and its parts set `status`, some libraries `statusCode`), if any. */
function clientStatus(e: RequestError): number | undefined {
  const status = e.status ?? e.statusCode;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 500 ? status : undefined;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // No ETags: answers are to POSTs or about state that changes; hashing each body is wasted work.
  app.set('etag', false);
  // First, so a request's span is the parent of all it does (only when tracing is on).
  const traced = tracingMiddleware();
  if (traced) app.use(traced);

  // One brake for every surface: an address guessing at one door is slowed at all of them.
  const failures = new AuthFailures({ log: deps.log.child({ component: 'auth' }), metrics: deps.metrics, limit: deps.authFailureLimit ?? 10 });
  const keys = deps.keys ?? new KeyRing({ token: deps.apiToken, log: deps.log });
  app.use(
    opsRoutes({
      redis: deps.redis,
      log: deps.log,
      metrics: deps.metrics,
      metricsToken: deps.metricsToken,
      workersRunning: deps.workersRunning,
      laneStatus: deps.laneStatus,
      failures,
    }),
  );
  if (deps.admin) {
    // Bull Board and the invoice page: one sign-in for both.
    const signIn = adminSignIn({ ...deps.admin, failures });
    app.use(ADMIN_PATH, adminRouter({ ...deps.admin, failures }, signIn));
    app.use(
      INVOICES_PATH,
      signIn,
      invoicePageRoutes({ store: deps.store, lanes: deps.lanes, log: deps.log.child({ component: 'invoice-page' }), track: deps.track ?? DEFAULT_TRACK, metrics: deps.metrics }),
    );
  }
  // The producer API's OpenAPI document and its reference page: open, like /healthz (they describe, they hold no data).
  app.use(openApiRoutes());

  // Everything below needs Redis: a bounded wait for it, then 503 with Retry-After (src/redis/watch.ts).
  if (deps.redisWatch) app.use(['/v1', '/webhooks'], redisDeadline(deps.redisWatch.watch, deps.redisWatch.unavailableMs));
  deps.mount?.(app);

  // 1,000 orders of a few KB each fit comfortably; anything larger is refused with 413.
  // Who calls (the API key), then its scope and lanes (src/http/auth.ts), once the body is parsed.
  app.use('/v1', apiAuth(keys, failures), requireJson, express.json({ limit: '5mb', strict: true, type: () => true, verify: requireUtf8 }), apiAccess);
  // Listing before the single-invoice routes: `/v1/invoices/export` is not a provider's invoice.
  app.use(listingRoutes({ store: deps.store, lanes: deps.lanes }));
  app.use(invoiceRoutes({ intake: deps.intake, store: deps.store, lanes: deps.lanes, log: deps.log, metrics: deps.metrics }));
  app.use(paymentMethodRoutes({ store: deps.store, lanes: deps.lanes, log: deps.log }));
  if (deps.webhookEndpoints) app.use(webhookEndpointRoutes(deps.webhookEndpoints));
  app.use(repairRoutes({ store: deps.store, lanes: deps.lanes, log: deps.log, track: deps.track ?? DEFAULT_TRACK }));

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });

  // While Redis refuses, every request would log the same line: one per 10 s, with a count.
  const unavailableLine = oncePerInterval();
  const onError: ErrorRequestHandler = (err, req, res, next) => {
    // Too late for an answer of our own; express closes the connection.
    if (res.headersSent) return next(err);
    const e = (err ?? {}) as RequestError;
    // Durability mode: no replica confirmed the write in time. Not acknowledged, so the producer
    // retries (the order is idempotent by foreign_id): a 503, never a 500.
    if (err instanceof DurabilityShortfall) {
      deps.log.warn({ method: req.method, point: err.point, acked: err.acked, wanted: err.wanted }, 'request not acknowledged: no replica confirmed it');
      res.status(503).set('Retry-After', '1').json({ error: 'unavailable', message: 'not confirmed by a Redis replica in time; retry (the same order is never recorded twice)' });
      return;
    }
    // Redis restarting, failing over, loading or full: nothing was acknowledged; the producer
    // retries after a moment (idempotent by foreign_id). A 503, never a 500.
    if (redisUnavailable(err)) {
      const held = unavailableLine();
      if (held !== undefined) deps.log.warn({ method: req.method, err: errorSummary(err), ...(held ? { moreSinceLastLine: held } : {}) }, 'request not served: Redis unavailable');
      res.status(503).set('Retry-After', '1').json({ error: 'unavailable', message: 'storage is unavailable for a moment (Redis restarting or failing over); retry' });
      return;
    }
    const status = clientStatus(e);
    if (status === undefined) {
      deps.log.error({ err }, 'request failed');
      res.status(500).json({ error: 'internal', message: 'internal error' });
      return;
    }
    let answer: { error: string; message: string };
    if (e.type === 'entity.parse.failed') answer = { error: 'invalid_json', message: 'request body is not valid JSON' };
    else if (e.type === 'entity.too.large') answer = { error: 'too_large', message: 'request body is too large' };
    else if (e.type === 'entity.not.utf8') answer = { error: 'invalid_encoding', message: String(e.message) };
    else if (e.type === 'charset.unsupported') answer = { error: 'unsupported_charset', message: 'the body must be UTF-8: send no charset or charset=utf-8' };
    // The router could not percent-decode a path parameter (`%FF`, a lone `%`, an encoded surrogate).
    else if (err instanceof URIError) answer = { error: 'invalid_path', message: 'the request path has a percent-escape that does not decode to UTF-8 text' };
    else {
      const code = (STATUS_CODES[status] ?? 'bad request').toLowerCase().replace(/[^a-z0-9]+/g, '_');
      answer = { error: code, message: e.expose && e.message ? e.message : (STATUS_CODES[status] ?? 'bad request') };
    }
    // A refusal of bad input, not a fault: no stack, no path and no body (body-parser's errors carry
    // the raw body), only what an operator needs to see that clients are sending it.
    deps.log.warn({ method: req.method, status, error: answer.error }, 'request refused');
    res.status(status).json(answer);
  };
  app.use(lateAnswer);
  app.use(onError);
  return app;
}
