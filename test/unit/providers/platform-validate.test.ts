import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../../src/errors.ts';
import { OrderSchema, type Order, type OrderInput } from '../../../src/invoice/order.ts';
import { createPlatformAdapter, type PlatformId } from '../../../src/providers/platform.ts';
import { FakeHttp } from '../../fixtures/providers/fake-http.ts';

const creds = { baseUrl: 'https://sandbox.test', apiKey: 'k', apiSecret: 's' };
const adapter = (id: PlatformId = 'cryptoprocessing') => createPlatformAdapter(id, creds, { http: new FakeHttp() });

const natural = { type: 'natural', first_name: 'Ana', last_name: 'Lopez', date_of_birth: '1990-04-01' } as const;
const legal = { type: 'legal', legal_name: 'Acme GmbH', country_of_registration: 'DEU' } as const;

function invoice(input: Partial<OrderInput> = {}): Order {
  return OrderSchema.parse({
    provider: 'cryptoprocessing',
    foreign_id: 'order-1001',
    amount: '100.50',
    currency: 'EUR',
    title: 'Order 1001',
    customer: { email: 'payer@example.com', reference: 'cust-42' },
    urls: { success: 'https://shop.example.com/ok', failure: 'https://shop.example.com/fail' },
    ...input,
  });
}

function request(input: Partial<OrderInput> = {}): Order {
  return OrderSchema.parse({
    provider: 'cryptoprocessing',
    kind: 'payment_request',
    foreign_id: 'pr-2001',
    amount: '100.50',
    currency: 'EUR',
    expires_in_seconds: 3600,
    ...input,
  });
}

/** Orders that slipped past the schema (e.g. built in code): the adapter must still refuse them. */
function unchecked(order: Order, patch: Record<string, unknown>): Order {
  return Object.assign(structuredClone(order), patch);
}

function fields(order: Order, id: PlatformId = 'cryptoprocessing'): string[] {
  return adapter(id)
    .validate(order)
    .map((i) => i.field);
}

describe('platform validate: invoices', () => {
  it('accepts a complete order on both platforms', () => {
    assert.deepEqual(adapter().validate(invoice()), []);
    assert.deepEqual(adapter('alphapo').validate(invoice({ provider: 'alphapo' })), []);
    assert.deepEqual(adapter().validate(invoice({ timer: true, payment_currency: 'BTC', customer: { email: 'a@b.cd', sender: natural } })), []);
    assert.deepEqual(adapter().validate(invoice({ provider_options: { type: 'good_until_expired' } })), []);
  });

  it('requires a title of 1-50 characters', () => {
    assert.deepEqual(fields(invoice({ title: undefined })), ['title']);
    assert.deepEqual(fields(unchecked(invoice(), { title: 'x'.repeat(51) })), ['title']);
  });

  it('limits description to 1000 and foreign_id to 255 characters', () => {
    assert.deepEqual(fields(unchecked(invoice(), { description: 'x'.repeat(1001) })), ['description']);
    assert.deepEqual(fields(unchecked(invoice(), { foreign_id: 'x'.repeat(256) })), ['foreign_id']);
    assert.deepEqual(fields(unchecked(invoice(), { foreign_id: '' })), ['foreign_id']);
  });

  it('requires urls.success, urls.failure and customer.email', () => {
    assert.deepEqual(fields(invoice({ urls: { failure: 'https://shop.example.com/fail' } })), ['urls.success']);
    assert.deepEqual(fields(invoice({ urls: { success: 'https://shop.example.com/ok' } })), ['urls.failure']);
    assert.deepEqual(fields(invoice({ customer: { reference: 'cust-42' } })), ['customer.email']);
    assert.deepEqual(fields(invoice({ urls: undefined, customer: undefined })), ['urls.success', 'urls.failure', 'customer.email']);
  });

  it('requires customer.reference on alphapo only', () => {
    const noRef = { customer: { email: 'payer@example.com' } };
    assert.deepEqual(fields(invoice({ provider: 'alphapo', ...noRef }), 'alphapo'), ['customer.reference']);
    assert.deepEqual(fields(invoice(noRef)), []);
    assert.deepEqual(fields(request({ provider: 'alphapo' }), 'alphapo'), []);
  });

  it('requires a sender when timer and payment_currency are both set', () => {
    assert.deepEqual(fields(invoice({ timer: true, payment_currency: 'BTC' })), ['customer.sender']);
    assert.deepEqual(fields(invoice({ timer: true })), []);
    assert.deepEqual(fields(invoice({ payment_currency: 'BTC' })), []);
  });

  it('requires first_name, last_name and date_of_birth for a natural sender', () => {
    const { date_of_birth: _dob, ...noDob } = natural;
    assert.deepEqual(fields(invoice({ customer: { email: 'a@b.cd', sender: noDob } })), ['customer.sender.date_of_birth']);
    const base = invoice({ customer: { email: 'a@b.cd', sender: natural } });
    assert.deepEqual(fields(unchecked(base, { customer: { email: 'a@b.cd', sender: { ...natural, first_name: '' } } })), ['customer.sender.first_name']);
    assert.deepEqual(fields(unchecked(base, { customer: { email: 'a@b.cd', sender: { ...natural, last_name: undefined } } })), ['customer.sender.last_name']);
  });

  it('requires legal_name and country_of_registration for a legal sender', () => {
    const base = invoice({ customer: { email: 'a@b.cd', sender: legal } });
    assert.deepEqual(fields(base), []);
    assert.deepEqual(fields(unchecked(base, { customer: { email: 'a@b.cd', sender: { ...legal, legal_name: '' } } })), ['customer.sender.legal_name']);
    assert.deepEqual(fields(unchecked(base, { customer: { email: 'a@b.cd', sender: { type: 'legal' } } })), [
      'customer.sender.legal_name',
      'customer.sender.country_of_registration',
    ]);
  });

  it('refuses an unknown sender type from outside the schema', () => {
    const base = invoice({ customer: { email: 'a@b.cd', sender: legal } });
    assert.deepEqual(fields(unchecked(base, { customer: { email: 'a@b.cd', sender: { type: 'robot' } } })), ['customer.sender.type']);
  });

  it('refuses payment-request lifetimes, saying where they apply', () => {
    for (const [field, value] of [
      ['expires_in_seconds', 3600],
      ['expires_at', '2099-01-01T00:00:00Z'],
    ] as const) {
      const issues = adapter().validate(invoice({ [field]: value }));
      assert.equal(issues.length, 1);
      assert.equal(issues[0]?.field, field);
      assert.match(issues[0]?.message ?? '', /payment requests/);
    }
  });

  it('checks provider_options: known keys, allowed values, and the kind they belong to', () => {
    assert.deepEqual(fields(invoice({ provider_options: { type: 'partial' } })), ['provider_options.type']);
    assert.deepEqual(fields(invoice({ provider_options: { whoPayCommission: 'buyer' } })), ['provider_options.whoPayCommission']);
    assert.deepEqual(fields(invoice({ provider_options: { payment_currency_network: 'TRC20' } })), ['provider_options.payment_currency_network']);
  });

  it('refuses an amount that is not a plain positive decimal', () => {
    for (const amount of ['1e5', '0', '-1', '10,5', ' 1']) assert.deepEqual(fields(unchecked(invoice(), { amount })), ['amount'], amount);
  });

  it('refuses an order for another provider or kind', () => {
    assert.deepEqual(fields(invoice({ provider: 'alphapo' })), ['provider']);
    assert.deepEqual(fields(unchecked(invoice(), { kind: 'subscription' })), ['kind']);
  });

  it('lists every bad field at once', () => {
    const issues = adapter('alphapo').validate(invoice({ provider: 'alphapo', title: undefined, urls: undefined, customer: undefined, expires_in_seconds: 600 }));
    assert.deepEqual(
      issues.map((i) => i.field),
      ['title', 'urls.success', 'urls.failure', 'customer.email', 'customer.reference', 'expires_in_seconds'],
    );
  });

  it('create refuses an invalid order before sending anything', async () => {
    const http = new FakeHttp();
    const a = createPlatformAdapter('cryptoprocessing', creds, { http });
    await assert.rejects(a.create(invoice({ title: undefined }), { secret: 's' }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(
        err.issues.map((i) => i.field),
        ['title'],
      );
      return true;
    });
    assert.equal(http.requests.length, 0);
  });
});

describe('platform validate: payment requests', () => {
  it('accepts a complete request, with date_of_birth optional', () => {
    assert.deepEqual(fields(request()), []);
    assert.deepEqual(fields(request({ expires_in_seconds: undefined, expires_at: '2099-01-01T00:00:00Z' })), []);
    const { date_of_birth: _dob, ...noDob } = natural;
    assert.deepEqual(fields(request({ customer: { sender: noDob } })), []);
    assert.deepEqual(fields(request({ customer: { sender: legal } })), []);
    assert.deepEqual(fields(request({ payment_currency: 'USDTT', provider_options: { payment_currency_network: 'TRC20' } })), []);
  });

  it('needs exactly one of expires_in_seconds and expires_at', () => {
    assert.deepEqual(fields(request({ expires_in_seconds: undefined })), ['expires_in_seconds']);
    // The order schema already refuses both; the adapter still checks an order built around it.
    assert.deepEqual(fields(unchecked(request(), { expires_at: '2099-01-01T00:00:00Z' })), ['expires_at']);
  });

  it('refuses an expires_at in the past or that is not a date', () => {
    assert.deepEqual(fields(request({ expires_in_seconds: undefined, expires_at: '2001-01-01T00:00:00Z' })), ['expires_at']);
    assert.deepEqual(fields(unchecked(request({ expires_in_seconds: undefined, expires_at: '2099-01-01T00:00:00Z' }), { expires_at: 'soon' })), ['expires_at']);
  });

  it('does not take invoice-only fields', () => {
    assert.deepEqual(fields(request({ timer: true })), ['timer']);
    assert.deepEqual(fields(request({ provider_options: { type: 'fill_or_kill' } })), ['provider_options.type']);
  });

  it('checks payment_currency_network', () => {
    assert.deepEqual(fields(request({ provider_options: { payment_currency_network: 'TRC20' } })), ['provider_options.payment_currency_network']);
    assert.deepEqual(fields(request({ payment_currency: 'USDTT', provider_options: { payment_currency_network: 20 } })), ['provider_options.payment_currency_network']);
    assert.deepEqual(fields(request({ provider_options: { network: 'TRC20' } })), ['provider_options.network']);
  });

  it('still requires the names of a sender', () => {
    const base = request({ customer: { sender: natural } });
    assert.deepEqual(fields(unchecked(base, { customer: { sender: { type: 'natural', last_name: 'Lopez' } } })), ['customer.sender.first_name']);
    assert.deepEqual(fields(unchecked(base, { customer: { sender: { type: 'legal', legal_name: 'Acme' } } })), ['customer.sender.country_of_registration']);
  });
});
