/**
 * Receiving result webhooks: each delivery is signed per Standard Webhooks
 * (https://www.standardwebhooks.com/): `webhook-signature` holds `v1,<base64 HMAC-SHA256 of
 * "<webhook-id>.<webhook-timestamp>.<raw body>">` under the endpoint's `whsec_` secret, one per
 * live secret during a rotation, space-separated. Verified here with node:crypto so the package
 * needs no dependency.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { components } from './schema.ts';

/** One result, v1: the body of a webhook delivery and the data of a job on `invoice-results`. */
export type InvoiceResult = components['schemas']['Result'];

/** Why a delivery was refused. */
export type VerificationFailure = 'missing_header' | 'bad_timestamp' | 'stale_timestamp' | 'bad_secret' | 'bad_signature' | 'bad_body';

export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
  constructor(
    readonly reason: VerificationFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Node's `req.headers`, a fetch `Headers`, or a plain object. */
export type DeliveryHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  /** How far `webhook-timestamp` may be from now, either way (replay protection). Default 300 s. */
  toleranceSeconds?: number;
  /** The current time (tests). */
  now?: Date;
}

function header(headers: DeliveryHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const value = record[name] ?? Object.entries(record).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value.join(' ') : value;
}

function secretKey(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  if (!key.length) throw new WebhookVerificationError('bad_secret', 'the secret is empty: give the `whsec_...` secret the endpoint was created or rotated with');
  return key;
}

/**
 * Verifies one delivery and returns its result. `rawBody` must be the bytes as received: a body
 * parsed and serialized again (a JSON body parser ran first) no longer matches its signature,
 * the usual cause of `bad_signature`. Give every secret you accept during a rotation.
 * Throws WebhookVerificationError; answer such a request with 400 or 401 and do not store it.
 */
export function verifyDelivery(rawBody: string | Uint8Array, headers: DeliveryHeaders, secret: string | readonly string[], options: VerifyOptions = {}): InvoiceResult {
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
    throw new WebhookVerificationError('bad_body', 'give the raw request body (string or bytes), not a parsed object: a re-serialized body does not match its signature');
  }
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError('missing_header', 'webhook-id, webhook-timestamp and webhook-signature are required');
  }
  if (!/^\d{1,15}$/.test(timestamp)) throw new WebhookVerificationError('bad_timestamp', 'webhook-timestamp is not whole seconds since the epoch');
  const tolerance = options.toleranceSeconds ?? 300;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - Number(timestamp)) > tolerance) {
    throw new WebhookVerificationError('stale_timestamp', `webhook-timestamp is more than ${tolerance} s from now (a replay, or this machine's clock is off)`);
  }
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), body]);
  const expected = (typeof secret === 'string' ? [secret] : secret).map((s) => createHmac('sha256', secretKey(s)).update(signed).digest());
  if (!expected.length) throw new WebhookVerificationError('bad_secret', 'no secret given');
  const given = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  // Every pair is compared (constant time each, lengths first), so timing says nothing of which matched.
  let ok = false;
  for (const g of given) for (const e of expected) if (g.length === e.length && timingSafeEqual(g, e)) ok = true;
  if (!ok) throw new WebhookVerificationError('bad_signature', 'no v1 signature matches: wrong secret, or the body was changed (parsed and serialized again?)');
  let result: unknown;
  try {
    result = JSON.parse(body.toString('utf8'));
  } catch {
    throw new WebhookVerificationError('bad_body', 'the signed body is not JSON');
  }
  if (typeof result !== 'object' || result === null || (result as { v?: unknown }).v !== 1) {
    throw new WebhookVerificationError('bad_body', 'the body is not a v1 result');
  }
  return result as InvoiceResult;
}
