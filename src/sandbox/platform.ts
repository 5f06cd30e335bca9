/**
 * The CryptoProcessing / AlphaPo platform (one code path, two mounts with their own credentials
 * and data): invoices v2, payment requests v1, cancel and transactions/info. Auth is checked on
 * the raw body bytes exactly as docs/providers.md 1.1 / 1.7 describe; error bodies are the documented ones.
 */
import express, { type Request, type Router } from 'express';
import { normalize } from '../money.ts';
import { safeEqual, verifyBody } from '../signing.ts';
import { json, send, type Reply, type SandboxContext } from './context.ts';
import { convert, isCrypto } from './currencies.ts';
import { fixed8 } from '../money.ts';
import { answer, cancelGate, gate } from './faults.ts';
import { depositRecord } from './platform-callbacks.ts';
import { validateInvoice, validatePaymentRequest } from './platform-validation.ts';
import { addressFor, newToken, uuidV7, type Rec } from './store.ts';
import type { PlatformProvider } from './types.ts';

type Body = Record<string, unknown>;
const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

// docs/providers.md 1.7: auth and transport errors use the flat {error, code} envelope.
const AUTH = {
  requiredKey: json(403, { error: 'Required key header', code: 'required_header_key' }),
  badKey: json(403, { error: 'Bad key header', code: 'bad_header_key' }),
  requiredSignature: json(403, { error: 'Required signature header', code: 'required_header_signature' }),
  badSignature: json(403, { error: 'Bad signature header', code: 'bad_header_signature' }),
  badContent: json(400, { error: 'Bad content format', code: 'bad_content_format' }),
};

type Authed = { ok: true; body: unknown; raw: Buffer } | { ok: false; reply: Reply };

/**
 * Key, then signature over the raw bytes (constant time, via signing.ts), then the JSON body.
 * The signature is checked before parsing so that a re-serialised body fails as a signature error,
 * the way the platform reports it (docs/providers.md 1.1, AP-err causes).
 */
function authenticate(ctx: SandboxContext, provider: PlatformProvider, req: Request): Authed {
  const creds = ctx.credentials[provider];
  const key = req.get('x-processing-key');
  if (!key) return { ok: false, reply: AUTH.requiredKey };
  if (!safeEqual(key, creds.apiKey)) return { ok: false, reply: AUTH.badKey };
  const signature = req.get('x-processing-signature');
  if (!signature) return { ok: false, reply: AUTH.requiredSignature };
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  if (!verifyBody(raw, signature, creds.apiSecret)) return { ok: false, reply: AUTH.badSignature };
  if (!req.is('application/json')) return { ok: false, reply: AUTH.badContent };
  try {
    const body: unknown = JSON.parse(raw.toString('utf8'));
    if (typeof body !== 'object' || body === null) return { ok: false, reply: AUTH.badContent };
    return { ok: true, body, raw };
  } catch {
    return { ok: false, reply: AUTH.badContent };
  }
}

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

/** Invoice create response (docs/providers.md 1.3): integer id, 8-place amount string, timer window fields. */
export function invoiceResponse(rec: Rec): Body {
  const m = rec.meta;
  const now = Date.now();
  return {
    id: Number(rec.id),
    url: m.paymentUrl,
    foreign_id: rec.foreignId,
    end_user_reference: m.endUserReference ?? null,
    address: rec.address,
    title: m.title,
    description: m.description ?? null,
    status: rec.status,
    currency: rec.currency,
    amount: fixed8(rec.amount),
    sender_currency: m.senderCurrency ?? null,
    sender_amount: m.senderCurrency ? fixed8(rec.expectedCrypto) : null,
    fixed_at: seconds(rec.fixedAt),
    release_at: seconds(rec.deadline),
    seconds_left: rec.deadline === null ? null : Math.max(0, Math.ceil((rec.deadline - now) / 1000) - 1),
  };
}

function createInvoice(ctx: SandboxContext, provider: PlatformProvider, req: Request): Reply {
  const auth = authenticate(ctx, provider, req);
  if (!auth.ok) return auth.reply;
  const body = isObject(auth.body) ? auth.body : {};
  const v = validateInvoice(provider, body, auth.raw.toString('utf8'), (fid) => ctx.store.taken(provider, 'invoice', fid), ctx.options.strictUrls);
  if (!v.ok) return json(400, { errors: v.errors });
  const input = v.value;
  const now = Date.now();
  const amount = normalize(input.amount);
  // The payer's crypto: fixed by sender_currency (kind 3), else the invoice currency when it is
  // crypto, else BTC as the sandbox payer's default pick.
  const payCurrency = input.senderCurrency ?? (isCrypto(input.currency) ? input.currency : 'BTC');
  const token = newToken();
  const rec: Rec = {
    seq: ctx.store.nextSeq(),
    provider,
    kind: 'invoice',
    id: ctx.store.platformId(),
    foreignId: input.foreignId,
    token,
    status: input.timer ? 'pending' : 'created',
    amount,
    currency: input.currency,
    payCurrency,
    expectedCrypto: convert(amount, input.currency, payCurrency),
    received: '0',
    sentCrypto: '0',
    txs: [],
    address: null,
    addressId: String(ctx.store.smallId()),
    createdAt: now,
    updatedAt: null,
    fixedAt: input.timer ? now : null,
    // docs/providers.md 1.2 / 5: timed invoices expire 900 s after creation; kind 1 has no deadline yet.
    deadline: input.timer ? now + ctx.timers.scaled(900) : null,
    request: structuredClone(body),
    history: [{ status: input.timer ? 'pending' : 'created', at: new Date(now).toISOString() }],
    meta: {
      paymentUrl: `${ctx.url()}/pay/${token}`,
      title: input.title,
      description: input.description,
      timer: input.timer,
      type: input.type,
      endUserReference: input.endUserReference,
      senderCurrency: input.senderCurrency,
    },
  };
  // Kind 3 (timer + sender_currency) answers with the deposit address already (docs/providers.md 1.2).
  if (input.timer && input.senderCurrency) rec.address = addressFor(rec);
  ctx.store.add(rec);
  ctx.lifecycle.created(rec);
  // docs/providers.md 6.2: CryptoProcessing answers 201, AlphaPo 200.
  return json(provider === 'cryptoprocessing' ? 201 : 200, { data: invoiceResponse(rec) });
}

function createPaymentRequest(ctx: SandboxContext, provider: PlatformProvider, req: Request): Reply {
  const auth = authenticate(ctx, provider, req);
  if (!auth.ok) return auth.reply;
  const body = isObject(auth.body) ? auth.body : {};
  const now = Date.now();
  const v = validatePaymentRequest(body, (fid) => ctx.store.taken(provider, 'payment_request', fid), ctx.options.strictUrls, Math.floor(now / 1000));
  if (!v.ok) return json(400, { errors: v.errors });
  const input = v.value;
  const amount = normalize(input.amount);
  const payCurrency = input.paymentCurrency?.iso ?? (isCrypto(input.currency) ? input.currency : 'BTC');
  const token = newToken();
  const deadline = now + ctx.timers.scaled(input.lifeSeconds);
  const rec: Rec = {
    seq: ctx.store.nextSeq(),
    provider,
    kind: 'payment_request',
    id: uuidV7(now),
    foreignId: input.foreignId,
    token,
    status: 'created',
    amount,
    currency: input.currency,
    payCurrency,
    expectedCrypto: convert(amount, input.currency, payCurrency),
    received: '0',
    sentCrypto: '0',
    txs: [],
    address: null,
    addressId: uuidV7(now),
    createdAt: now,
    updatedAt: null,
    // A forced payment currency locks the rate at once (docs/providers.md 2.1).
    fixedAt: input.paymentCurrency ? now : null,
    deadline,
    request: structuredClone(body),
    history: [{ status: 'created', at: new Date(now).toISOString() }],
    meta: { paymentUrl: `${ctx.url()}/pay/${token}`, amountText: body.amount },
  };
  ctx.store.add(rec);
  ctx.lifecycle.created(rec);
  // docs/providers.md 2.2: echo fields unchanged; absent optional fields come back as null.
  const echo = (k: string): unknown => body[k] ?? null;
  return json(200, {
    data: {
      id: rec.id,
      amount: body.amount,
      currency: { iso: input.currency },
      status: 'created',
      life_time: Math.round(deadline / 1000),
      end_user_email: echo('end_user_email'),
      end_user_reference: echo('end_user_reference'),
      description: echo('description'),
      payment_link: rec.meta.paymentUrl,
      foreign_id: rec.foreignId,
      url_store: echo('url_store'),
    },
  });
}

/**
 * Cancel (docs/providers.md 1.4, 1.7; docs.cryptoprocessing.com invoices-foreign_id-cancel): signed,
 * body literally `{}`, allowed while created / pending / processing. The documented success answer
 * is `200` with the body `[]`; the invoice then ends `failed` with one callback (docs/providers.md
 * 6.6, assumed). A confirmed or failed invoice gets the documented `invalid_invoice_state` error;
 * its HTTP status is not stated (400 assumed, like the other business errors).
 */
function cancelInvoice(ctx: SandboxContext, provider: PlatformProvider, req: Request): Reply {
  const auth = authenticate(ctx, provider, req);
  if (!auth.ok) return auth.reply;
  // docs/providers.md 1.1: the cancel body must be literally `{}`.
  if (auth.raw.toString('utf8') !== '{}') return AUTH.badContent;
  const rec = ctx.store.byForeignId(provider, 'invoice', String(req.params.foreign_id));
  // An unknown foreign_id: not documented; a 404 in the business-error envelope (assumed).
  if (!rec) return json(404, { errors: { error: 'Invoice not found.', code: 'invoice_not_found' } });
  if (!ctx.lifecycle.cancel(rec)) {
    return json(400, { errors: { error: 'Invoice cannot be failed in its current state.', code: 'invalid_invoice_state' } });
  }
  return json(200, []);
}

/**
 * transactions/info (docs/providers.md 1.6, 6.11): a signed JSON body on a GET naming exactly one
 * of id / foreign_id / txid. An invoice's foreign_id answers 404 until a payment exists, then the
 * deposit transaction record of its payments (top level, no `data` wrapper); `id` is a
 * transaction's id (as in the record), `txid` a payment's hash. Errors per the older page: no
 * parameter 400, more than one 404 (texts assumed).
 */
function transactionInfo(ctx: SandboxContext, provider: PlatformProvider, req: Request): Reply {
  const auth = authenticate(ctx, provider, req);
  if (!auth.ok) return auth.reply;
  const body = isObject(auth.body) ? auth.body : {};
  const given = (['id', 'foreign_id', 'txid'] as const).filter((k) => body[k] !== undefined && body[k] !== null && body[k] !== '');
  if (given.length === 0) {
    return json(400, { errors: { id: 'The id field is required when none of foreign id / txid are present.' } });
  }
  if (given.length > 1) return json(404, { errors: { error: 'Only one of id, foreign_id, txid may be given.', code: 'not_found' } });
  const key = given[0] as 'id' | 'foreign_id' | 'txid';
  const value = String(body[key]);
  const notFound = json(404, { errors: { error: 'Transaction not found.', code: 'transaction_not_found' } });
  if (key === 'foreign_id') {
    const rec = ctx.store.byForeignId(provider, 'invoice', value) ?? ctx.store.byForeignId(provider, 'payment_request', value);
    return rec && rec.txs.length ? json(200, depositRecord(rec, rec.txs)) : notFound;
  }
  for (const rec of ctx.store.list(provider)) {
    const tx = rec.txs.find((t) => (key === 'id' ? String(t.id) === value : t.txid === value));
    if (tx) return json(200, depositRecord(rec, [tx]));
  }
  return notFound;
}

export function platformRouter(ctx: SandboxContext, provider: PlatformProvider): Router {
  const r = express.Router();
  // Raw bytes for every request: the signature is over the exact body (docs/providers.md 1.1).
  r.use(express.raw({ type: () => true, limit: '1mb' }));
  r.get('/api/v2/ping', (_req, res) => void res.type('text/plain').send('OK'));
  r.post('/api/v2/invoices/create', (req, res) => gate(ctx, provider, 'invoice', req, res, () => createInvoice(ctx, provider, req)));
  r.post('/api/payments/v1/requests', (req, res) => gate(ctx, provider, 'payment_request', req, res, () => createPaymentRequest(ctx, provider, req)));
  r.post('/api/v2/invoices/:foreign_id/cancel', (req, res) => cancelGate(ctx, provider, req, res, () => cancelInvoice(ctx, provider, req)));
  r.get('/api/v2/transactions/info', (req, res) => answer(ctx, res, () => transactionInfo(ctx, provider, req)));
  // docs/providers.md 1.7: an unknown URL is reported as a missing key header.
  r.use((_req, res) => send(res, AUTH.requiredKey));
  r.use((_err: unknown, _req: Request, res: express.Response, _next: express.NextFunction) => send(res, AUTH.badContent));
  return r;
}
