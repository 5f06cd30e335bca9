/**
 * The sandbox's currency list: what the platform accepts, its per-currency minimum (docs/providers.md 1.2:
 * "a minimum exists per currency", example 10.00 EUR) and a fixed EUR rate so amounts can be
 * converted to the payer's crypto. Rates are fixed on purpose: reproducible callbacks beat realism,
 * and a test can compute every crypto amount it expects (`rate`, `convert`; docs/providers.md lists
 * the table). Every pair goes through EUR: 1 BTC = 60000 EUR, so 100 EUR = 0.00166667 BTC.
 */
import { createHash, randomBytes } from 'node:crypto';
import { compare } from '../money.ts';
import { div, mul } from '../money.ts';

export interface CurrencyInfo {
  type: 'fiat' | 'crypto';
  /** Minimum invoice amount, written as the platform prints it in its error text. */
  min: string;
  /** Value of one unit in EUR. */
  eur: string;
  network: string;
}

export const CURRENCIES: Readonly<Record<string, CurrencyInfo>> = Object.freeze({
  EUR: { type: 'fiat', min: '10.00', eur: '1', network: 'fiat' },
  USD: { type: 'fiat', min: '10.00', eur: '0.92', network: 'fiat' },
  GBP: { type: 'fiat', min: '10.00', eur: '1.17', network: 'fiat' },
  RUB: { type: 'fiat', min: '1000.00', eur: '0.01', network: 'fiat' },
  BTC: { type: 'crypto', min: '0.0001', eur: '60000', network: 'Bitcoin' },
  BCH: { type: 'crypto', min: '0.001', eur: '400', network: 'Bitcoin Cash' },
  ETH: { type: 'crypto', min: '0.001', eur: '3000', network: 'Ethereum' },
  LTC: { type: 'crypto', min: '0.01', eur: '80', network: 'Litecoin' },
  DOGE: { type: 'crypto', min: '10', eur: '0.15', network: 'Dogecoin' },
  TRX: { type: 'crypto', min: '10', eur: '0.11', network: 'Tron' },
  XRP: { type: 'crypto', min: '1', eur: '0.5', network: 'Ripple' },
  USDT: { type: 'crypto', min: '1', eur: '0.92', network: 'Omni' },
  USDTE: { type: 'crypto', min: '1', eur: '0.92', network: 'Ethereum (ERC20)' },
  USDTT: { type: 'crypto', min: '1', eur: '0.92', network: 'Tron (TRC20)' },
  USDC: { type: 'crypto', min: '1', eur: '0.92', network: 'Ethereum (ERC20)' },
});

export const isCurrency = (iso: unknown): iso is string => typeof iso === 'string' && Object.hasOwn(CURRENCIES, iso);
export const isCrypto = (iso: unknown): boolean => isCurrency(iso) && CURRENCIES[iso]?.type === 'crypto';

/** True when `amount` (decimal string) reaches the currency's minimum. */
export function meetsMinimum(amount: string, iso: string): boolean {
  const info = CURRENCIES[iso];
  return !info || compare(amount, info.min) >= 0;
}

/** Converts an amount between two listed currencies at the fixed EUR rates, 8 places (half up). */
export function convert(amount: string, from: string, to: string): string {
  if (from === to) return amount;
  const a = CURRENCIES[from]?.eur ?? '1';
  const b = CURRENCIES[to]?.eur ?? '1';
  return div(mul(amount, a, 18), b, 8);
}

/** Units of `to` per unit of `from` at the fixed table, 18 places (for docs and tests). */
export function rate(from: string, to: string): string {
  return div(CURRENCIES[from]?.eur ?? '1', CURRENCIES[to]?.eur ?? '1', 18);
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** n bytes: random, or derived from a seed so one invoice always gets the same address. */
const bytes = (n: number, seed?: string): Buffer => (seed === undefined ? randomBytes(n) : createHash('sha512').update(seed).digest().subarray(0, n));
const base58 = (n: number, seed?: string): string => [...bytes(n, seed)].map((b) => B58[b % 58]).join('');

/** A plausible-looking deposit address for the currency (never a real one); deterministic with a seed. */
export function fakeAddress(iso: string, seed?: string): string {
  if (['ETH', 'USDTE', 'USDC'].includes(iso)) return `0x${bytes(20, seed).toString('hex')}`;
  if (['TRX', 'USDTT'].includes(iso)) return `T${base58(33, seed)}`;
  if (iso === 'XRP') return `r${base58(33, seed)}`;
  if (iso === 'DOGE') return `D${base58(33, seed)}`;
  if (iso === 'LTC') return `M${base58(33, seed)}`;
  return `2N${base58(33, seed)}`;
}

export const fakeTxid = (iso: string): string => (['ETH', 'USDTE', 'USDC'].includes(iso) ? '0x' : '') + randomBytes(32).toString('hex');
