/**
 * The sandbox's own control surface (not part of any provider): faults, inspection, lifecycle
 * commands, callback URL and habits under `/_sandbox`, plus the tiny hosted payment page under
 * `/pay/:token` that the invoices' `url` / `payment_link` / `invoiceUrl` point at.
 */
import { DECIMAL_TEXT } from '../money.ts';
import express, { type Router } from 'express';
import { z } from 'zod';
import { KINDS } from '../invoice/order.ts';
import type { SandboxContext } from './context.ts';
import { SandboxActionError, type Lifecycle } from './lifecycle.ts';
import type { AccountCallbackOptions, CallbackHabits, Delivery, FaultRule } from './types.ts';

const Kind = z.enum(KINDS);
const Action = z.enum(['pay', 'pay-partly', 'pick-currency', 'confirm', 'expire', 'cancel', 'fail', 'pay-late']);
/** Body of a lifecycle command; every field optional (`kind` may come as a query parameter too). */
const ActionBody = z.strictObject({
  amount: z.string().optional(),
  crypto: z.string().optional(),
  confirm: z.boolean().optional(),
  currency: z.string().optional(),
  kind: Kind.optional(),
});
export const HabitsSchema = z.strictObject({
  duplicateRate: z.number().min(0).max(1).optional(),
  lateRate: z.number().min(0).max(1).optional(),
  reorder: z.boolean().optional(),
  escapeSlashes: z.union([z.boolean(), z.number().min(0).max(1)]).optional(),
});

export interface ControlApi {
  ctx: SandboxContext;
  lifecycle: Lifecycle;
  deliveries(): Delivery[];
  setCallbackUrl(provider: string, url: string | null): void;
  setHabits(habits: z.infer<typeof HabitsSchema>): CallbackHabits;
  sendAccountCallback(provider: string, type: string, opts: AccountCallbackOptions): Record<string, unknown>;
}

const issues = (err: z.ZodError): Array<{ field: string; message: string }> => err.issues.map((i) => ({ field: i.path.map(String).join('.') || '(body)', message: i.message }));

export function controlRouter(api: ControlApi): Router {
  const { ctx, lifecycle } = api;
  // The providers this sandbox runs, and those with one callback URL per merchant account.
  const ids = [...ctx.providers.keys()];
  const Provider = z.enum(ids);
  const CallbackUrlBody = z.strictObject({
    provider: z.enum(ids.filter((id) => ctx.providers.get(id)?.merchantCallbacks)),
    url: z.url({ protocol: /^https?$/ }).nullable(),
  });
  const r = express.Router();
  r.use(express.json({ limit: '256kb' }));

  r.get('/faults', (_req, res) => void res.json({ faults: ctx.faults.list() }));
  r.post('/faults', (req, res) => {
    const parsed = z.union([ctx.faults.schema, z.array(ctx.faults.schema)]).safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ errors: issues(parsed.error) });
    const rules: FaultRule[] = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
    for (const rule of rules) ctx.faults.add(rule);
    res.status(201).json({ faults: ctx.faults.list() });
  });
  r.delete('/faults', (_req, res) => {
    ctx.faults.clear();
    res.json({ faults: [] });
  });

  r.get('/invoices', (req, res) => {
    const provider = Provider.safeParse(req.query.provider);
    res.json({ invoices: ctx.store.list(provider.success ? provider.data : undefined).map((rec) => ctx.store.view(rec)) });
  });
  r.get('/invoices/:provider/:ref', (req, res) => {
    const provider = Provider.safeParse(req.params.provider);
    const kind = Kind.safeParse(req.query.kind);
    const rec = provider.success ? ctx.store.resolve(provider.data, req.params.ref, kind.success ? kind.data : undefined) : undefined;
    if (!rec) return void res.status(404).json({ error: 'not found' });
    res.json({ invoice: ctx.store.view(rec) });
  });
  r.post('/invoices/:provider/:ref/:action', (req, res) => {
    const provider = Provider.safeParse(req.params.provider);
    const action = Action.safeParse(req.params.action);
    const kind = Kind.safeParse(req.query.kind);
    if (!provider.success || !action.success) return void res.status(404).json({ error: 'unknown provider or action' });
    const body = ActionBody.safeParse(req.body ?? {});
    if (!body.success) return void res.status(400).json({ errors: issues(body.error) });
    try {
      const { kind: bodyKind, ...rest } = body.data;
      const k = kind.success ? kind.data : bodyKind;
      const opts = { ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)), ...(k ? { kind: k } : {}) };
      const rec = lifecycle.act(provider.data, req.params.ref, action.data, opts);
      res.json({ invoice: ctx.store.view(rec) });
    } catch (err) {
      if (err instanceof SandboxActionError) return void res.status(err.httpStatus).json({ error: err.message, code: err.code });
      throw err;
    }
  });

  r.get('/count', (req, res) => {
    const provider = Provider.safeParse(req.query.provider);
    const kind = Kind.safeParse(req.query.kind);
    if (!provider.success || typeof req.query.foreign_id !== 'string') {
      return void res.status(400).json({ error: 'provider and foreign_id are required' });
    }
    res.json({ count: ctx.store.count(provider.data, req.query.foreign_id, kind.success ? kind.data : undefined) });
  });
  r.get('/stats', (_req, res) => void res.json(ctx.stats.snapshot()));
  r.get('/deliveries', (_req, res) => void res.json({ deliveries: api.deliveries() }));

  // A callback about the merchant account (the platform's deposit, withdrawal or exchange, signed
  // like every platform callback) to the account's callback URL: what a merchant endpoint receives
  // besides invoice callbacks. The provider reads the body.
  r.post('/accounts/:provider/callbacks/:type', (req, res) => {
    const account = ctx.providers.get(req.params.provider)?.accountCallbacks;
    if (!account?.types.includes(req.params.type)) return void res.status(404).json({ error: 'unknown provider or callback type' });
    const body = account.body.safeParse(req.body ?? {});
    if (!body.success) return void res.status(400).json({ errors: issues(body.error) });
    res.status(202).json({ callback: api.sendAccountCallback(req.params.provider, req.params.type, body.data) });
  });

  r.post('/callback-url', (req, res) => {
    const parsed = CallbackUrlBody.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ errors: issues(parsed.error) });
    api.setCallbackUrl(parsed.data.provider, parsed.data.url);
    res.json({ callbackUrls: ctx.callbackUrls });
  });
  r.get('/habits', (_req, res) => void res.json(ctx.habits));
  r.post('/habits', (req, res) => {
    const parsed = HabitsSchema.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ errors: issues(parsed.error) });
    res.json(api.setHabits(parsed.data));
  });
  r.use((_req, res) => void res.status(404).json({ error: 'unknown sandbox control endpoint' }));
  return r;
}

const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The hosted payment page: shows the invoice and offers the lifecycle commands as buttons. */
export function pageRouter(api: ControlApi): Router {
  const { ctx, lifecycle } = api;
  const r = express.Router();
  r.use(express.urlencoded({ extended: false, limit: '16kb' }));
  r.get('/:token', (req, res) => {
    const rec = ctx.store.byToken(req.params.token);
    if (!rec) return void res.status(404).type('text/plain').send('Invoice not found');
    const button = (action: string, label: string, extra = ''): string => `<form method="post" action="${esc(rec.token)}/${action}">${extra}<button>${label}</button></form>`;
    res.type('html').send(`<!doctype html><html><head><meta charset="utf-8"><title>Sandbox payment</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto}form{display:inline-block;margin:.2rem}</style></head><body>
<h1>${esc(rec.provider)} ${esc(rec.kind)}</h1>
<p>Order <b>${esc(rec.foreignId ?? rec.id)}</b>: ${esc(rec.amount)} ${esc(rec.currency)} (received ${esc(rec.received)})</p>
<p>Status: <b>${esc(rec.status)}</b></p>
${button('pay', 'Pay in full')}
${button('pay', 'Pay, not confirmed yet', '<input type="hidden" name="confirm" value="false">')}
${button('confirm', 'Confirm')}
${button('pay-partly', 'Pay part', '<input name="amount" placeholder="amount" size="8">')}
${button('expire', 'Let it expire')}
${button('cancel', 'Cancel')}
<p><small>Local sandbox: no real payment is made.</small></p></body></html>`);
  });
  r.post('/:token/:action', (req, res) => {
    const rec = ctx.store.byToken(req.params.token);
    const action = Action.safeParse(req.params.action);
    if (!rec || !action.success) return void res.status(404).type('text/plain').send('Invoice not found');
    const form = (req.body ?? {}) as { amount?: unknown; confirm?: unknown };
    const amount = typeof form.amount === 'string' && form.amount.trim() ? form.amount.trim() : undefined;
    try {
      if (amount !== undefined && !DECIMAL_TEXT.test(amount)) throw new SandboxActionError('bad_request', 'amount must be a decimal');
      lifecycle.apply(rec, action.data, { ...(amount !== undefined ? { amount } : {}), ...(form.confirm === 'false' ? { confirm: false } : {}) });
    } catch (err) {
      if (!(err instanceof SandboxActionError)) throw err;
      return void res.status(err.httpStatus).type('text/plain').send(err.message);
    }
    res.redirect(303, `../${encodeURIComponent(rec.token)}`);
  });
  return r;
}
