/**
 * The CryptoProcessing / AlphaPo platform (one code path, two mounts with their own credentials
 * and data): invoices v2, payment requests v1, cancel and transactions/info. Auth is checked on
 * the raw body bytes exactly as docs/providers.md 1.1 / 1.7 describe; error bodies are the documented ones.
 * `platformSandbox(id)` is its registry entry (registry.ts): these routes, its records' moves
 * (platform-lifecycle.ts), its callbacks (platform-callbacks.ts, account-callbacks.ts).
 */
import express, { type Request, type Router } from 'express';
import { normalize } from '../money.ts';
import { safeEqual, verifyBody } from '../signing.ts';
import { ACCOUNT_CALLBACK_TYPES, AccountCallbackBody, accountCallbackBody, type AccountCallbackType } from './account-callbacks.ts';
import { credentialsOf, type SandboxContext, type SandboxProvider } from './context.ts';
import { convert, isCrypto } from './currencies.ts';
import { fixed8 } from '../money.ts';
import { answer, cancelGate, gate } from './gate.ts';
import { depositRecord, sendPlatformCallback, type PlatformCredentials } from './platform-callbacks.ts';
import { PLATFORM_TERMINAL, PlatformMoves } from './platform-lifecycle.ts';
import { validateInvoice, validatePaymentRequest } from './platform-validation.ts';
import { json, send, text, type Reply } from './reply.ts';
import { addressFor, newToken, uuidV7, type Rec } from './store.ts';

export type PlatformProvider = 'cryptoprocessing' | 'alphapo';
export type { PlatformCredentials } from './platform-callbacks.ts';

/** What the platform reads from `startSandbox()`'s options. */
export interface PlatformSandboxOptions {
  /** Enforce the documented HTTPS + domain-name rule on platform URLs (docs/providers.md 1.2). Default true. */
  strictUrls?: boolean;
}

/**
 * The sandbox's own fixed test credentials of each brand. They only open the local sandbox, so
 * printing them (`npm run sandbox`) and committing them is fine; real keys never belong here.
 */
const CREDENTIALS: Record<PlatformProvider, PlatformCredentials> = {
  cryptoprocessing: { apiKey: 'sandbox-cp-key-3f9a1c', apiSecret: 'sandbox-cp-secret-7d2e8b4a6c1f' },
  alphapo: { apiKey: 'sandbox-ap-key-5b7d2e', apiSecret: 'sandbox-ap-secret-9c4f1a3e8d6b' },
};

/** One brand's mount: which one, its credentials in this sandbox, its settings. */
interface Mount {
  provider: PlatformProvider;
  creds: PlatformCredentials;
  strictUrls: boolean;
}

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
function authenticate(m: Mount, req: Request): Authed {
  const { creds } = m;
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

function createInvoice(ctx: SandboxContext, m: Mount, req: Request): Reply {
  const { provider } = m;
  const auth = authenticate(m, req);
  if (!auth.ok) return auth.reply;
  const body = isObject(auth.body) ? auth.body : {};
  const v = validateInvoice(provider, body, auth.raw.toString('utf8'), (fid) => ctx.store.taken(provider, 'invoice', fid), m.strictUrls);
  if (!v.ok) return json(400, { errors: v.errors });
  const input = v.value;
  const now = Date.now();
  const amount = normalize(input.amount);
  // The payer's crypto: fixed by sender_currency (kind 3), else the invoice currency when it is
  // crypto, else BTC as the sandbox payer's default pick.
  const payCurrency = input.senderCurrency ?? (isCrypto(input.currency) ? input.currency : 'BTC');
  const token = newToken();
  const rec = ctx.store.newRecord(
    {
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
      address: null,
      addressId: String(ctx.store.smallId()),
      fixedAt: input.timer ? now : null,
      // docs/providers.md 1.2 / 5: timed invoices expire 900 s after creation; kind 1 has no deadline yet.
      deadline: input.timer ? now + ctx.timers.scaled(900) : null,
      request: structuredClone(body),
      terminal: PLATFORM_TERMINAL.invoice,
      meta: {
        paymentUrl: `${ctx.url()}/pay/${token}`,
        title: input.title,
        description: input.description,
        timer: input.timer,
        type: input.type,
        endUserReference: input.endUserReference,
        senderCurrency: input.senderCurrency,
      },
    },
    now,
  );
  // Kind 3 (timer + sender_currency) answers with the deposit address already (docs/providers.md 1.2).
  if (input.timer && input.senderCurrency) rec.address = addressFor(rec);
  ctx.store.add(rec);
  ctx.lifecycle.created(rec);
  // docs/providers.md 6.2: CryptoProcessing answers 201, AlphaPo 200.
  return json(provider === 'cryptoprocessing' ? 201 : 200, { data: invoiceResponse(rec) });
}

function createPaymentRequest(ctx: SandboxContext, m: Mount, req: Request): Reply {
  const { provider } = m;
  const auth = authenticate(m, req);
  if (!auth.ok) return auth.reply;
  const body = isObject(auth.body) ? auth.body : {};
  const now = Date.now();
  const v = validatePaymentRequest(body, (fid) => ctx.store.taken(provider, 'payment_request', fid), m.strictUrls, Math.floor(now / 1000));
  if (!v.ok) return json(400, { errors: v.errors });
  const input = v.value;
  const amount = normalize(input.amount);
  const payCurrency = input.paymentCurrency?.iso ?? (isCrypto(input.currency) ? input.currency : 'BTC');
  const token = newToken();
  const deadline = now + ctx.timers.scaled(input.lifeSeconds);
  const rec = ctx.store.newRecord(
    {
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
      address: null,
      addressId: uuidV7(now),
      // A forced payment currency locks the rate at once (docs/providers.md 2.1).
      fixedAt: input.paymentCurrency ? now : null,
      deadline,
      request: structuredClone(body),
      terminal: PLATFORM_TERMINAL.payment_request,
      meta: { paymentUrl: `${ctx.url()}/pay/${token}`, amountText: body.amount },
    },
    now,
  );
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
function cancelInvoice(ctx: SandboxContext, m: Mount, req: Request): Reply {
  const { provider } = m;
  const auth = authenticate(m, req);
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
function transactionInfo(ctx: SandboxContext, m: Mount, req: Request): Reply {
  const { provider } = m;
  const auth = authenticate(m, req);
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

function platformRouter(ctx: SandboxContext, m: Mount): Router {
  const { provider } = m;
  const r = express.Router();
  // Raw bytes for every request: the signature is over the exact body (docs/providers.md 1.1).
  r.use(express.raw({ type: () => true, limit: '1mb' }));
  r.get('/api/v2/ping', (_req, res) => void res.type('text/plain').send('OK'));
  r.post('/api/v2/invoices/create', (req, res) => gate(ctx, provider, 'invoice', req, res, () => createInvoice(ctx, m, req)));
  r.post('/api/payments/v1/requests', (req, res) => gate(ctx, provider, 'payment_request', req, res, () => createPaymentRequest(ctx, m, req)));
  r.post('/api/v2/invoices/:foreign_id/cancel', (req, res) => cancelGate(ctx, provider, req, res, () => cancelInvoice(ctx, m, req)));
  r.get('/api/v2/transactions/info', (req, res) => answer(ctx, res, () => transactionInfo(ctx, m, req)));
  // docs/providers.md 1.7: an unknown URL is reported as a missing key header.
  r.use((_req, res) => send(res, AUTH.requiredKey));
  r.use((_err: unknown, _req: Request, res: express.Response, _next: express.NextFunction) => send(res, AUTH.badContent));
  return r;
}

/** CryptoProcessing or AlphaPo, as one registry entry each. */
export function platformSandbox<I extends PlatformProvider>(id: I): SandboxProvider<I, PlatformCredentials, PlatformSandboxOptions> {
  const self: SandboxProvider<I, PlatformCredentials, PlatformSandboxOptions> = {
    id,
    credentials: Object.freeze({ ...CREDENTIALS[id] }),
    // Invoices first when a control command names a foreign_id both kinds use.
    kinds: ['invoice', 'payment_request'],
    // foreign_id is unique per product (docs/providers.md 1.7, 6.10).
    uniqueForeignId: true,
    merchantCallbacks: true,
    faultReplies: {
      // Laravel's own 500 body; the throttle page is Cloudflare text, not JSON, and carries no Retry-After.
      serverError: json(500, { message: 'Server Error' }),
      tooManyRequests: text(429, 'error code: 1015'),
    },
    accountCallbacks: {
      types: ACCOUNT_CALLBACK_TYPES,
      body: AccountCallbackBody,
      send(ctx, type, opts) {
        const payload = accountCallbackBody(type as AccountCallbackType, opts, () => ctx.store.smallId());
        const foreignId = typeof payload.foreign_id === 'string' ? payload.foreign_id : null;
        sendPlatformCallback(ctx, credentialsOf(ctx, self), { provider: id, kind: 'account', id: String(payload.id), foreignId }, payload);
        return payload;
      },
    },
    routes: (ctx, options) => platformRouter(ctx, { provider: id, creds: credentialsOf(ctx, self), strictUrls: options.strictUrls ?? true }),
    moves: (ctx) => new PlatformMoves(ctx, credentialsOf(ctx, self)),
  };
  return self;
}
