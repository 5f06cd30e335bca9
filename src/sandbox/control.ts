/**
 * The sandbox's own control surface (not part of any provider): faults, inspection, lifecycle
 * commands, callback URL and habits under `/_sandbox`, plus the tiny hosted payment page under
 * `/pay/:token` that the invoices' `url` / `payment_link` / `invoiceUrl` point at.
 */
import { DECIMAL_TEXT, positiveDecimal } from '../money.ts';
import express, { type Router } from 'express';
import { z } from 'zod';
import { ACCOUNT_CALLBACK_TYPES, type AccountCallbackOptions, type AccountCallbackType } from './account-callbacks.ts';
import type { SandboxContext } from './context.ts';
import { isCurrency } from './currencies.ts';
import { FaultRuleSchema } from './faults.ts';
import { SandboxActionError, type Lifecycle } from './lifecycle.ts';
import { view } from './store.ts';
import type { CallbackHabits, Delivery, FaultRule, PlatformProvider } from './types.ts';

const Provider = z.enum(['cryptoprocessing', 'alphapo', 'cryptosteroid']);
const Kind = z.enum(['invoice', 'payment_request']);
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
const Currency = z.string().refine(isCurrency, 'must be a currency code the sandbox lists');
const AccountCallbackBody = z.strictObject({
  currency: Currency.optional(),
  amount: positiveDecimal.optional(),
  convert_to: Currency.optional(),
  foreign_id: z.string().min(1).max(255).optional(),
  // Transaction statuses transactions/info documents (docs/providers.md 1.6).
  status: z.enum(['confirmed', 'not_confirmed', 'pending', 'cancelled', 'declined']).optional(),
});
const CallbackUrlBody = z.strictObject({
  provider: z.enum(['cryptoprocessing', 'alphapo']),
  url: z.url({ protocol: /^https?$/ }).nullable(),
});

export interface ControlApi {
  ctx: SandboxContext;
  lifecycle: Lifecycle;
  deliveries(): Delivery[];
  setCallbackUrl(provider: 'cryptoprocessing' | 'alphapo', url: string | null): void;
  setHabits(habits: z.infer<typeof HabitsSchema>): CallbackHabits;
  sendAccountCallback(provider: PlatformProvider, type: AccountCallbackType, opts: AccountCallbackOptions): Record<string, unknown>;
}

const issues = (err: z.ZodError): Array<{ field: string; message: string }> => err.issues.map((i) => ({ field: i.path.map(String).join('.') || '(body)', message: i.message }));

export function controlRouter(api: ControlApi): Router {
  const { ctx, lifecycle } = api;
  const r = express.Router();
  r.use(express.json({ limit: '256kb' }));

  r.get('/faults', (_req, res) => void res.json({ faults: ctx.faults.list() }));
  r.post('/faults', (req, res) => {
    const parsed = z.union([FaultRuleSchema, z.array(FaultRuleSchema)]).safeParse(req.body);
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
    res.json({ invoices: ctx.store.list(provider.success ? provider.data : undefined).map(view) });
  });
  r.get('/invoices/:provider/:ref', (req, res) => {
    const provider = Provider.safeParse(req.params.provider);
    const kind = Kind.safeParse(req.query.kind);
    const rec = provider.success ? ctx.store.resolve(provider.data, req.params.ref, kind.success ? kind.data : undefined) : undefined;
    if (!rec) return void res.status(404).json({ error: 'not found' });
    res.json({ invoice: view(rec) });
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
      res.json({ invoice: view(rec) });
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

  // A deposit, withdrawal or exchange callback to the account's callback URL (signed like every
  // platform callback): what a merchant endpoint receives besides invoice callbacks.
  r.post('/accounts/:provider/callbacks/:type', (req, res) => {
    const provider = z.enum(['cryptoprocessing', 'alphapo']).safeParse(req.params.provider);
    const type = z.enum(ACCOUNT_CALLBACK_TYPES).safeParse(req.params.type);
    if (!provider.success || !type.success) return void res.status(404).json({ error: 'unknown provider or callback type' });
    const body = AccountCallbackBody.safeParse(req.body ?? {});
    if (!body.success) return void res.status(400).json({ errors: issues(body.error) });
    const { currency, amount, convert_to: convertTo, foreign_id: foreignId, status } = body.data;
    const opts: AccountCallbackOptions = {
      ...(currency ? { currency } : {}),
      ...(amount ? { amount } : {}),
      ...(convertTo ? { convertTo } : {}),
      ...(foreignId ? { foreignId } : {}),
      ...(status ? { status } : {}),
    };
    res.status(202).json({ callback: api.sendAccountCallback(provider.data, type.data, opts) });
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
