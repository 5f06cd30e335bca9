/**
 * The only HMAC and constant-time comparison code in the project.
 * CryptoProcessing and AlphaPo sign the exact body bytes with HMAC-SHA512, lowercase hex
 * (docs/providers.md 1.1). Callers must sign the very string they send and verify the raw bytes they
 * received: re-serialising changes bytes (key order, spacing, `\/` escapes) and breaks the digest.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function signBody(body: string | Buffer, secret: string): string {
  return createHmac('sha512', secret)
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest('hex');
}

/** Constant-time string equality; lengths are compared first (timingSafeEqual needs equal sizes). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    // Still spend a comparison so a length mismatch is not measurably faster.
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** Verifies a hex HMAC-SHA512 signature over the raw body bytes. */
export function verifyBody(raw: Buffer, signature: string | undefined, secret: string): boolean {
  if (!signature) return false;
  return safeEqual(signBody(raw, secret), signature.toLowerCase());
}

/** A random per-order secret (CryptoSteroid echoes it in the webhook `Token` header). */
export function newOrderSecret(): string {
  return randomBytes(24).toString('base64url');
}
