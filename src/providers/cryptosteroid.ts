/**
 * CryptoSteroid invoices: `X-Api-Key` on requests, no body signing; the webhook proves itself
 * with the per-order `secret` echoed in its `Token` header. Facts and assumptions: docs/providers.md
 * sections 4, 5 and 6 (4, 11, 15, 16).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { ProviderError, ProviderRateLimited, ProviderRejected, ValidationError, type FieldIssue } from '../errors.ts';
import type { Order } from '../invoice/order.ts';
import type { Status } from '../invoice/state.ts';
import { envAccount } from '../lanes/accounts.ts';
import { DECIMAL_TEXT, compare, normalize, positiveDecimal } from '../money.ts';
import { safeEqual } from '../signing.ts';
import { retryAfterMs, type HttpResponse } from './http.ts';
import { callbackJson, isOneOf, isThrottled, laneOf, parseJson, parseOrThrow, readAnswer, scrub, send, statusError } from './kit.ts';
import type { AdapterDeps, CancelResult, CreateResult, InvoiceRef, PayTo, ProviderAdapter, ProviderModule, ProviderUpdate, Transaction } from './types.ts';

export interface CryptoSteroidCredentials {
  baseUrl: string;
  apiKey: string;
  merchantId: string;
  /** This account's own cap on unpaid invoices, when ACCOUNTS_FILE sets one (else CRYPTOSTEROID_MAX_UNPAID). */
  maxUnpaid?: number;
}

const ms = (max: number) => z.coerce.number().int().min(10).max(max);

/** CryptoSteroid, as its registry entry. */
export const cryptoSteroidModule: ProviderModule<CryptoSteroidCredentials> = {
  id: 'cryptosteroid',
  kinds: ['invoice'],
  // Each order carries its own `processingUrl`, authenticated by the order's secret (docs/providers.md 4.3, 4.6).
  callbacks: 'per-invoice',
  // The host of the invoice's `invoiceUrl` (its hosted page).
  paymentHosts: ['pay.cryptosteroid.com'],
  settings: z
    .strictObject({
      base_url: z.url({ protocol: /^https?$/ }).default('https://api.cryptosteroid.com'),
      api_key: z.string().trim().min(1),
      // The merchant is a UUID in the request path (docs/providers.md 4.1).
      merchant_id: z.uuid(),
      max_unpaid: z.coerce.number().int().min(1).max(100_000).optional(),
    })
    .transform((s) => ({ baseUrl: s.base_url, apiKey: s.api_key, merchantId: s.merchant_id, ...(s.max_unpaid ? { maxUnpaid: s.max_unpaid } : {}) })),
  env: {
    CRYPTOSTEROID_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
    CRYPTOSTEROID_API_KEY: z.string().trim().min(1).optional(),
    CRYPTOSTEROID_MERCHANT_ID: z.uuid().optional(),
    /** CryptoSteroid only calls back on PAID (docs/providers.md 4.6), so it is polled most. */
    POLL_CRYPTOSTEROID_MS: ms(86_400_000).default(60_000),
    /** Invoices expire 30 minutes after creation until a payment is seen (docs/providers.md 4.5). */
    DEADLINE_CRYPTOSTEROID_MS: ms(604_800_000).default(1_800_000),
    /**
     * How long the lane waits when the account is at its cap of unpaid invoices (docs/providers.md 6.4): it
     * clears only as payers pay or invoices expire, so minutes, not the seconds of a rate limit.
     */
    CRYPTOSTEROID_CAP_BACKOFF_MS: ms(3_600_000).default(120_000),
    /**
     * The most unpaid (NEW) invoices the lane lets the account hold. The provider caps them but
     * publishes neither the number nor its refusal (docs/providers.md 4.5, 6.4), so we count our
     * own and never send past this; per account `max_unpaid` in ACCOUNTS_FILE.
     */
    CRYPTOSTEROID_MAX_UNPAID: z.coerce.number().int().min(1).max(100_000).default(50),
  },
  defaultAccount: (env) =>
    envAccount(env, { base_url: 'CRYPTOSTEROID_BASE_URL', api_key: 'CRYPTOSTEROID_API_KEY', merchant_id: 'CRYPTOSTEROID_MERCHANT_ID' }, ['api_key', 'merchant_id']),
  sandbox(box) {
    const url = box.baseUrls.cryptosteroid;
    const creds = box.credentials.cryptosteroid;
    return url && creds ? { base_url: url, api_key: creds.apiKey, merchant_id: creds.merchantId } : undefined;
  },
  create: (settings, deps) => createCryptoSteroidAdapter(settings, deps),
};

const FIAT_CURRENCIES = ['USD', 'EUR', 'RUB'] as const;
const PAYMENT_METHODS = ['BTC', 'ETH', 'TRX', 'BCH', 'LTC', 'DOGE', 'USDT_ERC20', 'USDT_TRC20'] as const;
const WHO_PAYS = ['buyer', 'seller'] as const;
const STATUSES = ['NEW', 'WAITING', 'PAID', 'EXPIRED', 'CANCELLED'] as const;
const FIXED_WINDOW = 'not applicable: CryptoSteroid invoices expire 30 minutes after creation';

// The Invoice object: create, details and webhook body (docs/providers.md 4.4). Only what we use is
// required; echoes we merely report fall back to the order when odd.
const Invoice = z.object({
  invoiceId: z.union([z.string().min(1), z.number()]).transform(String),
  invoiceUrl: z.url({ protocol: /^https?$/ }),
  status: z.string().min(1),
  externalId: z.string().nullish(),
  fiatAmount: z.string().regex(DECIMAL_TEXT).optional().catch(undefined),
  fiatCurrency: z.string().min(1).optional().catch(undefined),
  expiresAt: z.string().optional().catch(undefined),
  payment: z
    .object({
      method: z.string().nullish(),
      address: z.string().min(1).nullish().catch(undefined),
      amount: z.string().nullish(),
      net: z.string().regex(DECIMAL_TEXT).nullish().catch(undefined),
      fee: z.string().regex(DECIMAL_TEXT).nullish().catch(undefined),
      paid: z
        .object({
          hash: z.array(z.string().min(1)).nullish().catch(undefined),
          received: z.string().regex(DECIMAL_TEXT, 'must be a decimal'),
          // A string in some examples, a number in others (docs/providers.md 4.4).
          fiat: z.union([z.string().regex(DECIMAL_TEXT), z.number().nonnegative()]).nullish(),
          finished: z.boolean().nullish(),
        })
        .nullish(),
    })
    .nullish(),
});

/** The answer of DELETE (docs/providers.md 4.2): `invoiceId` is typed Boolean in the table, a doc slip. */
const Removed = z.object({ status: z.string().min(1) });
type Invoice = z.infer<typeof Invoice>;

/** Assumed error envelope (docs/providers.md 6.15); `message` may be a list. */
const ErrorBody = z.object({ statusCode: z.number().optional(), message: z.union([z.string(), z.array(z.string())]) });

export function createCryptoSteroidAdapter(creds: CryptoSteroidCredentials, deps: AdapterDeps): ProviderAdapter {
  const id = 'cryptosteroid';
  const env = deps.env ?? {};
  const windowMs = Number(env.DEADLINE_CRYPTOSTEROID_MS ?? 1_800_000);
  const processingMs = Number(env.DEADLINE_PROCESSING_MS ?? 86_400_000);
  const capBackoffMs = Number(env.CRYPTOSTEROID_CAP_BACKOFF_MS ?? 120_000);
  const invoicesPath = `/merchants/${encodeURIComponent(creds.merchantId)}/invoices`;

  function call(method: 'GET' | 'POST' | 'DELETE' | 'PATCH', path: string, body: string | undefined, signal?: AbortSignal): Promise<HttpResponse> {
    const headers: Record<string, string> = { Accept: 'application/json', 'X-Api-Key': creds.apiKey };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return send(deps, { provider: id, baseUrl: creds.baseUrl, method, path, headers, body, signal });
  }

  function parseInvoice(res: HttpResponse): Invoice {
    return readAnswer(id, res, Invoice, (r) => cryptoSteroidError(id, r, capBackoffMs));
  }

  return {
    id,
    lane: laneOf(id, deps),
    kinds: ['invoice'],
    callbacks: 'per-invoice',
    tracking: {
      pollMs: Number(env.POLL_CRYPTOSTEROID_MS ?? 60_000),
      // 30 minutes until a payment is detected (docs/providers.md 4.5); the 24 h after that is our assumption.
      deadline(inv) {
        const opened = inv.opened_at ?? Date.parse(inv.accepted_at);
        if (inv.status === 'processing') return (inv.status_at ?? opened) + processingMs;
        const said = inv.expires_at ? Date.parse(inv.expires_at) : Number.NaN;
        return Number.isNaN(said) ? opened + windowMs : said;
      },
    },
    // Uniqueness of externalId is not documented (docs/providers.md 4.3, 6.15): a re-send may duplicate.
    uniqueForeignId: false,
    validate,

    async create(order, ctx) {
      const issues = validate(order);
      if (issues.length) throw new ValidationError(issues);
      const method = order.payment_currency?.toUpperCase();
      const body = JSON.stringify({
        fiatCurrency: order.currency,
        fiatAmount: order.amount, // a decimal string on the wire (docs/providers.md 4.3)
        description: order.description,
        whoPayCommission: order.provider_options?.whoPayCommission,
        externalId: order.foreign_id,
        paymentMethod: method,
        secret: ctx.secret,
        processingUrl: ctx.callbackUrl,
        returnUrl: order.urls?.success,
        failReturnUrl: order.urls?.failure,
      });
      const invoice = parseInvoice(await call('POST', invoicesPath, body, ctx.signal));
      const expires = invoice.expiresAt ? Date.parse(invoice.expiresAt) : Number.NaN;
      const result: CreateResult = {
        providerInvoiceId: invoice.invoiceId,
        paymentUrl: invoice.invoiceUrl,
        // NEW with a method chosen already waits for the payer's transfer (docs/providers.md 5).
        status: invoice.status === 'NEW' && invoice.payment ? 'pending' : 'created',
        providerStatus: invoice.status,
      };
      if (invoice.fiatAmount !== undefined) result.amount = invoice.fiatAmount;
      if (invoice.fiatCurrency !== undefined) result.currency = invoice.fiatCurrency;
      if (!Number.isNaN(expires)) result.expiresAt = new Date(expires).toISOString();
      const payTo = payToOf(invoice);
      if (payTo) result.payTo = payTo;
      return result;
    },

    verifyCallback(_raw: Buffer, headers: IncomingHttpHeaders, expectedToken?: string): boolean {
      const token = headers.token;
      if (!expectedToken || typeof token !== 'string') return false;
      return safeEqual(token, expectedToken);
    },

    parseCallback(raw: Buffer): ProviderUpdate {
      return toUpdate(parseOrThrow(Invoice, callbackJson(raw)));
    },

    async lookup(ref: InvoiceRef, signal?: AbortSignal): Promise<ProviderUpdate | null> {
      // Details need the provider's id; externalId is not searchable (docs/providers.md 4.2, 6.11).
      if (ref.kind !== 'invoice' || !ref.providerInvoiceId) return null;
      const res = await call('GET', `${invoicesPath}/${encodeURIComponent(ref.providerInvoiceId)}`, undefined, signal);
      if (res.status === 404) return null;
      return toUpdate(parseInvoice(res));
    },

    paymentMethods: PAYMENT_METHODS,

    async choosePaymentMethod(ref: InvoiceRef, method: string, signal?: AbortSignal): Promise<ProviderUpdate> {
      // PATCH names the provider's id; it is allowed while the invoice is NEW (docs/providers.md 4.2).
      if (ref.kind !== 'invoice' || !ref.providerInvoiceId)
        throw new ProviderRejected('no provider invoice id to update', id, undefined, { message: 'the provider has not named this invoice yet' });
      const res = await call('PATCH', `${invoicesPath}/${encodeURIComponent(ref.providerInvoiceId)}`, JSON.stringify({ paymentMethod: method }), signal);
      return toUpdate(parseInvoice(res));
    },

    cancels: ['invoice'],
    maxUnpaid: creds.maxUnpaid ?? Number(env.CRYPTOSTEROID_MAX_UNPAID ?? 50),

    async cancel(ref: InvoiceRef, signal?: AbortSignal): Promise<CancelResult> {
      // DELETE needs the provider's id (docs/providers.md 4.2): without it there is nothing to name.
      if (!ref.providerInvoiceId) return { kind: 'refused', message: 'no provider invoice id to cancel', code: 'no_invoice_id' };
      const res = await call('DELETE', `${invoicesPath}/${encodeURIComponent(ref.providerInvoiceId)}`, undefined, signal);
      if (res.status >= 200 && res.status <= 299) {
        const parsed = Removed.safeParse(parseJson(res.text));
        // The documented answer says CANCELLED; an answer saying anything else is not taken as done.
        if (parsed.success && parsed.data.status !== 'CANCELLED') return { kind: 'refused', message: `provider answered status ${parsed.data.status.slice(0, 40)}` };
        return { kind: 'cancelled', providerStatus: 'CANCELLED' };
      }
      const err = cryptoSteroidError(id, res, capBackoffMs);
      if (err instanceof ProviderRejected) return { kind: 'refused', message: err.fields.message ?? err.message };
      throw err;
    },
  };
}

function validate(order: Order): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const add = (field: string, message: string): void => void issues.push({ field, message });
  if (order.provider !== 'cryptosteroid') add('provider', 'must be "cryptosteroid" for this connector');
  if (order.kind !== 'invoice') add('kind', 'CryptoSteroid offers invoices only');
  if (!positiveDecimal.safeParse(order.amount).success) add('amount', 'must be a decimal string greater than 0, e.g. "100.50"');
  if (!isOneOf(FIAT_CURRENCIES, order.currency)) add('currency', 'must be one of USD, EUR, RUB');
  if (!order.description) add('description', 'required for CryptoSteroid invoices');
  if (order.payment_currency !== undefined && !isOneOf(PAYMENT_METHODS, order.payment_currency.toUpperCase())) {
    add('payment_currency', `must be one of ${PAYMENT_METHODS.join(', ')}`);
  }
  if (order.timer) add('timer', FIXED_WINDOW);
  if (order.expires_in_seconds !== undefined) add('expires_in_seconds', FIXED_WINDOW);
  if (order.expires_at !== undefined) add('expires_at', FIXED_WINDOW);
  for (const [key, value] of Object.entries(order.provider_options ?? {})) {
    if (key !== 'whoPayCommission') add(`provider_options.${key}`, 'unknown option for this provider (known: whoPayCommission)');
    else if (!isOneOf(WHO_PAYS, value)) add(`provider_options.${key}`, 'must be "buyer" or "seller"');
  }
  return issues;
}

function toUpdate(invoice: Invoice): ProviderUpdate {
  const payment = invoice.payment ?? undefined;
  const paid = payment?.paid ?? undefined;
  const update: ProviderUpdate = {
    providerInvoiceId: invoice.invoiceId,
    providerStatus: invoice.status,
    status: mapStatus(invoice.status, Boolean(invoice.payment)),
    // The webhook is sent once and retried, so invoiceId alone would do for it (docs/providers.md 6.16);
    // status and amount are added so a polled NEW never shadows the later PAID.
    dedupeKey: `${invoice.invoiceId}:${invoice.status}:${paid?.received ?? ''}`,
  };
  if (invoice.externalId) update.foreignId = invoice.externalId;
  const method = payment?.method ? splitMethod(payment.method) : undefined;
  if (paid && method) {
    // `received` is what the payer sent, in the method's coin (docs/providers.md 4.4).
    update.receivedAmount = normalize(paid.received);
    update.receivedCurrency = method.currency;
    const hashes = [...new Set(paid.hash ?? [])];
    // One total for all the hashes: an amount per transaction only when there is one.
    update.transactions = hashes.map((txid): Transaction => {
      const tx: Transaction = { txid, currency: method.currency };
      if (hashes.length === 1) tx.amount = normalize(paid.received);
      if (method.network) tx.network = method.network;
      return tx;
    });
    if (payment?.fee) update.fees = [{ type: 'commission', amount: normalize(payment.fee), currency: method.currency }];
    // What the merchant is credited, stated for a finished payment only.
    if (invoice.status === 'PAID' && payment?.net) {
      update.settledAmount = normalize(payment.net);
      update.settledCurrency = method.currency;
    }
    const due = payment?.amount;
    if (invoice.status === 'WAITING' && due && DECIMAL_TEXT.test(due) && compare(paid.received, due) < 0) update.reason = 'partially paid';
  }
  update.paid = {};
  const fiat = paid?.fiat;
  if (fiat !== undefined && fiat !== null && invoice.fiatCurrency) update.paid.value = { amount: normalize(String(fiat)), currency: invoice.fiatCurrency };
  if (payment?.amount && DECIMAL_TEXT.test(payment.amount) && method) update.paid.due = { amount: normalize(payment.amount), currency: method.currency };
  const payTo = payToOf(invoice);
  if (payTo && (invoice.status === 'NEW' || invoice.status === 'WAITING')) update.payTo = payTo;
  return update;
}

/** `USDT_TRC20` -> USDT on TRC20; `BTC` -> BTC (docs/providers.md 4.3 methods). */
function splitMethod(method: string): { currency: string; network?: string } {
  const [currency = method, network] = method.split('_', 2);
  return network ? { currency, network } : { currency };
}

/** Where and how much to pay, once a method is chosen (docs/providers.md 4.4 `payment`). */
function payToOf(invoice: Invoice): PayTo | undefined {
  const p = invoice.payment;
  if (!p?.method || !p.address || !p.amount || !DECIMAL_TEXT.test(p.amount)) return undefined;
  const m = splitMethod(p.method);
  return { currency: m.currency, ...(m.network ? { network: m.network } : {}), address: p.address, amount: normalize(p.amount) };
}

function mapStatus(status: string, methodChosen: boolean): Status | 'unresolved' {
  if (!isOneOf(STATUSES, status)) return 'unresolved';
  switch (status) {
    case 'NEW':
      return methodChosen ? 'pending' : 'created';
    case 'WAITING':
      return 'processing'; // payment seen, awaiting confirmations (assumed, docs/providers.md 4.5)
    case 'PAID':
      return 'paid';
    case 'EXPIRED':
      return 'expired';
    case 'CANCELLED':
      return 'cancelled';
    default: {
      const unhandled: never = status;
      throw new TypeError(`unhandled status ${String(unhandled)}`);
    }
  }
}

/** Maps a non-2xx answer by status (the envelope carries no codes); never echoes the body. */
export function cryptoSteroidError(provider: string, res: HttpResponse, capBackoffMs = 120_000): ProviderError {
  const { status } = res;
  const body = ErrorBody.safeParse(parseJson(res.text));
  const text = body.success ? [body.data.message].flat().join('; ') : '';
  // The cap on unpaid NEW invoices answers 429 too (docs/providers.md 6.4); it lifts as invoices are paid or expire.
  if (isThrottled(res) && /too many unpaid invoices/i.test(text)) {
    return new ProviderRateLimited('account at its cap of unpaid invoices', provider, status, {
      capacity: 'unpaid_invoices',
      retryAfterMs: retryAfterMs(res.headers) ?? capBackoffMs,
    });
  }
  // A refusal carries the provider's message (masked); every other status speaks for itself (kit.ts).
  return statusError(provider, res, body.success ? { message: scrub(text) } : {});
}
