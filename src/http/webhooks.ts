/**
 * Provider callbacks. Each one is verified on the raw bytes by its adapter (HMAC for the
 * platform, CONTRACT 1.5; the per-order `Token` for CryptoSteroid, 4.6), parsed, and stored as an
 * `invoice-events` job before we answer 200; the worker applies it. No provider call is made here,
 * so the answer is fast and a provider's retry schedule is never triggered by our slowness.
 *
 *   401  not authentic (or, on the per-invoice route, no such order to check against); nothing stored
 *   400  authentic but malformed, naming the field; nothing stored
 *   413  body over the limit
 *   503  could not store it; the provider's redelivery brings it again (CONTRACT 1.5, 4.6)
 *   200  stored (also for an invoice we do not know: the event is kept and parked, see workers/events.ts)
 */
import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { EventJobSchema, EventWriter, type EventsQueue } from '../../queues/events.ts';
import { ValidationError, zodIssues } from '../errors.ts';
import type { ProviderId } from '../invoice/order.ts';
import type { InvoiceStore } from '../invoice/store.ts';
import type { Metrics } from '../metrics.ts';
import type { ProviderAdapter, ProviderUpdate } from '../providers/types.ts';

/** Callbacks are a few KB; anything near this is not one. */
export const WEBHOOK_BODY_LIMIT = '256kb';

export interface WebhookDeps {
  adapters: ReadonlyMap<ProviderId, ProviderAdapter>;
  store: InvoiceStore;
  eventsQueue: EventsQueue;
  log: Logger;
  metrics?: Pick<Metrics, 'callbackRejected'>;
}

/** Platform providers: one merchant-account callback URL each (CONTRACT 1.5, 2.4, 3). */
const MERCHANT_ROUTES: readonly ProviderId[] = ['cryptoprocessing', 'alphapo'];

export function webhookRoutes(deps: WebhookDeps): Router {
  const r = Router();
  const events = new EventWriter(deps.eventsQueue);
  // Raw bytes on these routes only: the signature covers the exact body (a re-serialized body
  // loses `\/` escapes and key order, CONTRACT 6.14). Any content type: the bytes are what count.
  const raw = express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT });

  // Per-invoice route first: the order's secret is what authenticates it (CONTRACT 4.3, 4.6).
  r.post('/webhooks/cryptosteroid/:invoice', raw, async (req, res) => {
    const adapter = deps.adapters.get('cryptosteroid');
    if (!adapter) return notFound(res);
    const record = await deps.store.getById(String(req.params.invoice));
    // No record, no secret to compare with: it cannot be authenticated, so it is refused.
    const token = record?.provider === 'cryptosteroid' ? record.secret : undefined;
    if (!token || !adapter.verifyCallback(body(req), req.headers, token)) return refused(deps, res, 'cryptosteroid');
    await accept(deps, events, res, adapter, body(req), record?.id);
  });

  for (const provider of MERCHANT_ROUTES) {
    r.post(`/webhooks/${provider}`, raw, async (req, res) => {
      const adapter = deps.adapters.get(provider);
      if (!adapter) return notFound(res);
      if (!adapter.verifyCallback(body(req), req.headers)) return refused(deps, res, provider);
      await accept(deps, events, res, adapter, body(req));
    });
  }

  const onError: ErrorRequestHandler = (err, req, res, next) => {
    if (!req.path.startsWith('/webhooks/')) return next(err);
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large') {
      res.status(413).json({ error: 'too_large', message: `callback body over ${WEBHOOK_BODY_LIMIT}` });
      return;
    }
    if (e.status && e.status >= 400 && e.status < 500) {
      res.status(400).json({ error: 'bad_request', message: 'unreadable callback body' });
      return;
    }
    // Most likely Redis refused the job: not stored, so not acknowledged; the provider retries.
    deps.log.error({ err }, 'callback could not be stored');
    res.status(503).json({ error: 'unavailable', message: 'callback not stored; please retry' });
  };
  r.use(onError);
  return r;
}

function body(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function notFound(res: Response): void {
  res.status(404).json({ error: 'not_found', message: 'no such callback endpoint' });
}

function refused(deps: WebhookDeps, res: Response, provider: string): void {
  // Never the body or headers: a forged request may carry anything, an authentic one secrets.
  deps.log.warn({ provider }, 'callback refused: not authentic');
  deps.metrics?.callbackRejected(provider, 'authentication');
  res.status(401).json({
    error: 'unauthorized',
    message: 'callback not authentic: signature or token does not match (a re-serialized body also fails)',
  });
}

async function accept(deps: WebhookDeps, events: EventWriter, res: Response, adapter: ProviderAdapter, raw: Buffer, invoiceId?: string): Promise<void> {
  let update: ProviderUpdate;
  try {
    update = adapter.parseCallback(raw);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    deps.log.warn({ provider: adapter.id, fields: err.issues.map((i) => i.field) }, 'callback refused: malformed');
    deps.metrics?.callbackRejected(adapter.id, 'malformed');
    res.status(400).json({ error: 'invalid_callback', issues: err.issues });
    return;
  }
  // The platform routes find the invoice by foreign_id; without one there is nothing to find.
  if (!invoiceId && !update.foreignId) {
    deps.metrics?.callbackRejected(adapter.id, 'malformed');
    res.status(400).json({ error: 'invalid_callback', issues: [{ field: 'foreign_id', message: 'required' }] });
    return;
  }
  const event = EventJobSchema.safeParse({
    v: 1,
    provider: adapter.id,
    ...(invoiceId ? { invoice_id: invoiceId } : {}),
    update,
    received_at: new Date().toISOString(),
  });
  if (!event.success) {
    // Parsed, but outside what we store (e.g. an absurdly long status text).
    deps.metrics?.callbackRejected(adapter.id, 'malformed');
    res.status(400).json({ error: 'invalid_callback', issues: zodIssues(event.error.issues) });
    return;
  }
  const jobId = await events.add(event.data);
  // Debug only: the events worker logs each one as it applies it (with the same job id).
  deps.log.debug({ provider: adapter.id, jobId, providerStatus: update.providerStatus }, 'callback stored');
  res.status(200).json({ ok: true });
}
