/**
 * Repair routes (src/invoice/repair.ts): the order system cancels an order not yet sent; an
 * operator abandons an order or attaches the invoice found at the provider. Each records the API
 * key that asked (a body's `by` is a note beside it) and why; the answer is the record, or 409
 * saying what is possible instead.
 */
import { Router, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { repairDeps } from '../ops/repairs.ts';
import { zodIssues } from '../errors.ts';
import { toView } from '../invoice/intake.ts';
import {
  AbandonSchema,
  AcceptSchema,
  AttachSchema,
  CancelSchema,
  CancelUnavailable,
  ReissueSchema,
  abandon,
  acceptPayment,
  attach,
  cancelBeforeSending,
  reissue,
  type RepairOutcome,
} from '../invoice/repair.ts';
import type { InvoiceStore } from '../invoice/store.ts';
import type { TrackSettings } from '../invoice/track.ts';
import type { Lanes } from '../lanes/lane.ts';
import { principalOf } from './auth.ts';
import { params } from './invoices.ts';

export interface RepairRouteDeps {
  store: InvoiceStore;
  lanes: Lanes;
  log: Logger;
  track: TrackSettings;
}

/** Runs a repair; a provider that could not be asked to cancel is a 503 (nothing changed; try again). */
async function run(res: Response, repair: () => Promise<RepairOutcome>): Promise<void> {
  try {
    answer(res, await repair());
  } catch (err) {
    if (!(err instanceof CancelUnavailable)) throw err;
    res.status(503).set('Retry-After', '30').json({ error: 'provider_unavailable', message: err.message });
  }
}

function answer(res: Response, out: RepairOutcome): void {
  switch (out.outcome) {
    case 'done':
      res.status(200).json({ outcome: 'done', invoice: toView(out.record) });
      return;
    case 'not_found':
      res.status(404).json({ error: 'not_found', message: 'no invoice for this provider and foreign_id' });
      return;
    case 'refused':
      res.status(409).json({ error: 'not_possible', message: out.why, status: out.status });
      return;
    case 'invalid':
      res.status(400).json({ error: 'invalid_body', issues: out.issues });
      return;
  }
}

/** The actor is the request's API key; a body's `by` is only a note beside it. */
function actor(res: Response, note: string | undefined): { by: string; note?: string } {
  return { by: principalOf(res).id, ...(note ? { note } : {}) };
}

export function repairRoutes(deps: RepairRouteDeps): Router {
  const r = Router();
  const repair = repairDeps({ store: deps.store, lanes: deps.lanes, log: deps.log, track: deps.track });
  const body = <S extends z.ZodType>(schema: S, raw: unknown, res: Response): z.output<S> | null => {
    const parsed = schema.safeParse(raw ?? {});
    if (parsed.success) return parsed.data;
    res.status(400).json({ error: 'invalid_body', issues: zodIssues(parsed.error.issues) });
    return null;
  };

  r.post('/v1/invoices/:provider/:foreign_id/cancel', async (req, res) => {
    const p = params(req, res, deps.lanes);
    const b = p && body(CancelSchema, req.body, res);
    if (!p || !b) return;
    await run(res, () => cancelBeforeSending(repair, p.lane, p.foreignId, { ...actor(res, b.by), via: 'api', reason: b.reason ?? 'requested by the order system' }));
  });

  r.post('/v1/invoices/:provider/:foreign_id/abandon', async (req, res) => {
    const p = params(req, res, deps.lanes);
    const b = p && body(AbandonSchema, req.body, res);
    if (!p || !b) return;
    await run(res, () => abandon(repair, p.lane, p.foreignId, { ...actor(res, b.by), via: 'api', reason: b.reason, status: b.status }));
  });

  r.post('/v1/invoices/:provider/:foreign_id/attach', async (req, res) => {
    const p = params(req, res, deps.lanes);
    const b = p && body(AttachSchema, req.body, res);
    if (!p || !b) return;
    answer(
      res,
      await attach(repair, p.lane, p.foreignId, { ...actor(res, b.by), via: 'api', reason: b.reason, providerInvoiceId: b.provider_invoice_id, paymentUrl: b.payment_url }),
    );
  });

  r.post('/v1/invoices/:provider/:foreign_id/reissue', async (req, res) => {
    const p = params(req, res, deps.lanes);
    const b = p && body(ReissueSchema, req.body, res);
    if (!p || !b) return;
    await run(res, () => reissue(repair, p.lane, p.foreignId, { ...actor(res, b.by), via: 'api', reason: b.reason }));
  });

  r.post('/v1/invoices/:provider/:foreign_id/accept', async (req, res) => {
    const p = params(req, res, deps.lanes);
    const b = p && body(AcceptSchema, req.body, res);
    if (!p || !b) return;
    await run(res, () => acceptPayment(repair, p.lane, p.foreignId, { ...actor(res, b.by), via: 'api', reason: b.reason }));
  });
  return r;
}
