/**
 * Money is carried as decimal strings end to end. Nothing here converts through a JS float:
 * comparison and normalisation work on the digits, so "100.50" never becomes 100.49999.
 */
import { z } from 'zod';

const DECIMAL = /^(0|[1-9]\d{0,17})(\.\d{1,18})?$/;

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
