/**
 * Provider callbacks. Each one is verified on the raw bytes by its lane's adapter (an HMAC over
 * the body for merchant-wide routes, the order's own secret for per-invoice ones), parsed, and
 * stored as an `invoice-events` job before we answer 200; the worker applies it. No provider call
 * is made here, so the answer is fast and a provider's retry schedule is never triggered by our
 * slowness. Routes come from each adapter's callback style:
 *
 *   merchant     POST /webhooks/<provider> (default account), /webhooks/<provider>/<account>
 *   per-invoice  POST /webhooks/<provider>/<record id>: the URL handed to the provider with the order
 *
 *   401  not authentic (or, on the per-invoice route, no such order to check against); nothing stored
 *   400  authentic but malformed, naming the field; nothing stored
 *   413  body over the limit
 *   503  could not store it; the provider's redelivery brings it again (docs/providers.md 1.5, 4.6)
 *   200  stored (also for an invoice we do not know: the event is kept and parked, see workers/events.ts);
 *        also for an authentic callback that is not about an invoice (the platform sends deposits,
 *        withdrawals and exchanges to the one merchant URL): counted, logged, nothing changed
 */
import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { EventJobSchema, type EventsQueue } from '../../queues/events.ts';
import { EventWriter } from './event-writer.ts';
import { ValidationError, zodIssues } from '../errors.ts';
import { laneOfId, type InvoiceRecord } from '../invoice/record.ts';
import type { InvoiceStore } from '../invoice/store.ts';
import { DEFAULT_ACCOUNT } from '../lanes/key.ts';
import type { Lane, Lanes } from '../lanes/lane.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { ProviderAdapter, ProviderUpdate } from '../providers/types.ts';
import { inCallbackSpan } from '../observability/tracing.ts';

/** Callbacks are a few KB; anything near this is not one. */
export const WEBHOOK_BODY_LIMIT = '256kb';

export interface WebhookDeps {
  lanes: Lanes;
  store: InvoiceStore;
  eventsQueue: EventsQueue;
  log: Logger;
  metrics?: Pick<Metrics, 'callbackRejected' | 'foreignCallback'>;
}

export function webhookRoutes(deps: WebhookDeps): Router {
  const r = Router();
  const events = new EventWriter(deps.eventsQueue);
  // Raw bytes on these routes only: the signature covers the exact body (a re-serialized body
  // loses `\/` escapes and key order, docs/providers.md 6.14). Any content type: the bytes are what count.
  const raw = express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT });

  const lanes = [...deps.lanes.values()];
  // Per-invoice routes: the order's own secret is what authenticates the message.
  for (const provider of new Set(lanes.filter((l) => l.adapter.callbacks === 'per-invoice').map((l) => l.provider))) {
    r.post(`/webhooks/${provider}/:invoice`, raw, async (req, res) => {
      const id = String(req.params.invoice);
      const lane = deps.lanes.get(laneOfId(id));
      const record = lane?.provider === provider ? await deps.store.getById(id) : null;
      // No record, no secret to compare with: it cannot be authenticated, so it is refused.
      const token = record?.provider === provider ? record.secret : undefined;
      if (!lane || !record || !token || !lane.adapter.verifyCallback(body(req), req.headers, token)) return refused(deps, res, provider);
      await accept(deps, events, req, res, lane, body(req), record);
    });
  }
  // Merchant-wide routes: one per account, signed with that account's secret.
  for (const lane of lanes.filter((l) => l.adapter.callbacks === 'merchant')) {
    const path = lane.account === DEFAULT_ACCOUNT ? `/webhooks/${lane.provider}` : `/webhooks/${lane.provider}/${lane.account}`;
    r.post(path, raw, async (req, res) => {
      if (!lane.adapter.verifyCallback(body(req), req.headers)) return refused(deps, res, lane.key);
      await accept(deps, events, req, res, lane, body(req));
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

function refused(deps: WebhookDeps, res: Response, provider: string): void {
  // Never the body or headers: a forged request may carry anything, an authentic one secrets.
  deps.log.warn({ provider }, 'callback refused: not authentic');
  deps.metrics?.callbackRejected(provider, 'authentication');
  res.status(401).json({
    error: 'unauthorized',
    message: 'callback not authentic: signature or token does not match (a re-serialized body also fails)',
  });
}

async function accept(deps: WebhookDeps, events: EventWriter, req: Request, res: Response, lane: Lane, raw: Buffer, record?: InvoiceRecord): Promise<void> {
  const invoiceId = record?.id;
  const adapter: ProviderAdapter = lane.adapter;
  // Not about an invoice: acknowledged (anything else makes the provider retry it for a day), never applied.
  const foreign = adapter.foreignCallback?.(raw);
  if (foreign) {
    deps.metrics?.foreignCallback(foreign.type);
    deps.log.info({ lane: lane.key, type: foreign.type, id: foreign.id }, 'callback acknowledged: not about an invoice');
    res.status(200).json({ ok: true, applied: false });
    return;
  }
  let update: ProviderUpdate;
  try {
    update = adapter.parseCallback(raw);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    deps.log.warn({ lane: lane.key, fields: err.issues.map((i) => i.field) }, 'callback refused: malformed');
    deps.metrics?.callbackRejected(lane.key, 'malformed');
    res.status(400).json({ error: 'invalid_callback', issues: err.issues });
    return;
  }
  // The platform routes find the invoice by foreign_id; without one there is nothing to find.
  if (!invoiceId && !update.foreignId) {
    deps.metrics?.callbackRejected(lane.key, 'malformed');
    res.status(400).json({ error: 'invalid_callback', issues: [{ field: 'foreign_id', message: 'required' }] });
    return;
  }
  const event = EventJobSchema.safeParse({
    v: 1,
    provider: lane.provider,
    ...(lane.account !== DEFAULT_ACCOUNT ? { account: lane.account } : {}),
    ...(invoiceId ? { invoice_id: invoiceId } : {}),
    update,
    received_at: new Date().toISOString(),
  });
  if (!event.success) {
    // Parsed, but outside what we store (e.g. an absurdly long status text).
    deps.metrics?.callbackRejected(lane.key, 'malformed');
    res.status(400).json({ error: 'invalid_callback', issues: zodIssues(event.error.issues) });
    return;
  }
  // Tracing on: the callback joins its order's trace (the platform routes read the record for it).
  const orderTrace = async (): Promise<string | undefined> => (record ?? (await deps.store.get(lane.key, update.foreignId as string)))?.trace;
  const jobId = await inCallbackSpan(req, orderTrace, () => events.add(event.data));
  // Debug only: the events worker logs each one as it applies it (with the same job id).
  deps.log.debug({ lane: lane.key, jobId, providerStatus: update.providerStatus }, 'callback stored');
  res.status(200).json({ ok: true });
}
