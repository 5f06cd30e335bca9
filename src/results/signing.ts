/**
 * Signing result deliveries, per the Standard Webhooks specification (standardwebhooks.com):
 * `webhook-id` the result's `event_id`, `webhook-timestamp` the send time, `webhook-signature`
 * `v1,<base64 HMAC-SHA256 over "id.timestamp.body">` under each live `whsec_` secret of the
 * endpoint (during a rotation, one signature per secret, so the receiver may switch keys at its
 * own pace). Also what makes a secret: new ones, and what is refused as one. The provider
 * callbacks' signatures are another matter (src/signing.ts).
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export interface EndpointSecret {
  secret: string;
  /** A rotated-out secret stays valid (still signed with) until then (ms since epoch). */
  until?: number;
}

/** A new `whsec_` secret: 24 random bytes, base64 (what an endpoint gets when none is given). */
export function newEndpointSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** The Standard Webhooks headers for one request, signed with every live secret. */
export function signHeaders(e: { secrets: readonly EndpointSecret[] }, eventId: string, body: string, now = new Date()): Record<string, string> {
  const live = e.secrets.filter((s) => !s.until || s.until > now.getTime());
  const signatures = live.map((s) => new Webhook(s.secret).sign(eventId, now, body));
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}

/** The standard webhooks specification's example secret: public, so never a secret. */
const DOCUMENTED_EXAMPLE = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** What is wrong with a `whsec_` secret (undefined when nothing is): its form, and at least 24 bytes that are not all one value. */
export function secretIssue(secret: string): string | undefined {
  if (!/^whsec_[A-Za-z0-9+/=]{32,200}$/.test(secret)) return 'must be whsec_ followed by base64 (at least 24 bytes)';
  if (secret === DOCUMENTED_EXAMPLE) return 'is the published example secret; generate your own (or leave it out and one is made)';
  const bytes = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  if (bytes.length < 24) return 'must decode to at least 24 bytes';
  if (bytes.every((b) => b === bytes[0])) return 'must not be one repeated byte (all zero, for instance)';
  return undefined;
}
