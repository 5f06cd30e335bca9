import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrderSchema, type OrderInput } from '../../../src/invoice/order.ts';
import { createPlatformAdapter } from '../../../src/providers/platform.ts';
import { signBody } from '../../../src/signing.ts';
import { FakeHttp, fixtureText } from '../../fixtures/providers/fake-http.ts';

// docs/providers.md 1.1: the platform's published test vector.
const VECTOR_SECRET = 'AbCdEfG123456';
const VECTOR_BODY = '{"currency":"BTC","foreign_id":"123456"}';

const creds = { baseUrl: 'https://sandbox.test', apiKey: 'vector-key', apiSecret: VECTOR_SECRET };

function order(input: Partial<OrderInput> = {}) {
  return OrderSchema.parse({
    provider: 'cryptoprocessing',
    foreign_id: 'order-1001',
    amount: '100.50',
    currency: 'EUR',
    title: 'Order 1001',
    customer: { email: 'payer@example.com' },
    urls: { success: 'https://shop.example.com/ok', failure: 'https://shop.example.com/fail' },
    ...input,
  });
}

describe('platform signing', () => {
  it('matches the documented test vector (hex HMAC-SHA512 of the compact body)', () => {
    const sig = signBody(VECTOR_BODY, VECTOR_SECRET);
    assert.match(sig, /^[0-9a-f]{128}$/);
    assert.ok(sig.startsWith('03c25fcf7cd35e7d'));
    assert.ok(sig.endsWith('29195fa1ec'));
    // Whitespace after ':' and ',' is a different message and must give a different digest.
    assert.notEqual(signBody('{"currency": "BTC", "foreign_id": "123456"}', VECTOR_SECRET), sig);
  });

  it('verifies a callback signed like the test vector, and rejects a wrong key or signature', () => {
    const adapter = createPlatformAdapter('cryptoprocessing', creds, { http: new FakeHttp() });
    const raw = Buffer.from(VECTOR_BODY);
    const sig = signBody(VECTOR_BODY, VECTOR_SECRET);
    assert.equal(adapter.verifyCallback(raw, { 'x-processing-key': 'vector-key', 'x-processing-signature': sig }), true);
    assert.equal(adapter.verifyCallback(raw, { 'x-processing-key': 'vector-key', 'x-processing-signature': sig.toUpperCase() }), true);
    assert.equal(adapter.verifyCallback(raw, { 'x-processing-key': 'other-key', 'x-processing-signature': sig }), false);
    assert.equal(adapter.verifyCallback(raw, { 'x-processing-key': 'vector-key' }), false);
    assert.equal(adapter.verifyCallback(raw, { 'x-processing-signature': sig }), false);
    assert.equal(adapter.verifyCallback(raw, { 'x-processing-key': 'vector-key', 'x-processing-signature': sig.slice(0, 64) }), false);
    assert.equal(adapter.verifyCallback(raw, { 'x-processing-key': ['vector-key', 'vector-key'], 'x-processing-signature': sig }), false);
  });

  for (const kind of ['invoice', 'payment_request'] as const) {
    it(`signs exactly the bytes it sends (${kind})`, async () => {
      const http = new FakeHttp().replyFixture(201, kind === 'invoice' ? 'platform/invoice-create-201.json' : 'platform/payment-request-create-200.json');
      const adapter = createPlatformAdapter('cryptoprocessing', creds, { http });
      // Non-ASCII must be signed as UTF-8 (docs/providers.md 1.1: the Müller example).
      const o = kind === 'invoice' ? order({ title: 'Müller & Söhne' }) : order({ kind, title: undefined, description: 'Müller & Söhne', expires_in_seconds: 3600 });
      await adapter.create(o, { secret: 's' });
      const req = http.last;
      assert.equal(typeof req.body, 'string');
      const body = req.body ?? '';
      assert.ok(body.includes('Müller'));
      assert.equal(req.headers?.['X-Processing-Signature'], signBody(Buffer.from(body, 'utf8'), VECTOR_SECRET));
      assert.match(req.headers?.['X-Processing-Signature'] ?? '', /^[0-9a-f]{128}$/);
      assert.equal(req.headers?.['X-Processing-Key'], 'vector-key');
      assert.equal(req.headers?.['Content-Type'], 'application/json');
    });
  }

  it('verifies escaped slashes on the raw bytes, not on a re-serialized body', () => {
    const adapter = createPlatformAdapter('cryptoprocessing', creds, { http: new FakeHttp() });
    const rawText = fixtureText('platform/callbacks/invoice-confirmed-escaped.json');
    assert.ok(rawText.includes('\\/'));
    const raw = Buffer.from(rawText, 'utf8');
    const headers = { 'x-processing-key': 'vector-key', 'x-processing-signature': signBody(raw, VECTOR_SECRET) };
    assert.equal(adapter.verifyCallback(raw, headers), true);
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(rawText)));
    assert.notEqual(reserialized.toString(), rawText);
    assert.equal(adapter.verifyCallback(reserialized, headers), false);
    assert.equal(adapter.parseCallback(raw).foreignId, 'shop/orders/77');
  });

  it('refuses a tampered body', () => {
    const adapter = createPlatformAdapter('cryptoprocessing', creds, { http: new FakeHttp() });
    const raw = Buffer.from(fixtureText('platform/callbacks/invoice-failed-timer.json'));
    const headers = { 'x-processing-key': 'vector-key', 'x-processing-signature': signBody(raw, VECTOR_SECRET) };
    const tampered = Buffer.from(raw.toString().replace('"failed"', '"confirmed"'));
    assert.notDeepEqual(tampered, raw);
    assert.equal(adapter.verifyCallback(tampered, headers), false);
    const oneByte = Buffer.from(raw);
    oneByte[oneByte.length - 3] = (oneByte[oneByte.length - 3] ?? 0) ^ 1;
    assert.equal(adapter.verifyCallback(oneByte, headers), false);
    assert.equal(adapter.verifyCallback(raw, headers), true);
  });
});
