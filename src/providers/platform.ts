/**
 * CryptoProcessing and AlphaPo: one platform (formerly CoinsPaid) behind two hosts with their own
 * credentials. Invoices v2 and payment requests v1, authenticated by HMAC-SHA512 over the exact
 * body bytes. Facts and assumptions: docs/providers.md 1, 2, 3, 5 and 6.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import {
  DuplicateForeignId,
  OutcomeUnknown,
  ProviderAuth,
  ProviderError,
  ProviderRateLimited,
  ProviderRejected,
  ProviderUnavailable,
  ResponseShape,
  ValidationError,
  zodIssues,
  type FieldIssue,
} from '../errors.ts';
import type { Order } from '../invoice/order.ts';
import type { Status } from '../invoice/state.ts';
import { DEFAULT_ACCOUNT, envAccount } from '../lanes.ts';
import { DECIMAL_TEXT, asJsonNumberLiteral, compare, isZero, jsonNumberText, positiveDecimal } from '../money.ts';
import { safeEqual, signBody, verifyBody } from '../signing.ts';
import { retryAfterMs, type HttpResponse } from './http.ts';
import type { AdapterDeps, CreateResult, InvoiceRef, ProviderAdapter, ProviderModule, ProviderUpdate, TrackedInvoice } from './types.ts';

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
} as const;

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

const InvoiceCallback = z.object({
  id: Id,
  foreign_id: ForeignId,
  type: z.literal('invoice'),
  status: z.string().min(1),
  error: z.string().nullish(),
  currency_sent: z.object({ currency: z.string().nullish(), remaining_amount: Amount.nullish() }).nullish(),
  currency_received: z.object({ currency: z.string().min(1), amount: Amount }).nullish(),
  // `confirmations` is a string in invoice examples and a number in deposit ones (docs/providers.md 1.5).
  transactions: z.array(z.object({ confirmations: z.union([z.string(), z.number()]).nullish() })).nullish(),
});
type InvoiceCallback = z.infer<typeof InvoiceCallback>;

const RequestCallback = z.object({
  payment_request_id: z.string().min(1),
  foreign_id: ForeignId,
  status: z.string().min(1),
  currency_sent: z
    .object({
      currency: z.object({ iso: z.string().min(1) }).nullish(),
      expected_amount: Amount.nullish(),
      received_amount: Amount.nullish(),
    })
    .nullish(),
});
type RequestCallback = z.infer<typeof RequestCallback>;

const FlatError = z.object({ code: z.string().min(1), error: z.string().optional() });
const FieldErrors = z.object({ errors: z.record(z.string(), z.unknown()) });

// ---------------------------------------------------------------------------------------------

export function createPlatformAdapter(id: PlatformId, creds: PlatformCredentials, deps: AdapterDeps): ProviderAdapter {
  const profile = PROFILES[id];
  const env = deps.env ?? {};
  const timerMs = Number(env.DEADLINE_TIMER_MS ?? 900_000);
  const processingMs = Number(env.DEADLINE_PROCESSING_MS ?? 86_400_000);

  async function send(method: 'GET' | 'POST', path: string, body: string, signal?: AbortSignal): Promise<HttpResponse> {
    // `body` is the one serialization: the signature covers exactly the bytes that go out.
    const headers = {
      'Content-Type': 'application/json',
      'X-Processing-Key': creds.apiKey,
      'X-Processing-Signature': signBody(body, creds.apiSecret),
    };
    try {
      return await deps.http.request({ provider: id, baseUrl: creds.baseUrl, method, path, headers, body, signal });
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      // Aborted or otherwise interrupted after we handed the request over: it may have arrived.
      throw new OutcomeUnknown('request interrupted before an answer', id, undefined, { cause: err });
    }
  }

  const adapter: ProviderAdapter = {
    id,
    lane: deps.lane ?? { provider: id, account: DEFAULT_ACCOUNT },
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
          const res = await send('POST', PATHS.invoice, body, ctx.signal);
          const { data } = parseAnswer(id, res, InvoiceCreated);
          const result: CreateResult = {
            providerInvoiceId: data.id,
            paymentUrl: data.url,
            // Timed invoices start `pending` (docs/providers.md 1.3). Any other text still means "accepted,
            // payment URL known", which is what `created` says; callbacks move it on.
            status: data.status === 'pending' ? 'pending' : 'created',
            providerStatus: data.status,
            amount: data.amount ?? order.amount,
            currency: data.currency ?? order.currency,
          };
          if (data.release_at) result.expiresAt = unixToIso(data.release_at);
          return result;
        }
        case 'payment_request': {
          const body = JSON.stringify(requestPayload(order));
          const res = await send('POST', PATHS.payment_request, body, ctx.signal);
          const { data } = parseAnswer(id, res, RequestCreated);
          const result: CreateResult = {
            providerInvoiceId: data.id,
            paymentUrl: data.payment_link,
            status: 'created',
            providerStatus: data.status,
            amount: data.amount ?? order.amount,
            currency: data.currency?.iso ?? order.currency,
          };
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
      const json = parseJson(raw.toString('utf8'));
      if (json === NOT_JSON || !isRecord(json)) throw new ValidationError([{ field: '(body)', message: 'must be a JSON object' }]);
      return parseUpdate(json);
    },

    async lookup(ref: InvoiceRef, signal?: AbortSignal): Promise<ProviderUpdate | null> {
      switch (ref.kind) {
        case 'payment_request':
          return null; // No lookup endpoint for payment requests (docs/providers.md 2.4).
        case 'invoice': {
          // Best effort (docs/providers.md 1.6, 6.11): a signed JSON body on a GET; 404 until a transaction exists.
          const res = await send('GET', PATHS.lookup, JSON.stringify({ foreign_id: ref.foreignId }), signal);
          if (res.status === 404) return null;
          if (res.status < 200 || res.status > 299) throw platformError(id, res);
          const json = parseJson(res.text);
          if (json === NOT_JSON || !isRecord(json)) throw new ResponseShape(id, res.status, [{ field: '(body)', message: 'must be a JSON object' }]);
          const record = isRecord(json.data) ? json.data : json;
          // A plain transaction record uses other statuses (not_confirmed, declined, ...) that say
          // nothing reliable about the invoice: no answer, callbacks stay the source of truth.
          if (record.type !== 'invoice') return null;
          try {
            return parseUpdate(record);
          } catch (err) {
            if (err instanceof ValidationError) throw new ResponseShape(id, res.status, err.issues);
            throw err;
          }
        }
        default:
          return unreachable(ref.kind);
      }
    },
  };
  return adapter;
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

function parseAnswer<S extends z.ZodType>(id: PlatformId, res: HttpResponse, schema: S): z.output<S> {
  if (res.status < 200 || res.status > 299) throw platformError(id, res);
  const json = parseJson(res.text);
  if (json === NOT_JSON) throw new ResponseShape(id, res.status, [{ field: '(body)', message: 'not JSON' }]);
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ResponseShape(id, res.status, zodIssues(parsed.error.issues));
  return parsed.data;
}

/** Maps a non-2xx answer to the taxonomy, by status and error code; never echoes the body. */
export function platformError(provider: string, res: HttpResponse): ProviderError {
  const { status } = res;
  // Cloudflare's throttle page is plain text and may come with a status other than 429.
  if (status === 429 || isThrottlePage(res.text)) return new ProviderRateLimited('provider rate limit', provider, status, { retryAfterMs: retryAfterMs(res.headers) });
  if (status >= 500) return new ProviderUnavailable(`provider error (HTTP ${status})`, provider, status);
  const json = parseJson(res.text);
  const flat = FlatError.safeParse(json);
  if (flat.success && AUTH_CODES.has(flat.data.code)) return new ProviderAuth(`provider refused our credentials (${flat.data.code})`, provider, status);
  if (status === 401 || status === 403) return new ProviderAuth(`provider refused our credentials (HTTP ${status})`, provider, status);
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
    return new ProviderRejected(`provider rejected the request (fields: ${Object.keys(fields).join(', ') || 'none'})`, provider, status, fields);
  }
  if (status >= 400) return new ProviderRejected(`provider rejected the request (HTTP ${status})`, provider, status);
  return new ResponseShape(provider, status, [{ field: '(status)', message: `unexpected HTTP status ${status}` }]);
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
  const received = cb.currency_received ?? undefined;
  const remaining = cb.currency_sent?.remaining_amount ?? undefined;
  let reason = mapped.reason;
  // Installments and `good_until_expired` leave an open invoice partly paid (docs/providers.md 5, 6.7).
  if (!reason && (mapped.status === 'pending' || mapped.status === 'processing') && received && !isZero(received.amount) && remaining && !isZero(remaining)) {
    reason = `partially paid; ${remaining} ${cb.currency_sent?.currency ?? ''} remaining`.trim();
  }
  const update: ProviderUpdate = {
    foreignId: cb.foreign_id,
    providerInvoiceId: cb.id,
    providerStatus: cb.status,
    status: mapped.status,
    dedupeKey: `invoice:${cb.id}:${cb.status}:${cb.transactions?.length ?? 0}`,
  };
  // `currency_received` is there before anything arrived (it names what the invoice converts to);
  // with an empty transaction list nothing was received, so no amount is reported.
  if (received && !(Array.isArray(cb.transactions) && cb.transactions.length === 0)) {
    update.receivedAmount = received.amount;
    update.receivedCurrency = received.currency;
  }
  if (reason) update.reason = reason;
  return update;
}

function requestUpdate(cb: RequestCallback): ProviderUpdate {
  const mapped = requestStatus(cb.status);
  const sent = cb.currency_sent ?? undefined;
  const received = sent?.received_amount ?? undefined;
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
  if (received) update.receivedAmount = received;
  if (received && sent?.currency) update.receivedCurrency = sent.currency.iso;
  if (reason) update.reason = reason;
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

const NOT_JSON = Symbol('not JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error.issues));
  return parsed.data;
}

function isThrottlePage(text: string): boolean {
  return /^error code:\s*1015$/i.test(text.trim());
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOneOf<T extends string>(list: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (list as readonly string[]).includes(value);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined; // a repeated header is not trusted
}

/** Provider texts may quote what we sent; e-mail addresses are masked before they travel on. */
function scrub(text: string): string {
  return text.replace(/[^\s"'<>@]+@[^\s"'<>@]+/g, '[redacted]').slice(0, 300);
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
