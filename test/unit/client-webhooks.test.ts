/**
 * The client's verifyDelivery agrees with the Standard Webhooks reference library (the
 * `standardwebhooks` package the service signs with): what one signs the other verifies, and a
 * changed byte, id or timestamp, a foreign secret or an old timestamp is refused.
 */
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { WebhookVerificationError, verifyDelivery } from '../../client/src/webhooks.ts';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const body = JSON.stringify({ v: 1, event_id: 'result.alphapo.r.o-1.paid', foreign_id: 'o-1', status: 'paid', note: 'ünïcode €' });

function headers(at: Date, id = 'result.alphapo.r.o-1.paid', key = secret, payload = body): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(key).sign(id, at, payload) };
}

const reason = (fn: () => unknown): string => {
  try {
    fn();
    return 'verified';
  } catch (err) {
    assert.ok(err instanceof WebhookVerificationError, String(err));
    return err.reason;
  }
};

describe('client verifyDelivery', () => {
  it('verifies what the reference library signs, as a string or bytes, with the header names in any case', () => {
    const h = headers(new Date());
    assert.equal(verifyDelivery(body, h, secret).foreign_id, 'o-1');
    assert.equal(verifyDelivery(new TextEncoder().encode(body), new Headers(h), [secret]).status, 'paid');
    const upper = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toUpperCase(), v]));
    assert.equal(verifyDelivery(body, upper, secret).status, 'paid');
  });

  it('accepts any live secret of a rotation and a signature list with several entries', () => {
    const other = `whsec_${randomBytes(32).toString('base64')}`;
    const at = new Date();
    const h = headers(at);
    const both = { ...h, 'webhook-signature': `${headers(at, undefined, other)['webhook-signature']} ${h['webhook-signature']}` };
    assert.equal(
      reason(() => verifyDelivery(body, both, secret)),
      'verified',
    );
    assert.equal(
      reason(() => verifyDelivery(body, h, [other, secret])),
      'verified',
    );
    assert.equal(
      reason(() => verifyDelivery(body, h, other)),
      'bad_signature',
    );
  });

  it('refuses a changed body, id or timestamp, a stale or future timestamp, missing headers and a parsed body', () => {
    const at = new Date();
    const h = headers(at);
    assert.equal(
      reason(() => verifyDelivery(body.replace('paid', 'pain'), h, secret)),
      'bad_signature',
    );
    assert.equal(
      reason(() => verifyDelivery(`${body} `, h, secret)),
      'bad_signature',
    );
    assert.equal(
      reason(() => verifyDelivery(body, { ...h, 'webhook-id': 'result.alphapo.r.o-2.paid' }, secret)),
      'bad_signature',
    );
    assert.equal(
      reason(() => verifyDelivery(body, { ...h, 'webhook-timestamp': String(Number(h['webhook-timestamp']) + 1) }, secret)),
      'bad_signature',
    );
    const old = headers(new Date(at.getTime() - 600_000));
    assert.equal(
      reason(() => verifyDelivery(body, old, secret)),
      'stale_timestamp',
    );
    assert.equal(
      reason(() => verifyDelivery(body, old, secret, { toleranceSeconds: 900 })),
      'verified',
    );
    assert.equal(
      reason(() => verifyDelivery(body, headers(new Date(at.getTime() + 600_000)), secret)),
      'stale_timestamp',
    );
    assert.equal(
      reason(() => verifyDelivery(body, { 'webhook-id': 'x', 'webhook-timestamp': '1' }, secret)),
      'missing_header',
    );
    assert.equal(
      reason(() => verifyDelivery(body, { ...h, 'webhook-timestamp': '12.5' }, secret)),
      'bad_timestamp',
    );
    assert.equal(
      reason(() => verifyDelivery(JSON.parse(body) as string, h, secret)),
      'bad_body',
    );
    assert.equal(
      reason(() => verifyDelivery(body, { ...h, 'webhook-signature': 'v1a,abc v2,xyz' }, secret)),
      'bad_signature',
    );
  });

  it('refuses a correctly signed body that is not a v1 result', () => {
    const other = '{"v":2}';
    assert.equal(
      reason(() => verifyDelivery(other, headers(new Date(), 'x', secret, other), secret)),
      'bad_body',
    );
  });
});
