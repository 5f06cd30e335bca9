/**
 * CryptoSteroid (docs/providers.md 4): invoices under /merchants/:merchant, `X-Api-Key` auth, no
 * signing. Where the docs are silent the sandbox follows docs/providers.md 6.15: errors `{statusCode,
 * message}` with 400/401/404, ISO-8601 UTC timestamps, externalId not unique, PATCH with or
 * without a key. The cap on unpaid NEW invoices answers 429 by default; its number and answer
 * are undocumented, so both are options (docs/providers.md 6.4). Its records go NEW -> WAITING
 * (payment seen) -> PAID, or EXPIRED / CANCELLED, with one webhook, on PAID (4.5, 4.6).
 * `cryptoSteroidSandbox` is its registry entry (registry.ts).
 */
import { randomUUID } from 'node:crypto';
import express, { type Request, type Router } from 'express';
import { compare, normalize } from '../money.ts';
import { safeEqual } from '../signing.ts';
import { credentialsOf, type Payment, type RecordMoves, type SandboxContext, type SandboxProvider } from './context.ts';
import { convert } from './currencies.ts';
import { add, pct, subFloor } from '../money.ts';
import { answer, cancelGate, gate } from './gate.ts';
import { invalidState, receive } from './lifecycle.ts';
import { json, send, type Reply } from './reply.ts';
import { addressFor, newToken, setStatus, type Rec } from './store.ts';

/** What CryptoSteroid reads from `startSandbox()`'s options. */
export interface CryptoSteroidSandboxOptions {
  /** CryptoSteroid cap on unpaid NEW invoices (docs/providers.md 4.5, 6.4). Default 50. */
  cryptosteroidNewCap?: number;
  /**
   * The answer to a create past the cap. CryptoSteroid documents the cap but neither its number nor
   * its answer, so both are settable; default 429 `{statusCode: 429, message: "Too many unpaid
   * invoices in status NEW (limit N)"}` (our wording).
   */
  cryptosteroidCapReply?: { status: number; message: string };
}

/** Its settings in one running sandbox. */
interface Settings {
  newCap: number;
  capReply?: { status: number; message: string };
}

export type CryptoSteroidCredentials = {
  apiKey: string;
  merchantId: string;
};

type Body = Record<string, unknown>;
const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

export const CS_METHODS = ['BTC', 'ETH', 'TRX', 'BCH', 'LTC', 'DOGE', 'USDT_ERC20', 'USDT_TRC20'] as const;
type Method = (typeof CS_METHODS)[number];
const METHOD_CURRENCY: Record<Method, string> = {
  BTC: 'BTC',
  ETH: 'ETH',
  TRX: 'TRX',
  BCH: 'BCH',
  LTC: 'LTC',
  DOGE: 'DOGE',
  USDT_ERC20: 'USDTE',
  USDT_TRC20: 'USDTT',
};
const FIAT = ['USD', 'EUR', 'RUB'] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const DECIMAL = /^\d+(\.\d{1,18})?$/;
/** The sandbox's commission, in percent of the crypto amount. */
const COMMISSION_PERCENT = '1';
/** Its redelivery schedule, in minutes after the previous attempt (docs/providers.md 6.15, assumed). */
const REDELIVERY_MINUTES = [1, 2, 5, 10, 15, 30, 60, 120, 240, 480];

const err = (status: number, message: string): Reply => json(status, { statusCode: status, message });

/** Guards run before path validation (a NestJS-style stack): key first, then the merchant. */
function guard(ctx: SandboxContext, req: Request, needKey: boolean): Reply | null {
  const creds = credentialsOf(ctx, cryptoSteroidSandbox);
  const key = req.get('x-api-key');
  if (needKey && (!key || !safeEqual(key, creds.apiKey))) return err(401, 'Unauthorized');
  const merchant = String(req.params.merchant);
  if (!UUID.test(merchant)) return err(400, 'Validation failed (uuid is expected)');
  if (merchant.toLowerCase() !== creds.merchantId.toLowerCase()) return err(404, 'Merchant not found');
  return null;
}

function parseBody(req: Request): Body | null {
  const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  // A non-JSON content type leaves the body empty (validation then names the missing fields).
  if (!req.is('application/json') || raw.trim() === '') return {};
  try {
    const body: unknown = JSON.parse(raw);
    return isObject(body) ? body : null;
  } catch {
    return null;
  }
}

/** Applies a payment method: the crypto amount, commission split and deposit address (docs/providers.md 4.4). */
export function setMethod(rec: Rec, method: Method): void {
  rec.meta.paymentMethod = method;
  rec.payCurrency = METHOD_CURRENCY[method];
  const base = convert(rec.amount, rec.currency, rec.payCurrency);
  const fee = pct(base, COMMISSION_PERCENT);
  const buyerPays = rec.meta.whoPayCommission !== 'seller';
  rec.expectedCrypto = buyerPays ? add(base, fee) : base;
  rec.meta.net = buyerPays ? base : subFloor(base, fee);
  rec.meta.fee = fee;
  // One address per invoice and method (docs/providers.md 4.4 `payment.address`), derived, so a repeated PATCH gives the same one.
  rec.address = addressFor(rec);
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The Invoice object (docs/providers.md 4.4): create/details/update response and webhook body. */
export function csInvoice(ctx: SandboxContext, rec: Rec): Body {
  const m = rec.meta;
  const method = (m.paymentMethod as string | null) ?? null;
  const open = rec.status === 'NEW' && rec.deadline !== null;
  return {
    merchantId: credentialsOf(ctx, cryptoSteroidSandbox).merchantId,
    invoiceId: rec.id,
    fiatAmount: m.fiatAmountText,
    fiatCurrency: rec.currency,
    description: m.description,
    whoPayCommission: m.whoPayCommission,
    payment: method
      ? {
          method,
          address: rec.address,
          amount: rec.expectedCrypto,
          net: m.net,
          fee: m.fee,
          paid: rec.txs.length ? { hash: rec.txs.map((t) => t.txid), received: rec.sentCrypto, fiat: rec.received, finished: rec.status === 'PAID' } : null,
        }
      : null,
    externalId: m.externalId ?? null,
    invoiceUrl: m.paymentUrl,
    returnUrl: m.returnUrl ?? null,
    failReturnUrl: m.failReturnUrl ?? null,
    processingUrl: m.processingUrl ?? null,
    timeoutSeconds: open ? Math.max(0, Math.ceil(((rec.deadline as number) - Date.now()) / 1000)) : 0,
    createdAt: iso(rec.createdAt),
    expiresAt: iso(rec.deadline),
    updatedAt: iso(rec.updatedAt),
    status: rec.status,
  };
}

function validate(body: Body): string[] {
  const errors: string[] = [];
  const str = (k: string): boolean => body[k] === undefined || body[k] === null || typeof body[k] === 'string';
  if (!FIAT.includes(body.fiatCurrency as (typeof FIAT)[number])) errors.push(`fiatCurrency must be one of the following values: ${FIAT.join(', ')}`);
  if (typeof body.fiatAmount !== 'string') errors.push('fiatAmount must be a string');
  else if (!DECIMAL.test(body.fiatAmount) || !/[1-9]/.test(body.fiatAmount)) errors.push('fiatAmount must be a positive decimal string');
  if (typeof body.description !== 'string') errors.push('description must be a string');
  else if (body.description.trim() === '') errors.push('description should not be empty');
  if (body.whoPayCommission !== undefined && body.whoPayCommission !== 'buyer' && body.whoPayCommission !== 'seller') {
    errors.push('whoPayCommission must be one of the following values: buyer, seller');
  }
  if (!str('externalId')) errors.push('externalId must be a string');
  if (body.paymentMethod !== undefined && !CS_METHODS.includes(body.paymentMethod as Method)) {
    errors.push(`paymentMethod must be one of the following values: ${CS_METHODS.join(', ')}`);
  }
  for (const k of ['processingUrl', 'returnUrl', 'failReturnUrl']) {
    const v = body[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !/^https?:\/\/[^\s/]+/.test(v)) errors.push(`${k} must be a URL address`);
  }
  if (!str('secret')) errors.push('secret must be a string');
  // docs/providers.md 4.3: secret is required when processingUrl is set.
  else if (typeof body.processingUrl === 'string' && (typeof body.secret !== 'string' || body.secret === '')) {
    errors.push('secret should not be empty when processingUrl is set');
  }
  return errors;
}

function create(ctx: SandboxContext, settings: Settings, req: Request): Reply {
  const denied = guard(ctx, req, true);
  if (denied) return denied;
  const body = parseBody(req);
  if (!body) return err(400, 'Invalid JSON body');
  const errors = validate(body);
  if (errors.length) return err(400, errors.join('; '));
  // Counting is a pass over every invoice: only worth it once there could be `cap` of them.
  const cap = settings.newCap;
  if (ctx.store.size() >= cap && ctx.store.countStatus('cryptosteroid', 'NEW') >= cap) {
    // The real answer is undocumented (docs/providers.md 6.4): configurable, this default is ours.
    const reply = settings.capReply;
    return reply ? err(reply.status, reply.message) : err(429, `Too many unpaid invoices in status NEW (limit ${cap})`);
  }
  const now = Date.now();
  const token = newToken();
  const amount = normalize(body.fiatAmount as string);
  const rec = ctx.store.newRecord(
    {
      provider: 'cryptosteroid',
      kind: 'invoice',
      id: randomUUID(),
      // externalId is not unique (docs/providers.md 6.15): it is only kept for inspection.
      foreignId: typeof body.externalId === 'string' ? body.externalId : null,
      token,
      status: 'NEW',
      amount,
      currency: body.fiatCurrency as string,
      payCurrency: 'USDTT',
      expectedCrypto: '0',
      address: null,
      addressId: '0',
      fixedAt: null,
      // docs/providers.md 4.5: a payment must be detected within 30 minutes.
      deadline: now + ctx.timers.scaled(1800),
      request: structuredClone(body),
      terminal: TERMINAL,
      meta: {
        paymentUrl: `${ctx.url()}/pay/${token}`,
        fiatAmountText: body.fiatAmount,
        description: body.description,
        whoPayCommission: body.whoPayCommission ?? 'buyer',
        externalId: body.externalId ?? null,
        paymentMethod: null,
        secret: body.secret ?? null,
        processingUrl: body.processingUrl ?? null,
        returnUrl: body.returnUrl ?? null,
        failReturnUrl: body.failReturnUrl ?? null,
      },
    },
    now,
  );
  if (body.paymentMethod) setMethod(rec, body.paymentMethod as Method);
  ctx.store.add(rec);
  ctx.lifecycle.created(rec);
  return json(201, csInvoice(ctx, rec));
}

function find(ctx: SandboxContext, req: Request): Rec | Reply {
  const id = String(req.params.id);
  if (!UUID.test(id)) return err(400, 'Validation failed (uuid is expected)');
  return ctx.store.byId('cryptosteroid', id) ?? err(404, 'Invoice not found');
}
const isReply = (v: Rec | Reply): v is Reply => 'contentType' in v;

function details(ctx: SandboxContext, req: Request): Reply {
  const denied = guard(ctx, req, true);
  if (denied) return denied;
  const rec = find(ctx, req);
  return isReply(rec) ? rec : json(200, csInvoice(ctx, rec));
}

function update(ctx: SandboxContext, req: Request): Reply {
  // docs/providers.md 4.2 / 6.15: the docs say no key is needed; accepted with or without one.
  const denied = guard(ctx, req, false);
  if (denied) return denied;
  const rec = find(ctx, req);
  if (isReply(rec)) return rec;
  const body = parseBody(req);
  if (!body) return err(400, 'Invalid JSON body');
  if (!CS_METHODS.includes(body.paymentMethod as Method)) {
    return err(400, `paymentMethod must be one of the following values: ${CS_METHODS.join(', ')}`);
  }
  if (rec.status !== 'NEW') return err(400, 'Payment method can only be changed while the invoice is NEW');
  setMethod(rec, body.paymentMethod as Method);
  rec.updatedAt = Date.now();
  return json(200, csInvoice(ctx, rec));
}

function remove(ctx: SandboxContext, req: Request): Reply {
  const denied = guard(ctx, req, true);
  if (denied) return denied;
  const rec = find(ctx, req);
  if (isReply(rec)) return rec;
  if (!ctx.lifecycle.cancel(rec)) return err(400, `Invoice in status ${rec.status} cannot be cancelled`);
  // docs/providers.md 4.2: the cancel answer is a short object, not the Invoice.
  return json(200, { invoiceId: rec.id, merchantId: credentialsOf(ctx, cryptoSteroidSandbox).merchantId, failUrl: rec.meta.failReturnUrl ?? null, status: rec.status });
}

/**
 * CryptoSteroid's own cancel transition, used by DELETE and the control endpoint. The docs say DELETE
 * sets CANCELLED and stops watching the address; we assume it works only while the invoice has
 * not ended (NEW, or WAITING with a payment seen), so PAID, EXPIRED and CANCELLED refuse it.
 */
export function cancelCryptoSteroid(ctx: SandboxContext, rec: Rec): boolean {
  if (rec.status !== 'NEW' && rec.status !== 'WAITING') return false;
  setStatus(rec, 'CANCELLED');
  return true;
}

function cryptosteroidRouter(ctx: SandboxContext, settings: Settings): Router {
  const r = express.Router();
  r.use(express.raw({ type: () => true, limit: '1mb' }));
  r.post('/merchants/:merchant/invoices', (req, res) => gate(ctx, 'cryptosteroid', 'invoice', req, res, () => create(ctx, settings, req)));
  r.get('/merchants/:merchant/invoices/:id', (req, res) => answer(ctx, res, () => details(ctx, req)));
  r.patch('/merchants/:merchant/invoices/:id', (req, res) => cancelGate(ctx, 'cryptosteroid', req, res, () => update(ctx, req), 'update'));
  r.delete('/merchants/:merchant/invoices/:id', (req, res) => cancelGate(ctx, 'cryptosteroid', req, res, () => remove(ctx, req)));
  r.use((req, res) => send(res, err(404, `Cannot ${req.method} ${req.originalUrl}`)));
  r.use((_e: unknown, _req: Request, res: express.Response, _next: express.NextFunction) => send(res, err(400, 'Invalid request body')));
  return r;
}

/** The statuses in which an invoice has ended. */
const TERMINAL = ['PAID', 'EXPIRED', 'CANCELLED'] as const;

/** The webhook: the Invoice object, authenticated only by the order's secret (docs/providers.md 4.6). */
function sendWebhook(ctx: SandboxContext, rec: Rec): void {
  const payload = csInvoice(ctx, rec);
  const url = rec.meta.processingUrl;
  ctx.callbacks.enqueue({
    rec,
    callbackType: 'invoice',
    callbackStatus: String(payload.status),
    body: JSON.stringify(payload),
    headers: { 'content-type': 'application/json', token: String(rec.meta.secret ?? '') },
    target: () => (typeof url === 'string' ? url : undefined),
    retries: 10,
    redeliveryMinutes: REDELIVERY_MINUTES,
    late: false,
    duplicate: false,
  });
}

/** What the lifecycle commands do to a CryptoSteroid invoice. */
function moves(ctx: SandboxContext): RecordMoves {
  const paid = (rec: Rec): void => {
    for (const t of rec.txs) if (t.confirmations === 0) t.confirmations = 1;
    setStatus(rec, 'PAID');
    // docs/providers.md 4.6: one webhook, on PAID only.
    sendWebhook(ctx, rec);
  };
  const expire = (rec: Rec): void => {
    setStatus(rec, 'EXPIRED');
    ctx.lifecycle.disarm(rec);
  };
  return {
    pay(rec: Rec, amount: Payment, confirm: boolean): void {
      if (!rec.meta.paymentMethod) setMethod(rec, 'USDT_TRC20');
      const full = receive(ctx, rec, amount);
      // Detected in time: the 30-minute expiry no longer applies (docs/providers.md 4.5).
      ctx.lifecycle.disarm(rec);
      if (rec.status === 'NEW') setStatus(rec, 'WAITING');
      if (full && confirm) paid(rec);
    },
    // WAITING and fully paid ends PAID.
    confirm(rec: Rec): void {
      if (rec.status !== 'WAITING' || compare(rec.sentCrypto, rec.expectedCrypto) < 0) throw invalidState(rec, 'is not fully paid');
      paid(rec);
    },
    expire,
    cancel(rec: Rec): boolean {
      if (!cancelCryptoSteroid(ctx, rec)) return false;
      ctx.lifecycle.disarm(rec);
      return true;
    },
    // No underpaid ending of its own: the invoice expires.
    fail: expire,
    // A payment detected late is credited, and calls back on PAID, its only webhook (docs/providers.md 4.6, assumed).
    payLate(rec: Rec, payment: Payment): void {
      if (!rec.meta.paymentMethod) setMethod(rec, 'USDT_TRC20');
      receive(ctx, rec, payment);
      paid(rec);
    },
    // CryptoSteroid only expires while no payment was detected.
    deadlinePassed(rec: Rec): void {
      if (rec.status === 'NEW') expire(rec);
    },
  };
}

/** CryptoSteroid, as its registry entry. */
export const cryptoSteroidSandbox: SandboxProvider<'cryptosteroid', CryptoSteroidCredentials, CryptoSteroidSandboxOptions> = {
  id: 'cryptosteroid',
  // CryptoSteroid identifies the merchant by a UUID v4 in the path (docs/providers.md 4.1). Fixed
  // test credentials: they only open the local sandbox.
  credentials: Object.freeze({ apiKey: 'sandbox-cs-key-2a8f6d4c1e9b', merchantId: '3f6c2a1e-8b4d-4c7a-9e2f-5a1b7d3c9e04' }),
  kinds: ['invoice'],
  // externalId is not unique (docs/providers.md 6.15): control commands name an invoice by its invoiceId.
  uniqueForeignId: false,
  // Each invoice carries its own processingUrl.
  merchantCallbacks: false,
  faultReplies: {
    // NestJS's own bodies.
    serverError: json(500, { statusCode: 500, message: 'Internal server error' }),
    tooManyRequests: json(429, { statusCode: 429, message: 'ThrottlerException: Too Many Requests' }),
  },
  routes: (ctx, options) =>
    cryptosteroidRouter(ctx, {
      newCap: options.cryptosteroidNewCap ?? 50,
      ...(options.cryptosteroidCapReply ? { capReply: { ...options.cryptosteroidCapReply } } : {}),
    }),
  moves,
};
