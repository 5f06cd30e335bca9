/**
 * Amounts, the one module for them. Money is carried as decimal strings end to end and nothing
 * here converts through a JS float: comparison and normalisation work on the digits, arithmetic
 * (the sandbox's bookkeeping of received sums and conversions) on BigInt fixed point with 18
 * fraction digits, so "100.50" never becomes 100.49999 and sums are exact.
 */
import { z } from 'zod';

const DECIMAL = /^(0|[1-9]\d{0,17})(\.\d{1,18})?$/;

/** Any non-negative decimal text ("0.106", "007.5"): what providers send; looser than an order's amount. */
export const DECIMAL_TEXT = /^\d+(\.\d+)?$/;

/** A positive decimal string such as "100.50": no sign, no exponent, no leading zeros. */
export const positiveDecimal = z
  .string()
  .regex(DECIMAL, 'must be a decimal string like "100.50"')
  .refine((s) => /[1-9]/.test(s), 'must be greater than 0');

/** Splits "12.340" into integer and fraction digit strings with trailing fraction zeros removed. */
function parts(value: string): [string, string] {
  const [int = '0', frac = ''] = value.split('.');
  return [int.replace(/^0+(?=\d)/, ''), frac.replace(/0+$/, '')];
}

/** Canonical form: "100.50" -> "100.5", "007" -> "7", "1.000" -> "1". */
export function normalize(value: string): string {
  const [int, frac] = parts(value);
  return frac ? `${int}.${frac}` : int;
}

/** Compares two non-negative decimal strings: -1, 0 or 1. */
export function compare(a: string, b: string): -1 | 0 | 1 {
  const [ai, af] = parts(a);
  const [bi, bf] = parts(b);
  if (ai.length !== bi.length) return ai.length < bi.length ? -1 : 1;
  if (ai !== bi) return ai < bi ? -1 : 1;
  const width = Math.max(af.length, bf.length);
  const x = af.padEnd(width, '0');
  const y = bf.padEnd(width, '0');
  if (x === y) return 0;
  return x < y ? -1 : 1;
}

/** True when a non-negative decimal string is exactly zero. */
export function isZero(value: string): boolean {
  return !/[1-9]/.test(value);
}

/**
 * The platform's invoice `amount` is a JSON number. We emit it from the canonical decimal text
 * (a raw JSON number literal), never from a parsed float, so the digits on the wire are ours.
 */
export function asJsonNumberLiteral(value: string): string {
  if (!DECIMAL.test(value)) throw new TypeError('not a decimal string');
  return normalize(value);
}

/**
 * Decimal text of a JSON number a parser already produced (providers that send amounts as bare
 * numbers): its shortest round-trip form is the literal as written (up to 17 significant digits),
 * and an exponent form such as 1e-7 is expanded by moving the point in the text, not by arithmetic.
 */
export function jsonNumberText(value: string | number): string {
  if (typeof value === 'string') return value;
  return numberLiteralToDecimal(String(value)) ?? String(value);
}

// ---------------------------------------------------------------------------------------------
// Fixed-point arithmetic.

const SCALE = 18;
const ONE = 10n ** BigInt(SCALE);
const FIXED_INPUT = /^(\d+)(?:\.(\d+))?$/;

/** Parses a non-negative decimal string ("100.5", "007", "0.00000001") into fixed point. */
export function toFixed(value: string): bigint {
  const m = FIXED_INPUT.exec(value);
  if (!m) throw new TypeError(`not a decimal string: ${value}`);
  const int = m[1] ?? '0';
  const frac = (m[2] ?? '').slice(0, SCALE).padEnd(SCALE, '0');
  return BigInt(int) * ONE + BigInt(frac);
}

/** Formats fixed point with `dp` fraction digits (half-up rounding); `pad` keeps trailing zeros. */
export function fromFixed(value: bigint, dp = 8, pad = false): string {
  const negative = value < 0n;
  let v = negative ? -value : value;
  const drop = 10n ** BigInt(SCALE - dp);
  v = (v + drop / 2n) / drop;
  const unit = 10n ** BigInt(dp);
  const int = (v / unit).toString();
  let frac = dp > 0 ? (v % unit).toString().padStart(dp, '0') : '';
  if (!pad) frac = frac.replace(/0+$/, '');
  return `${negative ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

export const add = (a: string, b: string): string => fromFixed(toFixed(a) + toFixed(b), SCALE);
/** a - b, never below zero (remaining amounts). */
export const subFloor = (a: string, b: string): string => {
  const d = toFixed(a) - toFixed(b);
  return fromFixed(d < 0n ? 0n : d, SCALE);
};
export const mul = (a: string, b: string, dp = 8): string => fromFixed((toFixed(a) * toFixed(b)) / ONE, dp);
export const div = (a: string, b: string, dp = 8): string => fromFixed((toFixed(a) * ONE) / toFixed(b), dp);
/** Percentage share, e.g. pct("2.5", "1") = "0.025". */
export const pct = (a: string, percent: string, dp = 8): string => div(mul(a, percent, SCALE), '100', dp);
/** Half of an amount, for "pay partly" without an explicit amount. */
export const half = (a: string, dp = 8): string => div(a, '2', dp);

/** The platform's 8-place response form: "100" -> "100.00000000". */
export const fixed8 = (value: string): string => fromFixed(toFixed(value), 8, true);

/** Count of significant fraction digits ("1.2300" -> 2). */
export function fractionDigits(value: string): number {
  const frac = value.split('.')[1] ?? '';
  return frac.replace(/0+$/, '').length;
}

/**
 * Turns a JSON number literal, as it appeared in the raw body, into a decimal string without a
 * float round trip: "1e2" -> "100", "106.750" -> "106.750", "-5" -> null (sign handled by caller).
 */
export function numberLiteralToDecimal(literal: string): string | null {
  const m = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!m || m[1]) return null;
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let point = (m[2] ?? '').length + Number(m[4] ?? '0');
  if (Math.abs(point) > 64) return null;
  if (point <= 0) {
    digits = '0'.repeat(1 - point) + digits;
    point = 1;
  }
  if (point > digits.length) digits = digits.padEnd(point, '0');
  const int = digits.slice(0, point).replace(/^0+(?=\d)/, '');
  const frac = digits.slice(point);
  return frac ? `${int}.${frac}` : int;
}
