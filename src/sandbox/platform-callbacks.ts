/**
 * Callback bodies of the platform. Invoice shape and meaning per docs/providers.md 1.5, modelled on
 * the documented examples (coinspaid/docs api-documentation/v2/invoices.md and callbacks.md):
 * - `currency_sent` is the invoice total in the payer's crypto with `remaining_amount` beside it;
 * - `currency_received` is the invoice's target in the receive currency (`convert_to` when the
 *   invoice converts, else the crypto itself), not what arrived, except on a `confirmed` callback
 *   of a converting invoice, where it is what the merchant is credited in `convert_to`;
 * - what arrived is `transactions[]`, one entry per payment with its own amount, txid and
 *   confirmations (a string); fees come in `fees[]`;
 * - amounts are 8-place strings except the fee (the example prints "0.0008").
 * Payment-request shape per docs/providers.md 2.4 (no root `id`). The deposit transaction record
 * (transactions/info) per docs/providers.md 1.6. Every callback goes to the account's callback URL,
 * signed over the exact bytes sent, redelivered on the documented schedule (docs/providers.md 1.5).
 */
import { CURRENCIES } from './currencies.ts';
import { add, fixed8, normalize, pct, subFloor } from '../money.ts';
import { signBody } from '../signing.ts';
import type { CallbackSource, SandboxContext } from './context.ts';
import type { Rec, Tx } from './store.ts';

/** One platform account's credentials: the key and secret of its requests and of its callbacks' signatures. */
export type PlatformCredentials = {
  apiKey: string;
  apiSecret: string;
};

/** The documented redelivery schedule, in minutes after the previous attempt (docs/providers.md 1.5). */
const REDELIVERY_MINUTES = [1, 5, 15, 30, 60, 90, 120, 180, 240, 240, 240, 240];

/** PHP's json_encode defaults: `/` as `\/` and non-ASCII as `\uXXXX` (UTF-16 units). */
export function phpJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A signed platform callback to the account's callback URL; the signature covers exactly the bytes sent. */
export function sendPlatformCallback(ctx: SandboxContext, creds: PlatformCredentials, rec: CallbackSource, payload: Record<string, unknown>): void {
  const { provider } = rec;
  const body = ctx.callbacks.escapeThisOne() ? phpJson(payload) : JSON.stringify(payload);
  ctx.callbacks.enqueue({
    rec,
    callbackType: String(payload.type),
    callbackStatus: String(payload.status),
    body,
    headers: {
      'content-type': 'application/json',
      'x-processing-key': creds.apiKey,
      'x-processing-signature': signBody(body, creds.apiSecret),
    },
    target: () => ctx.callbackUrls[provider],
    retries: 12,
    redeliveryMinutes: REDELIVERY_MINUTES,
    late: false,
    duplicate: false,
  });
}

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

/** The sandbox's deposit fee, in percent of what arrived (the documented example charges 4 %). */
export const DEPOSIT_FEE_PERCENT = '1';
/** Risk score of every sandbox deposit (informational on the platform; a fixed low value here). */
const RISKSCORE = '0.1';

/** The currency an invoice converts to, when the payer's crypto is not the invoice currency. */
export const convertTo = (rec: Rec): string | null => (rec.payCurrency !== rec.currency ? rec.currency : null);

/**
 * What the merchant is credited for a converting invoice: everything that arrived, exchanged at
 * the fixed rate. The platform charges its fee after crediting ("The Merchant is charged a Fee for
 * Operation after the Funds are credited", coinspaid/docs v2/invoices.md), so the fee is not taken
 * off here; it is listed in `fees[]`. Each payment carries its value in the invoice currency at
 * the fixed table (the one that completes the invoice exactly what was left), so an exact payment
 * is credited exactly the invoice amount.
 */
export function credited(rec: Rec): string {
  return rec.txs.reduce((sum, t) => add(sum, t.fiat), '0');
}

export function invoiceCallbackBody(rec: Rec, error: string): Record<string, unknown> {
  const confirmed = rec.status === 'confirmed';
  const endUserReference = rec.meta.endUserReference;
  const to = convertTo(rec);
  const receivedAmount = confirmed && to ? credited(rec) : to ? rec.amount : rec.expectedCrypto;
  return {
    id: Number(rec.id),
    foreign_id: rec.foreignId,
    ...(endUserReference !== null && endUserReference !== undefined ? { end_user_reference: endUserReference } : {}),
    type: 'invoice',
    crypto_address: {
      id: Number(rec.addressId),
      currency: rec.payCurrency,
      ...(to ? { convert_to: to } : {}),
      address: rec.address,
      tag: null,
    },
    currency_sent: {
      currency: rec.payCurrency,
      amount: fixed8(rec.expectedCrypto),
      remaining_amount: fixed8(subFloor(rec.expectedCrypto, rec.sentCrypto)),
    },
    currency_received: { currency: to ?? rec.payCurrency, amount: fixed8(receivedAmount) },
    transactions: rec.txs.map((t) => transactionEntry(rec, t)),
    fees: confirmed ? [{ type: 'fee_crypto_deposit', currency: rec.payCurrency, amount: normalize(pct(rec.sentCrypto, DEPOSIT_FEE_PERCENT)) }] : [],
    error,
    status: rec.status,
    fixed_at: seconds(rec.fixedAt),
    expires_at: seconds(rec.deadline),
  };
}

/** One payment as a `transactions[]` entry, the same in callbacks and the transaction record (`extra` in the documented order before `confirmations`). */
function transactionEntry(rec: Rec, t: Tx, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: t.id,
    currency: rec.payCurrency,
    transaction_type: 'blockchain',
    type: 'deposit',
    address: rec.address,
    tag: null,
    amount: fixed8(t.amount),
    txid: t.txid,
    ...extra,
    confirmations: String(t.confirmations),
  };
}

/**
 * The deposit transaction record transactions/info answers (docs/providers.md 1.6, the documented
 * example verbatim in shape: top level, no `data` wrapper, `amount_minus_fee`, `riskscore`, a
 * `deposit` fee once confirmed). For an invoice's foreign_id the record covers every payment to the
 * invoice's address (one entry each in `transactions[]`); by a transaction's id or txid it covers
 * that payment only. Assumed, as the documents show a single-payment example only. Its status is
 * `confirmed` once every payment in it has a confirmation, `not_confirmed` before.
 */
export function depositRecord(rec: Rec, txs: Tx[]): Record<string, unknown> {
  const sent = txs.reduce((sum, t) => add(sum, t.amount), '0');
  const confirmed = txs.every((t) => t.confirmations > 0);
  const fee = confirmed ? pct(sent, DEPOSIT_FEE_PERCENT) : '0';
  const endUserReference = rec.meta.endUserReference;
  return {
    id: txs[0]?.id,
    ...(endUserReference !== null && endUserReference !== undefined ? { end_user_reference: endUserReference } : {}),
    type: 'deposit',
    crypto_address: { id: Number(rec.addressId) || rec.addressId, currency: rec.payCurrency, address: rec.address, foreign_id: rec.foreignId, tag: null },
    currency_sent: { currency: rec.payCurrency, amount: fixed8(sent) },
    currency_received: { currency: rec.payCurrency, amount: fixed8(sent), amount_minus_fee: fixed8(subFloor(sent, fee)) },
    transactions: txs.map((t) => transactionEntry(rec, t, { riskscore: RISKSCORE })),
    fees: confirmed ? [{ type: 'deposit', currency: rec.payCurrency, amount: fixed8(fee) }] : [],
    error: '',
    status: confirmed ? 'confirmed' : 'not_confirmed',
  };
}

function currencyObject(rec: Rec, iso: string): { iso: string; network_name: string } {
  const requested = rec.request.payment_currency as { iso?: unknown; network_name?: unknown } | undefined;
  if (requested?.iso === iso && typeof requested.network_name === 'string') return { iso, network_name: requested.network_name };
  return { iso, network_name: CURRENCIES[iso]?.network ?? iso };
}

export function paymentRequestCallbackBody(rec: Rec): Record<string, unknown> {
  return {
    payment_request_id: rec.id,
    foreign_id: rec.foreignId,
    type: 'payment_request',
    status: rec.status,
    end_user_email: rec.request.end_user_email ?? null,
    // No address (and no fixed rate) until the payer picked a currency.
    payment_request_address: rec.address
      ? { id: rec.addressId, currency: currencyObject(rec, rec.payCurrency), convert_to: currencyObject(rec, rec.currency), address: rec.address }
      : null,
    payment_request_amount: { currency: currencyObject(rec, rec.currency), amount: rec.amount },
    currency_sent: {
      currency: currencyObject(rec, rec.payCurrency),
      expected_amount: rec.expectedCrypto,
      received_amount: rec.sentCrypto,
      remaining_amount: subFloor(rec.expectedCrypto, rec.sentCrypto),
    },
    fixed_at: seconds(rec.fixedAt),
    expires_at: seconds(rec.deadline),
    valid_until: seconds(rec.deadline),
  };
}
