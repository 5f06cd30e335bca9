/**
 * Decimal arithmetic for the sandbox's own bookkeeping (received sums, remaining amounts, crypto
 * conversions). Fixed point on BigInt with 18 fraction digits: no value ever passes through a JS
 * float, so "100.10" stays "100.10" and sums are exact.
 */
const SCALE = 18;
const ONE = 10n ** BigInt(SCALE);
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** Parses a non-negative decimal string ("100.5", "007", "0.00000001") into fixed point. */
export function toFixed(value: string): bigint {
  const m = DECIMAL.exec(value);
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

/**
 * Finds the raw literal of a top-level number field in a JSON object text, so the sandbox can
 * read `amount` exactly as the client wrote it (JSON.parse would round long values through a
 * double). Returns undefined when the key is absent or its value is not a number.
 */
export function rawTopLevelNumber(text: string, key: string): string | undefined {
  let i = 0;
  let depth = 0;
  let expectKey = false;
  let found: string | undefined;
  const n = text.length;
  const readString = (): string => {
    const start = i;
    i++; // opening quote
    while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return text.slice(start, i);
  };
  while (i < n) {
    const c = text[i] as string;
    if (c === '"') {
      const s = readString();
      if (depth === 1 && expectKey) {
        expectKey = false;
        let key2: unknown;
        try {
          key2 = JSON.parse(s);
        } catch {
          return undefined;
        }
        if (key2 === key) {
          while (i < n && /[\s:]/.test(text[i] as string)) i++;
          const m = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
          found = m ? m[0] : undefined; // later duplicates win, as in JSON.parse
        }
      }
      continue;
    }
    if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
    i++;
  }
  return found;
}
