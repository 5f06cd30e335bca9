/**
 * The HTTP app: producer API, health and metrics, Bull Board. Each concern is its own router; this file only wires them
 * and maps body-parser errors to clear 4xx answers.
 */
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CreateQueue } from '../../queues/create.ts';
import type { Intake } from '../invoice/intake.ts';
import type { InvoiceStore } from '../invoice/store.ts';
import type { Metrics } from '../metrics.ts';
import { ADMIN_PATH, adminRouter, type AdminOptions } from './admin.ts';
import { bearerAuth } from './auth.ts';
import { opsRoutes } from './ops.ts';
import { invoiceRoutes } from './invoices.ts';

export interface AppDeps {
  intake: Intake;
  store: InvoiceStore;
  createQueue: CreateQueue;
  redis: Redis;
  log: Logger;
  apiToken?: string;
  /** Extra routers mounted before the producer API (webhooks, admin, metrics). */
  mount?: (app: Express) => void;
  /** Metrics: served at /metrics, and for routers to count what they see (e.g. `callbackRejected`). */
  metrics?: Metrics;
  metricsToken?: string;
  /** Where this process runs workers: whether they all run (for /readyz). */
  workersRunning?: () => boolean;
  /** Bull Board at /admin/queues. */
  admin?: AdminOptions;
}

/** A body that is not declared JSON is refused (415) rather than half-parsed or ignored. */
const requireJson: RequestHandler = (req, res, next) => {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && !req.is('application/json')) {
    res.status(415).json({ error: 'unsupported_media_type', message: 'send the body as application/json' });
    return;
  }
  next();
};

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // No ETags: answers are to POSTs or about state that changes; hashing each body is wasted work.
  app.set('etag', false);

  app.use(opsRoutes({ redis: deps.redis, log: deps.log, metrics: deps.metrics, metricsToken: deps.metricsToken, workersRunning: deps.workersRunning }));
  if (deps.admin) app.use(ADMIN_PATH, adminRouter(deps.admin));

  deps.mount?.(app);

  // 1,000 orders of a few KB each fit comfortably; anything larger is refused with 413.
  app.use('/v1', bearerAuth(deps.apiToken), requireJson, express.json({ limit: '5mb', strict: true, type: () => true }));
  app.use(invoiceRoutes({ intake: deps.intake, store: deps.store, createQueue: deps.createQueue, log: deps.log, metrics: deps.metrics }));

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });

  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const e = err as { type?: string; status?: number; expose?: boolean; message?: string };
    if (e.type === 'entity.parse.failed') {
      res.status(400).json({ error: 'invalid_json', message: 'request body is not valid JSON' });
      return;
    }
    if (e.type === 'entity.too.large') {
      res.status(413).json({ error: 'too_large', message: 'request body is too large' });
      return;
    }
    if (e.status && e.status >= 400 && e.status < 500 && e.expose) {
      res.status(e.status).json({ error: 'bad_request', message: e.message });
      return;
    }
    deps.log.error({ err }, 'request failed');
    res.status(500).json({ error: 'internal', message: 'internal error' });
  };
  app.use(onError);
  return app;
}
