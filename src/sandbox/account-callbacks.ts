/**
 * Callbacks about the merchant account rather than an invoice: deposit, deposit_exchange,
 * withdrawal, withdrawal_exchange and exchange. The platform sends them to the account's one
 * callback URL, the same URL invoice callbacks go to (docs/providers.md 1.5 "Other callback
 * types"), so a merchant endpoint must take them. Shapes follow the documented examples
 * (coinspaid/docs api-documentation/callbacks.md); amounts come from the fixed rate table, so a
 * test can compute them. One documented oddity is left out on purpose: the withdrawal_exchange
 * example prints bare JSON numbers, which could only be produced here through a float.
 */
import { z } from 'zod';
import { fixed8, pct, positiveDecimal, subFloor } from '../money.ts';
import { convert, fakeAddress, fakeTxid, isCurrency } from './currencies.ts';
import type { AccountCallbackOptions } from './types.ts';

export const ACCOUNT_CALLBACK_TYPES = ['deposit', 'deposit_exchange', 'withdrawal', 'withdrawal_exchange', 'exchange'] as const;
export type AccountCallbackType = (typeof ACCOUNT_CALLBACK_TYPES)[number];

const Currency = z.string().refine(isCurrency, 'must be a currency code the sandbox lists');
/** The body of `POST /_sandbox/accounts/:provider/callbacks/:type`, as options. */
export const AccountCallbackBody = z
  .strictObject({
    currency: Currency.optional(),
    amount: positiveDecimal.optional(),
    convert_to: Currency.optional(),
    foreign_id: z.string().min(1).max(255).optional(),
    // Transaction statuses transactions/info documents (docs/providers.md 1.6).
    status: z.enum(['confirmed', 'not_confirmed', 'pending', 'cancelled', 'declined']).optional(),
  })
  .transform(({ currency, amount, convert_to: convertTo, foreign_id: foreignId, status }): AccountCallbackOptions => ({
    ...(currency ? { currency } : {}),
    ...(amount ? { amount } : {}),
    ...(convertTo ? { convertTo } : {}),
    ...(foreignId ? { foreignId } : {}),
    ...(status ? { status } : {}),
  }));

/** The sandbox's fees on account operations, in percent (the documented examples charge about 0.3-5 %). */
const FEE_PERCENT = { deposit: '0.3', exchange: '1', withdrawal: '0.1', mining: '0.05' } as const;

type Body = Record<string, unknown>;

/** Builds one account callback body. `nextId` hands out the integer ids the platform uses. */
export function accountCallbackBody(type: AccountCallbackType, o: AccountCallbackOptions, nextId: () => number): Body {
  const status = o.status ?? 'confirmed';
  const confirmed = status === 'confirmed';
  const sells = o.currency ?? (type === 'withdrawal_exchange' ? 'EUR' : 'BTC');
  const buys = o.convertTo ?? (type === 'withdrawal_exchange' ? 'BTC' : 'EUR');
  const amount = fixed8(o.amount ?? (isCurrency(sells) && ['EUR', 'USD', 'GBP', 'RUB'].includes(sells) ? '100' : '0.01'));
  const converted = fixed8(convert(amount, sells, buys));
  const address = fakeAddress(type === 'withdrawal_exchange' ? buys : sells);
  const confirmations = confirmed ? '3' : '0';
  const blockchain = (kind: 'deposit' | 'withdrawal', currency: string, amt: string, extra: Body = {}): Body => ({
    id: nextId(),
    currency,
    transaction_type: 'blockchain',
    type: kind,
    address,
    tag: null,
    amount: amt,
    txid: status === 'cancelled' ? null : fakeTxid(currency),
    ...extra,
    confirmations,
  });
  const exchange = (from: string, to: string, amt: string, amtTo: string): Body => ({
    id: nextId(),
    currency: from,
    currency_to: to,
    transaction_type: 'exchange',
    type: 'exchange',
    amount: amt,
    amount_to: amtTo,
  });
  const fee = (kind: string, currency: string, base: string, percent: string): Body => ({ type: kind, currency, amount: fixed8(pct(base, percent)) });
  const id = nextId();
  const addressId = nextId();
  switch (type) {
    case 'deposit': {
      const f = confirmed ? pct(amount, FEE_PERCENT.deposit) : '0';
      return {
        id,
        type,
        crypto_address: { id: addressId, currency: sells, address, tag: null, foreign_id: o.foreignId ?? 'user-id:2048' },
        currency_sent: { currency: sells, amount },
        currency_received: { currency: sells, amount, amount_minus_fee: fixed8(subFloor(amount, f)) },
        transactions: [blockchain('deposit', sells, amount, { riskscore: '0.1' })],
        fees: confirmed ? [fee('deposit', sells, amount, FEE_PERCENT.deposit)] : [],
        error: '',
        status,
      };
    }
    case 'deposit_exchange': {
      const f = confirmed ? pct(converted, FEE_PERCENT.exchange) : '0';
      return {
        id,
        type,
        crypto_address: { id: addressId, currency: sells, convert_to: buys, address, tag: null, foreign_id: o.foreignId ?? 'user-id:2048' },
        currency_sent: { currency: sells, amount },
        currency_received: { currency: buys, amount: converted, amount_minus_fee: fixed8(subFloor(converted, f)) },
        transactions: [blockchain('deposit', sells, amount, { riskscore: '0.1' }), exchange(sells, buys, amount, converted)],
        fees: confirmed ? [fee('exchange', buys, converted, FEE_PERCENT.exchange)] : [],
        error: '',
        status,
      };
    }
    case 'withdrawal':
      return {
        id,
        foreign_id: o.foreignId ?? 'withdrawal-1',
        type,
        crypto_address: { id: addressId, currency: sells, address, tag: null },
        currency_sent: { currency: sells, amount },
        currency_received: { currency: sells, amount },
        transactions: [blockchain('withdrawal', sells, amount)],
        fees: [fee('mining', sells, amount, FEE_PERCENT.mining), fee('withdrawal', sells, amount, FEE_PERCENT.withdrawal)],
        error: '',
        status,
      };
    case 'withdrawal_exchange':
      return {
        id,
        foreign_id: o.foreignId ?? 'withdrawal-1',
        type,
        crypto_address: { id: addressId, currency: sells, convert_to: buys, address, tag: null },
        currency_sent: { currency: sells, amount },
        currency_received: { currency: buys, amount: converted },
        transactions: [exchange(sells, buys, amount, converted), blockchain('withdrawal', buys, converted)],
        fees: [fee('exchange', sells, amount, FEE_PERCENT.exchange), fee('mining', sells, amount, FEE_PERCENT.mining)],
        error: '',
        status,
      };
    case 'exchange':
      return {
        id,
        type,
        currency_sent: { currency: sells, amount },
        currency_received: { currency: buys, amount: converted },
        transactions: [exchange(sells, buys, amount, converted)],
        fees: [fee('exchange', buys, converted, FEE_PERCENT.exchange)],
        error: '',
        status,
      };
    default: {
      const never: never = type;
      throw new TypeError(`unknown account callback type ${String(never)}`);
    }
  }
}
