import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuplicateForeignId, ProviderAuth, ProviderError, ProviderRateLimited, ProviderRejected, ProviderUnavailable, ResponseShape, classify } from '../../../src/errors.ts';
import { OrderSchema, type Order } from '../../../src/invoice/order.ts';
import { createPlatformAdapter } from '../../../src/providers/platform.ts';
import { FakeHttp, fixtureText } from '../../fixtures/providers/fake-http.ts';

const creds = { baseUrl: 'https://sandbox.test', apiKey: 'cp-key-abcdef', apiSecret: 'cp-secret-123456' };

const orders: Record<'invoice' | 'payment_request', Order> = {
  invoice: OrderSchema.parse({
    provider: 'cryptoprocessing',
    foreign_id: 'order-1001',
    amount: '5',
    currency: 'EUR',
    title: 'Order 1001',
    customer: { email: 'payer@example.com', sender: { type: 'natural', first_name: 'Ana', last_name: 'Lopez', date_of_birth: '1990-04-01' } },
    urls: { success: 'https://shop.example.com/ok', failure: 'https://shop.example.com/fail' },
  }),
  payment_request: OrderSchema.parse({
    provider: 'cryptoprocessing',
    kind: 'payment_request',
    foreign_id: 'pr-2001',
    amount: '5',
    currency: 'EUR',
    expires_in_seconds: 3600,
    customer: { email: 'payer@example.com' },
  }),
};

type ErrorClass = abstract new (...args: never[]) => ProviderError;

async function outcome(kind: keyof typeof orders, status: number, body: string): Promise<ProviderError> {
  const http = new FakeHttp().reply(status, body);
  const adapter = createPlatformAdapter('cryptoprocessing', creds, { http });
  try {
    await adapter.create(orders[kind], { secret: 's' });
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    // No secret, key, e-mail or sender data in any message.
    for (const secret of ['cp-key-abcdef', 'cp-secret-123456', 'payer@example.com', 'Lopez']) assert.ok(!err.message.includes(secret), err.message);
    assert.equal(err.provider, 'cryptoprocessing');
    assert.equal(err.httpStatus, status);
    return err;
  }
  assert.fail('create resolved');
}

const CASES: Array<[string, number, string, ErrorClass]> = [
  ['429 without a body', 429, '', ProviderRateLimited],
  ["429 with Cloudflare's plain-text 1015 page", 429, fixtureText('platform/errors/rate-limit-1015.txt'), ProviderRateLimited],
  ['the 1015 page under another status', 403, 'error code: 1015\n', ProviderRateLimited],
  ['500', 500, '', ProviderUnavailable],
  ['502 with an HTML page', 502, '<html>Bad gateway</html>', ProviderUnavailable],
  ['503 with JSON', 503, '{"error":"maintenance","code":"maintenance"}', ProviderUnavailable],
  ['duplicate foreign_id', 400, fixtureText('platform/errors/duplicate-foreign-id.json'), DuplicateForeignId],
  ['duplicate foreign_id as a list', 400, fixtureText('platform/errors/duplicate-foreign-id-list.json'), DuplicateForeignId],
  ['duplicate foreign_id in other casing', 400, '{"errors":{"foreign_id":"Foreign ID HAS ALREADY BEEN TAKEN"}}', DuplicateForeignId],
  ['"already been taken" under another key', 400, '{"errors":{"title":"The title has already been taken."}}', ProviderRejected],
  ['another foreign_id error', 400, '{"errors":{"foreign_id":"The foreign id may not be greater than 255 characters."}}', ProviderRejected],
  ['field validation', 400, fixtureText('platform/errors/field-errors.json'), ProviderRejected],
  ['bad_content_format', 400, fixtureText('platform/errors/bad-content-format.json'), ProviderRejected],
  ['bad_header_signature', 403, fixtureText('platform/errors/bad-header-signature.json'), ProviderAuth],
  ['required_header_signature', 403, fixtureText('platform/errors/required-header-signature.json'), ProviderAuth],
  ['bad_header_key', 403, fixtureText('platform/errors/bad-header-key.json'), ProviderAuth],
  ['required_header_key', 403, fixtureText('platform/errors/required-header-key.json'), ProviderAuth],
  ['an auth code under 400', 400, fixtureText('platform/errors/bad-header-signature.json'), ProviderAuth],
  ['401 without a body', 401, '', ProviderAuth],
  ['403 from an IP allow-list (undocumented body)', 403, 'Forbidden', ProviderAuth],
  ['404 text', 404, 'Not Found', ProviderRejected],
  ['422 with an unknown body', 422, '{"message":"nope"}', ProviderRejected],
  ['a redirect', 302, '', ResponseShape],
];

describe('platform errors', () => {
  for (const kind of ['invoice', 'payment_request'] as const) {
    for (const [name, status, body, expected] of CASES) {
      it(`${kind}: ${name} -> ${expected.name}`, async () => {
        const err = await outcome(kind, status, body);
        assert.ok(err instanceof expected, `got ${err.name}`);
      });
    }
  }

  it('classifies the results the way the worker needs', async () => {
    assert.equal(classify(await outcome('invoice', 429, 'error code: 1015')), 'rate-limited');
    assert.equal(classify(await outcome('invoice', 503, '')), 'retry');
    assert.equal(classify(await outcome('invoice', 400, fixtureText('platform/errors/duplicate-foreign-id.json'))), 'duplicate');
    assert.equal(classify(await outcome('invoice', 403, fixtureText('platform/errors/bad-header-signature.json'))), 'permanent');
    assert.equal(classify(await outcome('invoice', 400, fixtureText('platform/errors/field-errors.json'))), 'permanent');
  });

  it('keeps the provider field messages, masks e-mail addresses in them, and names only fields in the message', async () => {
    const err = await outcome('invoice', 400, fixtureText('platform/errors/field-errors.json'));
    assert.ok(err instanceof ProviderRejected);
    assert.deepEqual(err.fields, {
      amount: 'The amount must be at least 10.00 EUR.',
      email_user: '[redacted] is not a valid email user.',
    });
    // The provider's own words travel on (an operator needs "at least 10.00 EUR"), e-mail addresses masked.
    assert.match(err.message, /amount: The amount must be at least 10\.00 EUR\./);
    assert.doesNotMatch(err.message, /@/);
  });

  it('flattens nested field errors to dotted paths', async () => {
    const err = await outcome('invoice', 400, '{"errors":{"sender_data":{"first_name":["The first name is required."]},"timer":true}}');
    assert.ok(err instanceof ProviderRejected);
    assert.deepEqual(err.fields, { 'sender_data.first_name': 'The first name is required.', timer: 'invalid' });
  });

  it('names the code of a flat error', async () => {
    const err = await outcome('invoice', 400, fixtureText('platform/errors/bad-content-format.json'));
    assert.match(err.message, /bad_content_format/);
    const auth = await outcome('invoice', 403, fixtureText('platform/errors/bad-header-key.json'));
    assert.match(auth.message, /bad_header_key/);
  });
});
