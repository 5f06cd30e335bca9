/**
 * Generic masking of personal data and secrets in arbitrary values: by key name at any depth, and
 * e-mail addresses inside any string. The logger runs it on every line (pino's path list cannot
 * reach arbitrarily deep) and Bull Board on every job's data, so a payload shape nobody listed
 * (a callback body, a future job type) is still covered. `maskEmails` is the one e-mail masker:
 * the adapters run it on the provider texts they keep too (src/providers/kit.ts `scrub`).
 */

export const MASK = '[masked]';

/** Keys whose value is personal or secret whatever it holds (compared lowercased, without `_`/`-`). */
const EXACT_KEYS = new Set([
  'sender',
  'senderdata',
  'customer',
  'firstname',
  'lastname',
  'fullname',
  'middlename',
  'dateofbirth',
  'birthdate',
  'dob',
  'legalname',
  'phone',
  'phonenumber',
  'address',
  'token',
  'authorization',
  'cookie',
  'setcookie',
  'xprocessingkey',
  'xapikey',
  'apikey',
  'ipaddress',
  'iban',
  'passport',
]);
const KEY_PARTS = ['email', 'secret', 'password', 'signature', 'apikey', 'privatekey', 'authorization', 'cookie'];

const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
const MAX_DEPTH = 8;

/** Keys seen so far and what they are: every log line asks about the same few dozen names. */
const KNOWN = new Map<string, boolean>();

export function isSensitiveKey(key: string): boolean {
  let sensitive = KNOWN.get(key);
  if (sensitive === undefined) {
    const k = key.toLowerCase().replace(/[_\-\s]/g, '');
    sensitive = EXACT_KEYS.has(k) || KEY_PARTS.some((p) => k.includes(p));
    // Bounded: keys of hostile bodies must not grow it without end.
    if (KNOWN.size < 10_000) KNOWN.set(key, sensitive);
  }
  return sensitive;
}

export function maskString(s: string): string {
  // A JSON document inside a string (a raw callback body) is masked field by field.
  if (s.length > 1 && (s[0] === '{' || s[0] === '[')) {
    try {
      return JSON.stringify(maskPersonal(JSON.parse(s)));
    } catch {
      /* not JSON: fall through to the e-mail pattern */
    }
  }
  return maskEmails(s);
}

/**
 * Every e-mail address inside a text replaced by `label`. An address needs a dotted domain, so a
 * lane key like `alphapo@eu` stays readable. Log lines and Bull Board say `[masked-email]`; the
 * provider texts an error keeps say `[redacted]` (src/providers/kit.ts).
 */
export function maskEmails(text: string, label = '[masked-email]'): string {
  return text.includes('@') ? text.replace(EMAIL, label) : text;
}

/** A masked copy; the input is never changed. Error instances keep their class (for the log serializer). */
export function maskPersonal<T>(value: T, depth = 0): T {
  return walk(value, depth, new Map()) as T;
}

/**
 * `seen` maps each object already visited to its masked copy: an object the value holds twice (or
 * a cycle) comes out masked both times, never as the original. Past MAX_DEPTH an object is masked
 * whole rather than shown unread.
 */
function walk(value: unknown, depth: number, seen: Map<object, unknown>): unknown {
  if (typeof value === 'string') return maskString(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return seen.get(value);
  if (Buffer.isBuffer(value) || value instanceof Date || ArrayBuffer.isView(value)) return value;
  if (depth > MAX_DEPTH) return MASK;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (const v of value) copy.push(walk(v, depth + 1, seen));
    return copy;
  }
  if (value instanceof Error) {
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Record<string, unknown>;
    seen.set(value, copy);
    Object.defineProperty(copy, 'name', { value: value.name, enumerable: false, writable: true });
    copy.message = maskString(value.message);
    if (value.stack) Object.defineProperty(copy, 'stack', { value: maskString(value.stack), enumerable: false, writable: true });
    if (value.cause !== undefined) Object.defineProperty(copy, 'cause', { value: walk(value.cause, depth + 1, seen), enumerable: false, writable: true });
    for (const [k, v] of Object.entries(value)) copy[k] = isSensitiveKey(k) ? MASK : walk(v, depth + 1, seen);
    return copy;
  }
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [k, v] of Object.entries(value)) out[k] = isSensitiveKey(k) && v !== null && v !== undefined ? MASK : walk(v, depth + 1, seen);
  return out;
}
