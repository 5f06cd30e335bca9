/**
 * The platform's messages and our translation of them, for CryptoProcessing and AlphaPo alike: the
 * zod schemas of its answers and callbacks, the request bodies we send, its statuses mapped to
 * ours, and its errors mapped to the taxonomy of `src/errors.ts`. Pure functions of the messages,
 * kept apart from the adapter (src/providers/platform.ts) that sends and receives them. Facts and
 * assumptions: docs/providers.md 1, 2, 5 and 6.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DuplicateForeignId, ProviderAuth, ProviderError, ProviderRejected, ValidationError } from '../errors.ts';
import type { Order } from '../invoice/order.ts';
import type { Status } from '../invoice/state.ts';
import { DECIMAL_TEXT, add, asJsonNumberLiteral, compare, isZero, jsonNumberText, normalize, subFloor } from '../money.ts';
import type { HttpResponse } from './http.ts';
import { isOneOf, isRecord, isThrottled, parseJson, parseOrThrow, readAnswer, scrub, statusError, unreachable } from './kit.ts';
import type { Fee, InvoiceRef, Money, ProviderUpdate, Transaction } from './types.ts';

const INVOICE_STATUSES = ['created', 'pending', 'processing', 'confirmed', 'failed'] as const;
const REQUEST_STATUSES = ['created', 'processing', 'paid', 'failed', 'expired', 'restricted'] as const;
const AUTH_CODES = new Set(['bad_header_signature', 'required_header_signature', 'bad_header_key', 'required_header_key']);

// ---------------------------------------------------------------------------------------------
// Provider-shaped types: responses and callbacks. Only what we use is required; echoes are
// tolerated when odd (docs/providers.md 1.3, 3: numeric foreign_id, `name` for `title`, "0.106.75000000").

const Id = z.union([z.number().int().nonnegative(), z.string().min(1)]).transform(String);
const ForeignId = z.union([z.string().min(1), z.number()]).transform(String);
const PaymentUrl = z.url({ protocol: /^https?$/ });
const Echo = z.string().regex(DECIMAL_TEXT).optional().catch(undefined);
/** Callback amounts are strings, but some documented examples carry bare JSON numbers. */
const Amount = z.union([z.string().regex(DECIMAL_TEXT, 'must be a decimal'), z.number().nonnegative()]).transform(jsonNumberText);

export const InvoiceCreated = z.object({
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

export const RequestCreated = z.object({
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
export const TransactionRecord = z.object({
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
export const NestedError = z.object({ errors: z.object({ code: z.string().min(1), error: z.string().optional() }) });
const FieldErrors = z.object({ errors: z.record(z.string(), z.unknown()) });

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
export function invoiceBody(order: Order): string {
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

export function requestPayload(order: Order): Record<string, unknown> {
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
export function parseAnswer<S extends z.ZodType>(provider: string, res: HttpResponse, schema: S): z.output<S> {
  return readAnswer(provider, res, schema, (r) => platformError(provider, r));
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

export function parseUpdate(json: Record<string, unknown>): ProviderUpdate {
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
export function lookupUpdate(tx: TransactionRecord, ref: InvoiceRef): ProviderUpdate | null {
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
