/**
 * Callback bodies of the platform. Invoice shape per docs/providers.md 1.5 (modelled on the documented
 * examples: `currency_sent.amount` is the invoice total in the payer's crypto with
 * `remaining_amount` beside it, amounts are unpadded strings, `confirmations` a string);
 * payment-request shape per docs/providers.md 2.4 (no root `id`).
 */
import { CURRENCIES } from './currencies.ts';
import { pct, subFloor } from '../money.ts';
import type { Rec } from './store.ts';

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

export function invoiceCallbackBody(rec: Rec, error: string): Record<string, unknown> {
  const confirmed = rec.status === 'confirmed';
  const endUserReference = rec.meta.endUserReference;
  return {
    id: Number(rec.id),
    foreign_id: rec.foreignId,
    ...(endUserReference !== null && endUserReference !== undefined ? { end_user_reference: endUserReference } : {}),
    type: 'invoice',
    crypto_address: {
      id: Number(rec.addressId),
      currency: rec.payCurrency,
      ...(rec.payCurrency !== rec.currency ? { convert_to: rec.currency } : {}),
      address: rec.address,
      tag: null,
    },
    currency_sent: {
      currency: rec.payCurrency,
      amount: rec.expectedCrypto,
      remaining_amount: subFloor(rec.expectedCrypto, rec.sentCrypto),
    },
    currency_received: { currency: rec.currency, amount: rec.amount },
    transactions: rec.txs.map((t) => ({
      id: t.id,
      currency: rec.payCurrency,
      transaction_type: 'blockchain',
      type: 'deposit',
      address: rec.address,
      tag: null,
      amount: t.amount,
      txid: t.txid,
      confirmations: confirmed ? '1' : '0',
    })),
    fees: confirmed ? [{ type: 'fee_crypto_deposit', currency: rec.payCurrency, amount: pct(rec.sentCrypto, '1') }] : [],
    error,
    status: rec.status,
    fixed_at: seconds(rec.fixedAt),
    expires_at: seconds(rec.deadline),
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
