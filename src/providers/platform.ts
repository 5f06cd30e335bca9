/**
 * CryptoProcessing and AlphaPo: one platform (formerly CoinsPaid) behind two hosts with their own
 * credentials. Invoices v2 and payment requests v1, authenticated by HMAC-SHA512 over the exact
 * body bytes. Facts and assumptions: docs/providers.md 1, 2, 3, 5 and 6.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { DuplicateForeignId, ProviderAuth, ProviderError, ProviderRejected, ResponseShape, ValidationError, zodIssues, type FieldIssue } from '../errors.ts';
import type { Order } from '../invoice/order.ts';
import type { Status } from '../invoice/state.ts';
import { envAccount } from '../lanes/accounts.ts';
import { DECIMAL_TEXT, add, asJsonNumberLiteral, compare, isZero, jsonNumberText, normalize, positiveDecimal, subFloor } from '../money.ts';
import { safeEqual, signBody, verifyBody } from '../signing.ts';
import type { HttpResponse } from './http.ts';
import { NOT_JSON, callbackObject, isOneOf, isRecord, isThrottled, laneOf, parseJson, parseOrThrow, readAnswer, scrub, send, statusError } from './kit.ts';
import { isCryptoCode, urlIssues } from './rules.ts';
import type {
  AdapterDeps,
  CancelResult,
  CreateResult,
  Fee,
  ForeignCallback,
  InvoiceRef,
  Money,
  ProviderAdapter,
  ProviderModule,
  ProviderUpdate,
  TrackedInvoice,
  Transaction,
} from './types.ts';

export type PlatformId = 'cryptoprocessing' | 'alphapo';

interface Profile {
  /** AlphaPo's endpoint page marks `end_user_reference` required; CryptoProcessing's does not (docs/providers.md 3, 6.5). */
  endUserReferenceRequired: boolean;
  /** Where the default account lives; other accounts (e.g. `https://app.lt.cryptoprocessing.com`) set `base_url`. */
  defaultBaseUrl: string;
  /** Prefix of the default account's environment variables. */
  envPrefix: string;
}

const PROFILES: Record<PlatformId, Profile> = {
  cryptoprocessing: { endUserReferenceRequired: false, defaultBaseUrl: 'https://app.cryptoprocessing.com', envPrefix: 'CRYPTOPROCESSING' },
  alphapo: { endUserReferenceRequired: true, defaultBaseUrl: 'https://app.alphapo.net', envPrefix: 'ALPHAPO' },
};

export interface PlatformCredentials {
  baseUrl: string;
  apiKey: string;
  apiSecret: string;
}

const optionalString = z.string().trim().min(1).optional();
const ms = (max: number) => z.coerce.number().int().min(10).max(max);

/** The platform's tracking knobs, shared by both hosts (docs/providers.md 1.2, 1.6, 6.11). */
const TRACKING_ENV = {
  /** Platform lookups are best effort (docs/providers.md 1.6, 6.11): callbacks are the source of truth. */
  POLL_PLATFORM_MS: ms(86_400_000).default(300_000),
  /** Timer invoices expire 15 minutes after creation (docs/providers.md 1.2). */
  DEADLINE_TIMER_MS: ms(604_800_000).default(900_000),
};

/**
 * Hosts of the platform's hosted payment pages, per brand, as the documentation's examples show
 * them (docs/providers.md): invoice `url` and payment request `payment_link` values.
 */
const PAYMENT_HOSTS: Record<PlatformId, readonly string[]> = {
  cryptoprocessing: [
    'invoices.cryptoprocessing.com',
    'pay.cryptoprocessing.com',
    'payments.cryptoprocessing.com',
    'invoices.sandbox.cryptoprocessing.com',
    'wallet.coinspaid.com',
    'app.coinspaid.com',
  ],
  alphapo: ['invoices.alphapo.net', 'wallet.coinspaid.com'],
};

/** CryptoProcessing or AlphaPo, as one registry entry each. */
export function platformModule(id: PlatformId): ProviderModule<PlatformCredentials> {
  const profile = PROFILES[id];
  const v = (name: string): string => `${profile.envPrefix}_${name}`;
  return {
    id,
    kinds: ['invoice', 'payment_request'],
    callbacks: 'merchant',
    paymentHosts: PAYMENT_HOSTS[id],
    settings: z
      .strictObject({
        base_url: z.url({ protocol: /^https?$/ }).default(profile.defaultBaseUrl),
        api_key: z.string().trim().min(1),
        api_secret: z.string().trim().min(1),
      })
      .transform((s) => ({ baseUrl: s.base_url, apiKey: s.api_key, apiSecret: s.api_secret })),
    env: {
      [v('BASE_URL')]: z.url({ protocol: /^https?$/ }).optional(),
      [v('API_KEY')]: optionalString,
      [v('API_SECRET')]: optionalString,
      ...TRACKING_ENV,
    },
    defaultAccount: (env) => envAccount(env, { base_url: v('BASE_URL'), api_key: v('API_KEY'), api_secret: v('API_SECRET') }, ['api_key', 'api_secret']),
    sandbox(box) {
      const url = box.baseUrls[id];
      const creds = box.credentials[id];
      return url && creds ? { base_url: url, api_key: creds.apiKey, api_secret: creds.apiSecret } : undefined;
    },
    create: (settings, deps) => createPlatformAdapter(id, settings, deps),
  };
}

/**
 * When the platform ends an invoice by itself (docs/providers.md 5 "Deadlines"): timer invoices 15 min,
 * stretched to 24 h once a transaction is in the mempool (1.2); payment requests their lifetime,
 * with no stretch (2.3). An invoice without timer has no deadline while `created` (1.2 kind 1)
 * and gets 15 min once the payer picked a currency (`pending`).
 */
function platformDeadline(inv: TrackedInvoice, timerMs: number, processingMs: number): number | null {
  const opened = inv.opened_at ?? Date.parse(inv.accepted_at);
  const said = inv.expires_at ? Date.parse(inv.expires_at) : Number.NaN;
  const since = inv.status_at ?? opened;
  if (inv.kind === 'payment_request') {
    if (!Number.isNaN(said)) return said;
    if (inv.order.expires_at) return Date.parse(inv.order.expires_at);
    return inv.order.expires_in_seconds ? opened + inv.order.expires_in_seconds * 1000 : null;
  }
  if (inv.status === 'processing') return since + processingMs;
  if (inv.order.timer) return Number.isNaN(said) ? opened + timerMs : said;
  if (inv.status === 'pending') return since + timerMs;
  return null;
}

const PATHS = {
  invoice: '/api/v2/invoices/create',
  // Not under /api/v2 (docs/providers.md 2).
  payment_request: '/api/payments/v1/requests',
  lookup: '/api/v2/transactions/info',
  // By foreign_id, with a trailing slash and the literal body `{}` (docs/providers.md 1.1, 1.4).
  cancel: (foreignId: string) => `/api/v2/invoices/${encodeURIComponent(foreignId)}/cancel/`,
} as const;

/** Callback types the platform sends to the merchant URL that are not about invoices (docs/providers.md 1.5). */
const FOREIGN_TYPES = ['deposit', 'deposit_exchange', 'withdrawal', 'withdrawal_exchange', 'exchange'] as const;

const INVOICE_TYPES = ['fill_or_kill', 'good_until_expired'] as const;
const INVOICE_STATUSES = ['created', 'pending', 'processing', 'confirmed', 'failed'] as const;
const REQUEST_STATUSES = ['created', 'processing', 'paid', 'failed', 'expired', 'restricted'] as const;
const AUTH_CODES = new Set(['bad_header_signature', 'required_header_signature', 'bad_header_key', 'required_header_key']);
const KNOWN_OPTIONS = 'type, payment_currency_network';

// ---------------------------------------------------------------------------------------------
// Provider-shaped types: responses and callbacks. Only what we use is required; echoes are
// tolerated when odd (docs/providers.md 1.3, 3: numeric foreign_id, `name` for `title`, "0.106.75000000").

const Id = z.union([z.number().int().nonnegative(), z.string().min(1)]).transform(String);
const ForeignId = z.union([z.string().min(1), z.number()]).transform(String);
const PaymentUrl = z.url({ protocol: /^https?$/ });
const Echo = z.string().regex(DECIMAL_TEXT).optional().catch(undefined);
/** Callback amounts are strings, but some documented examples carry bare JSON numbers. */
const Amount = z.union([z.string().regex(DECIMAL_TEXT, 'must be a decimal'), z.number().nonnegative()]).transform(jsonNumberText);

const InvoiceCreated = z.object({
  data: z.object({
    id: Id,
    url: PaymentUrl,
    status: z.string().min(1),
    amount: Echo,
    currency: z.string().min(1).optional().catch(undefined),
    release_at: z.number().int().positive().max(1e11).nullish().catch(undefined),
    // Type-3 invoices (timer + sender_currency) answer with where and how much to pay (docs/providers.md 1.3).
    address: z.string().min(1).nullish().catch(undefined),
    sender_currency: z.string().min(1).nullish().catch(undefined),
    sender_amount: Echo.nullable().catch(undefined),
  }),
});

const RequestCreated = z.object({
  data: z.object({
    id: Id,
    payment_link: PaymentUrl,
    status: z.string().min(1),
    amount: Echo,
    currency: z
      .object({ iso: z.string().min(1) })
      .optional()
      .catch(undefined),
    life_time: z.number().int().positive().max(1e11).optional().catch(undefined),
  }),
});

/** One entry of `transactions[]`; `confirmations` is a string in invoice examples and a number in deposit ones (docs/providers.md 1.5). */
const TransactionEntry = z.object({
  id: Id.nullish().catch(undefined),
  currency: z.string().min(1).nullish(),
  amount: Amount.nullish(),
  txid: z.string().min(1).nullish(),
  // Malformed (an object, a negative count) is refused, naming the field, like any other money figure.
  confirmations: z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).nullish(),
});
const FeeEntry = z.object({ type: z.string().min(1), currency: z.string().min(1), amount: Amount });

const InvoiceCallback = z.object({
  id: Id,
  foreign_id: ForeignId,
  type: z.literal('invoice'),
  status: z.string().min(1),
  error: z.string().nullish(),
  crypto_address: z.object({ currency: z.string().nullish(), convert_to: z.string().nullish(), address: z.string().nullish() }).nullish(),
  currency_sent: z.object({ currency: z.string().nullish(), amount: Amount.nullish(), remaining_amount: Amount.nullish() }).nullish(),
  currency_received: z.object({ currency: z.string().min(1), amount: Amount, amount_minus_fee: Amount.nullish() }).nullish(),
  transactions: z.array(TransactionEntry).nullish(),
  fees: z.array(FeeEntry).nullish(),
});
type InvoiceCallback = z.infer<typeof InvoiceCallback>;

const Iso = z.object({ iso: z.string().min(1), network_name: z.string().nullish() });
const RequestCallback = z.object({
  payment_request_id: z.string().min(1),
  foreign_id: ForeignId,
  status: z.string().min(1),
  payment_request_address: z.object({ currency: Iso.nullish(), address: z.string().min(1).nullish() }).nullish(),
  payment_request_amount: z.object({ currency: Iso.nullish(), amount: Amount.nullish() }).nullish(),
  currency_sent: z
    .object({
      currency: Iso.nullish(),
      expected_amount: Amount.nullish(),
      received_amount: Amount.nullish(),
      remaining_amount: Amount.nullish(),
    })
    .nullish(),
});
type RequestCallback = z.infer<typeof RequestCallback>;

/**
 * The answer of `transactions/info` (docs/providers.md 1.6): a transaction record at the top level,
 * the shape of a deposit callback. Evidence of payment, not the invoice's status.
 */
const TransactionRecord = z.object({
  id: Id.nullish().catch(undefined),
  type: z.string().min(1),
  status: z.string().min(1),
  foreign_id: ForeignId.nullish(),
  crypto_address: z.object({ foreign_id: ForeignId.nullish(), currency: z.string().nullish() }).nullish(),
  currency_sent: z.object({ currency: z.string().nullish(), amount: Amount.nullish() }).nullish(),
  currency_received: z.object({ currency: z.string().nullish(), amount: Amount.nullish(), amount_minus_fee: Amount.nullish() }).nullish(),
  transactions: z.array(TransactionEntry).nullish(),
  fees: z.array(FeeEntry).nullish(),
});
type TransactionRecord = z.infer<typeof TransactionRecord>;

const FlatError = z.object({ code: z.string().min(1), error: z.string().optional() });
/** The cancel endpoint's refusal nests the flat shape under `errors` (docs/providers.md 1.7). */
const NestedError = z.object({ errors: z.object({ code: z.string().min(1), error: z.string().optional() }) });
const FieldErrors = z.object({ errors: z.record(z.string(), z.unknown()) });

// ---------------------------------------------------------------------------------------------

export function createPlatformAdapter(id: PlatformId, creds: PlatformCredentials, deps: AdapterDeps): ProviderAdapter {
  const profile = PROFILES[id];
  const env = deps.env ?? {};
  const timerMs = Number(env.DEADLINE_TIMER_MS ?? 900_000);
  const processingMs = Number(env.DEADLINE_PROCESSING_MS ?? 86_400_000);

  function call(method: 'GET' | 'POST', path: string, body: string, signal?: AbortSignal): Promise<HttpResponse> {
    // `body` is the one serialization: the signature covers exactly the bytes that go out.
    const headers = {
      'Content-Type': 'application/json',
      'X-Processing-Key': creds.apiKey,
      'X-Processing-Signature': signBody(body, creds.apiSecret),
    };
    return send(deps, { provider: id, baseUrl: creds.baseUrl, method, path, headers, body, signal });
  }

  const adapter: ProviderAdapter = {
    id,
    lane: laneOf(id, deps),
    kinds: ['invoice', 'payment_request'],
    callbacks: 'merchant',
    tracking: {
      pollMs: Number(env.POLL_PLATFORM_MS ?? 300_000),
      deadline: (inv) => platformDeadline(inv, timerMs, processingMs),
    },
    uniqueForeignId: true,
    validate: (order) => validate(id, profile, order),

    async create(order, ctx) {
      const issues = validate(id, profile, order);
      if (issues.length) throw new ValidationError(issues);
      switch (order.kind) {
        case 'invoice': {
          const body = invoiceBody(order);
          const res = await call('POST', PATHS.invoice, body, ctx.signal);
          const { data } = parseAnswer(id, res, InvoiceCreated);
          const result: CreateResult = {
            providerInvoiceId: data.id,
            paymentUrl: data.url,
            // Timed invoices start `pending` (docs/providers.md 1.3). Any other text still means "accepted,
            // payment URL known", which is what `created` says; callbacks move it on.
            status: data.status === 'pending' ? 'pending' : 'created',
            providerStatus: data.status,
          };
          if (data.amount !== undefined) result.amount = data.amount;
          if (data.currency !== undefined) result.currency = data.currency;
          if (data.release_at) result.expiresAt = unixToIso(data.release_at);
          if (data.address && data.sender_currency && data.sender_amount) {
            result.payTo = { currency: data.sender_currency, address: data.address, amount: normalize(data.sender_amount) };
          }
          return result;
        }
        case 'payment_request': {
          const body = JSON.stringify(requestPayload(order));
          const res = await call('POST', PATHS.payment_request, body, ctx.signal);
          const { data } = parseAnswer(id, res, RequestCreated);
          const result: CreateResult = {
            providerInvoiceId: data.id,
            paymentUrl: data.payment_link,
            status: 'created',
            providerStatus: data.status,
          };
          if (data.amount !== undefined) result.amount = data.amount;
          if (data.currency?.iso !== undefined) result.currency = data.currency.iso;
          if (data.life_time) result.expiresAt = unixToIso(data.life_time); // absolute, unix seconds
          return result;
        }
        default:
          return unreachable(order.kind);
      }
    },

    verifyCallback(raw: Buffer, headers: IncomingHttpHeaders): boolean {
      const key = header(headers, 'x-processing-key');
      const keyOk = key !== undefined && safeEqual(key, creds.apiKey);
      // Over the raw bytes: a re-serialized body loses `\/` escapes and key order (docs/providers.md 1.5, 6.14).
      const signatureOk = verifyBody(raw, header(headers, 'x-processing-signature'), creds.apiSecret);
      return keyOk && signatureOk;
    },

    parseCallback(raw: Buffer): ProviderUpdate {
      return parseUpdate(callbackObject(raw));
    },

    async lookup(ref: InvoiceRef, signal?: AbortSignal): Promise<ProviderUpdate | null> {
      switch (ref.kind) {
        case 'payment_request':
          return null; // No lookup endpoint for payment requests (docs/providers.md 2.4).
        case 'invoice': {
          // A signed JSON body on a GET; 404 until a transaction exists (docs/providers.md 1.6, 6.11).
          const res = await call('GET', PATHS.lookup, JSON.stringify({ foreign_id: ref.foreignId }), signal);
          if (res.status === 404) return null;
          if (res.status < 200 || res.status > 299) throw platformError(id, res);
          const json = parseJson(res.text);
          if (json === NOT_JSON || !isRecord(json)) throw new ResponseShape(id, res.status, [{ field: '(body)', message: 'must be a JSON object' }]);
          // The documented answer is the record at the top level; an older form wrapped it in `data`.
          const body = isRecord(json.data) ? json.data : json;
          const parsed = TransactionRecord.safeParse(body);
          if (!parsed.success) throw new ResponseShape(id, res.status, zodIssues(parsed.error.issues));
          return lookupUpdate(parsed.data, ref);
        }
        default:
          return unreachable(ref.kind);
      }
    },

    foreignCallback(raw: Buffer): ForeignCallback | null {
      const json = parseJson(raw.toString('utf8'));
      if (json === NOT_JSON || !isRecord(json)) return null;
      if (json.type === 'invoice' || json.type === 'payment_request' || 'payment_request_id' in json) return null;
      // A body without a type names nothing it could be: malformed (400 naming `type`), not another kind of callback.
      if (typeof json.type !== 'string' || !json.type) return null;
      const type = json.type.length <= 64 ? json.type : 'unknown';
      const known = isOneOf(FOREIGN_TYPES, type) ? type : 'unknown';
      const ref = typeof json.id === 'number' || (typeof json.id === 'string' && json.id.length <= 64) ? String(json.id) : undefined;
      return ref === undefined ? { type: known } : { type: known, id: ref };
    },

    cancels: ['invoice'],

    async cancel(ref: InvoiceRef, signal?: AbortSignal): Promise<CancelResult> {
      // Invoices only: no cancel is documented for payment requests (docs/providers.md 2).
      if (ref.kind !== 'invoice') return { kind: 'refused', message: 'the provider documents no cancel for payment requests', code: 'not_supported' };
      const res = await call('POST', PATHS.cancel(ref.foreignId), '{}', signal);
      if (res.status >= 200 && res.status <= 299) return { kind: 'cancelled' };
      // Already confirmed or failed: the provider's own words travel to the caller (docs/providers.md 1.4, 1.7).
      const nested = NestedError.safeParse(parseJson(res.text));
      if (nested.success && res.status < 500 && res.status !== 429) {
        return { kind: 'refused', code: nested.data.errors.code, message: scrub(nested.data.errors.error ?? nested.data.errors.code) };
      }
      const err = platformError(id, res);
      if (err instanceof ProviderRejected) return { kind: 'refused', message: providerWords(err) };
      throw err;
    },
  };
  return adapter;
}

/** The provider's own refusal text, field by field, for the record and the caller. */
function providerWords(err: ProviderRejected): string {
  const entries = Object.entries(err.fields);
  return entries.length ? entries.map(([k, v]) => `${k}: ${v}`).join('; ') : err.message;
}

// ---------------------------------------------------------------------------------------------
// Validation: what the platform needs beyond the order schema, named by the order's field path.

function validate(id: PlatformId, profile: Profile, order: Order): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const add = (field: string, message: string): void => void issues.push({ field, message });
  if (order.provider !== id) add('provider', `must be "${id}" for this connector`);
  if (order.foreign_id.length < 1 || order.foreign_id.length > 255) add('foreign_id', 'must be 1-255 characters');
  // The invoice amount is spelled on the wire from this text, so it must be a plain decimal.
  if (!positiveDecimal.safeParse(order.amount).success) add('amount', 'must be a decimal string greater than 0, e.g. "100.50"');
  if (order.description !== undefined && order.description.length > 1000) add('description', 'must be at most 1000 characters');

  switch (order.kind) {
    case 'invoice': {
      if (!order.title) add('title', 'required for platform invoices');
      else if (order.title.length > 50) add('title', 'must be 1-50 characters');
      if (!order.urls?.success) add('urls.success', 'required for platform invoices');
      if (!order.urls?.failure) add('urls.failure', 'required for platform invoices');
      if (!order.customer?.email) add('customer.email', 'required for platform invoices (refund instructions)');
      if (profile.endUserReferenceRequired && !order.customer?.reference) add('customer.reference', `required for ${id} invoices`);
      // A timed invoice with a fixed currency skips the hosted form that would ask the payer (docs/providers.md 1.2).
      if (order.timer && order.payment_currency && !order.customer?.sender) {
        add('customer.sender', 'required when timer and payment_currency are both set');
      }
      if (order.expires_in_seconds !== undefined) add('expires_in_seconds', 'applies to payment requests; platform invoices expire through timer (15 minutes)');
      if (order.expires_at !== undefined) add('expires_at', 'applies to payment requests; platform invoices expire through timer (15 minutes)');
      break;
    }
    case 'payment_request': {
      const hasSeconds = order.expires_in_seconds !== undefined;
      const hasDate = order.expires_at !== undefined;
      if (hasSeconds && hasDate) add('expires_at', 'give exactly one of expires_in_seconds or expires_at');
      if (!hasSeconds && !hasDate) add('expires_in_seconds', 'a payment request needs exactly one of expires_in_seconds or expires_at');
      if (hasDate && !hasSeconds) {
        const at = Date.parse(order.expires_at ?? '');
        if (Number.isNaN(at)) add('expires_at', 'must be an ISO-8601 date-time');
        else if (at <= Date.now()) add('expires_at', 'must be in the future');
      }
      if (order.timer) add('timer', 'applies to platform invoices; payment requests use expires_in_seconds or expires_at');
      break;
    }
    default:
      unsupported(order.kind, 'kind', issues);
  }
  // The platform takes only HTTPS addresses with a domain name (docs/providers.md 1.2): refused here, before anything is sent.
  issues.push(...urlIssues(order.urls));
  // The payer's currency is a crypto code; a fiat code there is the order's currency by mistake.
  if (order.payment_currency !== undefined && !isCryptoCode(order.payment_currency))
    add('payment_currency', 'must be a crypto currency code (e.g. BTC, ETH, USDT), not a fiat currency');
  issues.push(...senderIssues(order), ...optionIssues(order));
  return issues;
}

function senderIssues(order: Order): FieldIssue[] {
  const sender = order.customer?.sender;
  if (!sender) return [];
  const issues: FieldIssue[] = [];
  const need = (field: string, value: string | undefined, message: string): void => {
    if (!value) issues.push({ field: `customer.sender.${field}`, message });
  };
  switch (sender.type) {
    case 'natural':
      need('first_name', sender.first_name, 'required for a natural-person sender');
      need('last_name', sender.last_name, 'required for a natural-person sender');
      // Optional on payment requests, required on invoices (docs/providers.md 2.1).
      if (order.kind === 'invoice') need('date_of_birth', sender.date_of_birth, 'required for a natural-person sender on platform invoices');
      break;
    case 'legal':
      need('legal_name', sender.legal_name, 'required for a legal-entity sender');
      need('country_of_registration', sender.country_of_registration, 'required for a legal-entity sender');
      break;
    default:
      unsupported(sender, 'customer.sender.type', issues);
  }
  return issues;
}

function optionIssues(order: Order): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(order.provider_options ?? {})) {
    const field = `provider_options.${key}`;
    if (key === 'type') {
      if (order.kind !== 'invoice') issues.push({ field, message: 'applies to platform invoices only' });
      else if (!isOneOf(INVOICE_TYPES, value)) issues.push({ field, message: 'must be "fill_or_kill" or "good_until_expired"' });
    } else if (key === 'payment_currency_network') {
      if (order.kind !== 'payment_request') issues.push({ field, message: 'applies to payment requests only' });
      else if (typeof value !== 'string' || !value.trim()) issues.push({ field, message: 'must be a network name' });
      else if (!order.payment_currency) issues.push({ field, message: 'requires payment_currency' });
    } else {
      issues.push({ field, message: `unknown option for this provider (known: ${KNOWN_OPTIONS})` });
    }
  }
  return issues;
}

// ---------------------------------------------------------------------------------------------
// Requests (docs/providers.md 1.2, 2.1).

function senderFields(order: Order): { sender_type?: 'natural' | 'legal'; sender_data?: Record<string, string | undefined> } {
  const sender = order.customer?.sender;
  if (!sender) return {};
  switch (sender.type) {
    case 'natural': {
      const { first_name, last_name, date_of_birth, email } = sender;
      return { sender_type: 'natural', sender_data: { first_name, last_name, date_of_birth, email } };
    }
    case 'legal': {
      const { legal_name, country_of_registration, email } = sender;
      return { sender_type: 'legal', sender_data: { legal_name, country_of_registration, email } };
    }
    default:
      return unreachable(sender);
  }
}

/**
 * The invoice `amount` is a JSON number (docs/providers.md 1.2, 6.13). It is spliced in as a literal built
 * from the decimal text, so no float ever holds it: "100.50" goes out as 100.5, never 100.49999.
 */
function invoiceBody(order: Order): string {
  const placeholder = `amount-${randomUUID()}`;
  const json = JSON.stringify({
    timer: order.timer ?? false,
    title: order.title,
    description: order.description,
    foreign_id: order.foreign_id,
    currency: order.currency,
    amount: placeholder,
    url_success: order.urls?.success,
    url_failed: order.urls?.failure,
    email_user: order.customer?.email,
    end_user_reference: order.customer?.reference,
    type: order.provider_options?.type,
    sender_currency: order.payment_currency?.toUpperCase(),
    ...senderFields(order),
  });
  // The placeholder is random per call, so no caller-supplied text can contain it.
  const token = `"amount":${JSON.stringify(placeholder)}`;
  const at = json.indexOf(token);
  return json.slice(0, at) + `"amount":${asJsonNumberLiteral(order.amount)}` + json.slice(at + token.length);
}

function requestPayload(order: Order): Record<string, unknown> {
  const network = order.provider_options?.payment_currency_network;
  return {
    amount: order.amount, // a string here, unlike invoices (docs/providers.md 2.1)
    currency: { iso: order.currency },
    life_time_duration: order.expires_in_seconds,
    life_time_date_time: order.expires_at ? Math.floor(Date.parse(order.expires_at) / 1000) : undefined,
    payment_currency: order.payment_currency ? { iso: order.payment_currency.toUpperCase(), network_name: typeof network === 'string' ? network : undefined } : undefined,
    end_user_email: order.customer?.email,
    end_user_reference: order.customer?.reference,
    ...senderFields(order),
    description: order.description,
    foreign_id: order.foreign_id,
    url_store: order.urls?.store,
    url_success: order.urls?.success,
    url_failed: order.urls?.failure,
  };
}

// ---------------------------------------------------------------------------------------------
// Answers and errors (docs/providers.md 1.7, 6.2-6.4, 6.10).

/** A create's 2xx read against its schema (src/providers/kit.ts `readAnswer`); other statuses through `platformError`. */
function parseAnswer<S extends z.ZodType>(id: PlatformId, res: HttpResponse, schema: S): z.output<S> {
  return readAnswer(id, res, schema, (r) => platformError(id, r));
}

/** Maps a non-2xx answer to the taxonomy, by status and error code; never echoes the body. */
export function platformError(provider: string, res: HttpResponse): ProviderError {
  const { status } = res;
  // Throttled or down: the status says all (kit.ts), whatever the body.
  if (isThrottled(res) || status >= 500) return statusError(provider, res);
  const json = parseJson(res.text);
  const flat = FlatError.safeParse(json);
  if (flat.success && AUTH_CODES.has(flat.data.code)) return new ProviderAuth(`provider refused our credentials (${flat.data.code})`, provider, status);
  if (status === 401 || status === 403) return statusError(provider, res);
  if (flat.success) {
    // e.g. bad_content_format: our body was not what the platform parses; permanent.
    return new ProviderRejected(`provider rejected the request (${flat.data.code})`, provider, status, {
      [flat.data.code]: scrub(flat.data.error ?? flat.data.code),
    });
  }
  const errors = FieldErrors.safeParse(json);
  if (errors.success) {
    const fields = flattenErrors(errors.data.errors);
    // The platform gives a duplicate foreign_id no error code: the documented text under the
    // `foreign_id` key is the only signal (docs/providers.md 1.7, 6.1), so matching it is unavoidable.
    if (/already been taken/i.test(fields.foreign_id ?? '')) {
      return new DuplicateForeignId('foreign_id already used at the provider', provider, status);
    }
    // The provider's own words (masked) are the message: "The minimum amount is 10 EUR." is what an operator needs.
    const words = Object.entries(fields)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
    return new ProviderRejected(`provider rejected the request: ${words || 'no reason given'}`, provider, status, fields);
  }
  return statusError(provider, res);
}

/** `{"errors":{"amount":"…","sender_data":{"first_name":["…"]}}}` -> `{amount: "…", "sender_data.first_name": "…"}`. */
function flattenErrors(errors: Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(errors)) {
    const field = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string' || typeof value === 'number') out[field] = scrub(String(value));
    else if (Array.isArray(value)) out[field] = scrub(value.map(String).join('; '));
    else if (isRecord(value)) Object.assign(out, flattenErrors(value, field));
    else out[field] = 'invalid';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Callbacks and lookups -> ProviderUpdate (docs/providers.md 1.5, 2.4, 5, 6.6-6.9, 6.16).

function parseUpdate(json: Record<string, unknown>): ProviderUpdate {
  // Payment-request callbacks have no root `id`, only `payment_request_id` (docs/providers.md 2.4).
  if (json.type === 'payment_request' || 'payment_request_id' in json) return requestUpdate(parseOrThrow(RequestCallback, json));
  if (json.type === 'invoice') return invoiceUpdate(parseOrThrow(InvoiceCallback, json));
  throw new ValidationError([{ field: 'type', message: 'not an invoice or payment_request callback' }]);
}

function invoiceUpdate(cb: InvoiceCallback): ProviderUpdate {
  const mapped = invoiceStatus(cb.status, cb.error?.trim() ?? '');
  const sent = cb.currency_sent ?? undefined;
  const sentCurrency = sent?.currency ?? cb.crypto_address?.currency ?? undefined;
  const transactions = transactionsOf(cb.transactions, sentCurrency);
  const update: ProviderUpdate = {
    foreignId: cb.foreign_id,
    providerInvoiceId: cb.id,
    providerStatus: cb.status,
    status: mapped.status,
    dedupeKey: `invoice:${cb.id}:${cb.status}:${cb.transactions?.length ?? 0}`,
  };
  // What the payer sent: the transactions' sum (docs/providers.md 1.5 "What the amounts mean").
  // `currency_received.amount` is the invoice's target, never what arrived, so it is not read here.
  const received = receivedOf(transactions, sentCurrency);
  if (received) {
    update.receivedAmount = received.amount;
    update.receivedCurrency = received.currency;
  } else if (!cb.transactions && sent?.amount && sent.remaining_amount && sentCurrency) {
    // No list at all (never seen documented): the provider's own arithmetic, amount minus what remains.
    const paid = subFloor(sent.amount, sent.remaining_amount);
    if (!isZero(paid)) Object.assign(update, { receivedAmount: normalize(paid), receivedCurrency: sentCurrency });
  }
  if (transactions.length) update.transactions = transactions;
  const fees = feesOf(cb.fees);
  if (fees.length) update.fees = fees;
  const target = cb.currency_received ?? undefined;
  // On a confirmed invoice the platform states what it credits the merchant: the target in the
  // receive currency, the converted sum with `convert_to` (26.00 EUR for 0.00309556 BTC).
  if (mapped.status === 'paid' && target) {
    update.settledAmount = normalize(target.amount);
    update.settledCurrency = target.currency;
  }
  update.paid = {};
  if (target) update.paid.value = { amount: normalize(target.amount), currency: target.currency };
  if (sent?.amount && sentCurrency) update.paid.due = { amount: normalize(sent.amount), currency: sentCurrency };
  let reason = mapped.reason;
  // Installments and `good_until_expired` leave an open invoice partly paid (docs/providers.md 5, 6.7).
  const left = remaining(update.paid.due, received, sent?.remaining_amount ?? undefined);
  if (!reason && (mapped.status === 'pending' || mapped.status === 'processing') && received && left && !isZero(left)) {
    reason = `partially paid; ${left} ${sentCurrency ?? ''} remaining`.trim();
  }
  if (reason) update.reason = reason;
  return update;
}

/**
 * What is still due in the currency sent: the invoice's amount minus the transactions' sum when
 * they are listed, else the provider's `remaining_amount`. Never below zero.
 */
function remaining(due: Money | undefined, received: Money | undefined, stated: string | undefined): string | undefined {
  if (due && received && received.currency === due.currency) return normalize(subFloor(due.amount, received.amount));
  return stated === undefined ? undefined : normalize(stated);
}

/** The listed transactions, normalized, one per txid (the provider repeats earlier ones). */
function transactionsOf(list: InvoiceCallback['transactions'], fallbackCurrency: string | undefined): Transaction[] {
  const out = new Map<string, Transaction>();
  for (const t of list ?? []) {
    const txid = t.txid ?? (t.id ? `#${t.id}` : undefined);
    const currency = t.currency ?? fallbackCurrency;
    if (!txid || !currency || t.amount === undefined || t.amount === null) continue;
    const tx: Transaction = { txid, amount: normalize(t.amount), currency };
    if (t.confirmations !== undefined && t.confirmations !== null) tx.confirmations = Number(t.confirmations);
    out.set(txid, tx);
  }
  return [...out.values()];
}

/** The sum of the transactions in `currency` (all of them when it is unknown), or undefined when none carried money. */
function receivedOf(transactions: Transaction[], currency: string | undefined): { amount: string; currency: string } | undefined {
  const cur = currency ?? transactions[0]?.currency;
  const mine = transactions.filter((t) => t.currency === cur && t.amount !== undefined);
  if (!cur || !mine.length) return undefined;
  const total = mine.reduce((sum, t) => add(sum, t.amount ?? '0'), '0');
  return isZero(total) ? undefined : { amount: normalize(total), currency: cur };
}

function feesOf(list: InvoiceCallback['fees']): Fee[] {
  return (list ?? []).map((f) => ({ type: f.type, amount: normalize(f.amount), currency: f.currency }));
}

function requestUpdate(cb: RequestCallback): ProviderUpdate {
  const mapped = requestStatus(cb.status);
  const sent = cb.currency_sent ?? undefined;
  const received = sent?.received_amount ?? undefined;
  const sentCurrency = sent?.currency?.iso ?? cb.payment_request_address?.currency?.iso ?? undefined;
  let reason = mapped.reason;
  if (received && !isZero(received)) {
    if (mapped.status === 'processing' && sent?.expected_amount && compare(received, sent.expected_amount) < 0) reason = 'partially paid';
    // A payment after the deadline arrives as another `expired` callback; it is refunded (docs/providers.md 6.9).
    if (mapped.status === 'expired') reason = 'late payment received; refunded by the provider';
  }
  const update: ProviderUpdate = {
    foreignId: cb.foreign_id,
    providerInvoiceId: cb.payment_request_id,
    providerStatus: cb.status,
    status: mapped.status,
    dedupeKey: `payment_request:${cb.payment_request_id}:${cb.status}:${received ?? ''}`,
  };
  // Payment requests state the running total received in the currency sent (docs/providers.md 2.4); no txids.
  if (received && !isZero(received) && sentCurrency) {
    update.receivedAmount = normalize(received);
    update.receivedCurrency = sentCurrency;
  }
  update.paid = {};
  const target = cb.payment_request_amount ?? undefined;
  if (target?.amount && target.currency?.iso) update.paid.value = { amount: normalize(target.amount), currency: target.currency.iso };
  if (sent?.expected_amount && sentCurrency) update.paid.due = { amount: normalize(sent.expected_amount), currency: sentCurrency };
  const address = cb.payment_request_address ?? undefined;
  if (address?.address && address.currency?.iso && sent?.expected_amount && !isTerminalText(mapped.status)) {
    update.payTo = { currency: address.currency.iso, address: address.address, amount: normalize(sent.expected_amount) };
    if (address.currency.network_name) update.payTo.network = address.currency.network_name;
  }
  if (reason) update.reason = reason;
  return update;
}

function isTerminalText(status: Status | 'unresolved'): boolean {
  return status === 'paid' || status === 'failed' || status === 'expired' || status === 'cancelled';
}

/**
 * A `transactions/info` answer for the invoice's foreign_id (docs/providers.md 1.6, 6.11): a deposit
 * seen (`not_confirmed`) or credited (`confirmed`) is evidence that the payer paid, so the invoice is
 * at least `processing`, with the money and txids on the record. It never says the invoice itself
 * is confirmed (only its callback does) or ended: other statuses change nothing.
 */
function lookupUpdate(tx: TransactionRecord, ref: InvoiceRef): ProviderUpdate | null {
  const fid = tx.foreign_id ?? tx.crypto_address?.foreign_id ?? undefined;
  if (tx.type !== 'deposit' && tx.type !== 'deposit_exchange') return null;
  if (fid !== undefined && fid !== ref.foreignId) return null;
  if (tx.status !== 'not_confirmed' && tx.status !== 'confirmed') return null;
  const sentCurrency = tx.currency_sent?.currency ?? tx.crypto_address?.currency ?? undefined;
  const transactions = transactionsOf(tx.transactions, sentCurrency);
  const received =
    receivedOf(transactions, sentCurrency) ?? (tx.currency_sent?.amount && sentCurrency ? { amount: normalize(tx.currency_sent.amount), currency: sentCurrency } : undefined);
  if (!received) return null;
  const update: ProviderUpdate = {
    foreignId: ref.foreignId,
    providerStatus: `deposit ${tx.status}`,
    status: 'processing',
    receivedAmount: received.amount,
    receivedCurrency: received.currency,
    dedupeKey: `transaction:${tx.id ?? ''}:${tx.status}:${transactions.map((t) => t.txid).join(',')}`,
  };
  if (transactions.length) update.transactions = transactions;
  const fees = feesOf(tx.fees);
  if (fees.length) update.fees = fees;
  return update;
}

interface Mapped {
  status: Status | 'unresolved';
  reason?: string;
}

function invoiceStatus(status: string, error: string): Mapped {
  if (!isOneOf(INVOICE_STATUSES, status)) return { status: 'unresolved' };
  switch (status) {
    case 'created':
      return { status: 'created' };
    case 'pending':
      return { status: 'pending' };
    case 'processing':
      return { status: 'processing' };
    case 'confirmed':
      return { status: 'paid' };
    case 'failed':
      return failedInvoice(error);
    default:
      return unreachable(status);
  }
}

/**
 * Invoices have no `expired` or `cancelled` value and no reason code: the `error` text is the only
 * signal (docs/providers.md 1.4, 5, 6.6), so the two documented texts are compared whole (case and the
 * final dot aside); any other text is a plain failure carrying that text.
 */
function failedInvoice(error: string): Mapped {
  const text = error.toLowerCase().replace(/\.$/, '');
  if (text === 'timer expired. user not paid') return { status: 'expired', reason: error };
  if (text === 'invoice cancelled') return { status: 'cancelled', reason: error };
  return error ? { status: 'failed', reason: error } : { status: 'failed' };
}

function requestStatus(status: string): Mapped {
  if (!isOneOf(REQUEST_STATUSES, status)) return { status: 'unresolved' };
  switch (status) {
    case 'created':
      return { status: 'created' };
    case 'processing':
      return { status: 'processing' };
    case 'paid':
      return { status: 'paid' };
    case 'failed':
      return { status: 'failed' };
    case 'expired':
      return { status: 'expired' };
    case 'restricted':
      return { status: 'failed', reason: 'restricted' };
    default:
      return unreachable(status);
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined; // a repeated header is not trusted
}

function unixToIso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

function unreachable(value: never): never {
  throw new TypeError(`unhandled case: ${String(value)}`);
}

/** For orders built outside the schema: report the impossible value as an issue instead of crashing. */
function unsupported(_value: never, field: string, issues: FieldIssue[]): void {
  issues.push({ field, message: 'unsupported value' });
}
