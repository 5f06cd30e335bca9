/**
 * CryptoProcessing and AlphaPo: one platform (formerly CoinsPaid) behind two hosts with their own
 * credentials. Invoices v2 and payment requests v1, authenticated by HMAC-SHA512 over the exact
 * body bytes. This file is the adapter and the registry entry (what is sent where, signed how,
 * validated against what); the messages themselves, their schemas, status maps and error mapping
 * are in src/providers/platform-transform.ts. Facts and assumptions: docs/providers.md 1, 2, 3, 5 and 6.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { ProviderRejected, ResponseShape, ValidationError, zodIssues, type FieldIssue } from '../errors.ts';
import type { Order } from '../invoice/order.ts';
import { envAccount } from '../lanes/accounts.ts';
import { normalize, positiveDecimal } from '../money.ts';
import { safeEqual, signBody, verifyBody } from '../signing.ts';
import type { HttpResponse } from './http.ts';
import { NOT_JSON, callbackObject, isOneOf, isRecord, laneOf, parseJson, scrub, send, unreachable } from './kit.ts';
import {
  InvoiceCreated,
  NestedError,
  RequestCreated,
  TransactionRecord,
  invoiceBody,
  lookupUpdate,
  parseAnswer,
  parseUpdate,
  platformError,
  requestPayload,
} from './platform-transform.ts';
import { isCryptoCode, urlIssues } from './rules.ts';
import type { AdapterDeps, CancelResult, CreateResult, ForeignCallback, InvoiceRef, ProviderAdapter, ProviderModule, ProviderUpdate, TrackedInvoice } from './types.ts';

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
const KNOWN_OPTIONS = 'type, payment_currency_network';

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
// Small helpers.

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined; // a repeated header is not trusted
}

function unixToIso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** For orders built outside the schema: report the impossible value as an issue instead of crashing. */
function unsupported(_value: never, field: string, issues: FieldIssue[]): void {
  issues.push({ field, message: 'unsupported value' });
}
