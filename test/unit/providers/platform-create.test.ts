import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutcomeUnknown, ProviderUnavailable, ResponseShape } from '../../../src/errors.ts';
import { OrderSchema, type Order, type OrderInput } from '../../../src/invoice/order.ts';
import { createPlatformAdapter, type PlatformId } from '../../../src/providers/platform.ts';
import { signBody } from '../../../src/signing.ts';
import { FakeHttp, fixture, fixtureJson, fixtureText } from '../../fixtures/providers/fake-http.ts';
import { providerContract } from '../../helpers/provider-contract.ts';

// A base URL with a path prefix, as a sandbox mount has: the adapter passes it through untouched.
const creds = { baseUrl: 'https://sandbox.test/cp', apiKey: 'cp-key', apiSecret: 'cp-secret' };

function setup(id: PlatformId = 'cryptoprocessing') {
  const http = new FakeHttp();
  return { http, adapter: createPlatformAdapter(id, creds, { http }) };
}

function invoice(input: Partial<OrderInput> = {}): Order {
  return OrderSchema.parse({
    provider: 'cryptoprocessing',
    foreign_id: 'order-1001',
    amount: '100.50',
    currency: 'eur',
    title: 'Order 1001',
    customer: { email: 'payer@example.com' },
    urls: { success: 'https://shop.example.com/ok', failure: 'https://shop.example.com/fail' },
    ...input,
  });
}

function request(input: Partial<OrderInput> = {}): Order {
  return OrderSchema.parse({ provider: 'cryptoprocessing', kind: 'payment_request', foreign_id: 'pr-2001', amount: '100.50', currency: 'EUR', expires_in_seconds: 3600, ...input });
}

function assertSignedAsSent(http: FakeHttp): string {
  const body = http.last.body;
  assert.equal(typeof body, 'string');
  assert.equal(http.last.headers?.['X-Processing-Signature'], signBody(body ?? '', creds.apiSecret));
  return body ?? '';
}

/** The JSON number text of `amount` exactly as it is on the wire. */
function amountLiteral(body: string): string | undefined {
  return /"amount":(-?[0-9.eE+-]+)[,}]/.exec(body)?.[1];
}

describe('platform create: invoices', () => {
  it('maps every order field to the v2 request and signs the bytes it sends', async () => {
    const { http, adapter } = setup();
    http.replyFixture(201, 'platform/invoice-create-201.json');
    await adapter.create(
      invoice({
        description: 'Two tickets',
        timer: true,
        payment_currency: 'btc',
        customer: {
          email: 'payer@example.com',
          reference: 'cust-42',
          sender: { type: 'natural', first_name: 'Ana', last_name: 'Lopez', date_of_birth: '1990-04-01', email: 'ana@example.com' },
        },
        urls: { success: 'https://shop.example.com/ok', failure: 'https://shop.example.com/fail', store: 'https://shop.example.com/' },
        provider_options: { type: 'fill_or_kill' },
      }),
      { secret: 'unused', callbackUrl: 'https://worker.example.com/webhooks/cryptoprocessing' },
    );
    assert.equal(http.requests.length, 1);
    assert.equal(http.last.method, 'POST');
    assert.equal(http.last.baseUrl, 'https://sandbox.test/cp');
    assert.equal(http.last.path, '/api/v2/invoices/create');
    assert.equal(http.last.provider, 'cryptoprocessing');
    const body = assertSignedAsSent(http);
    assert.equal(
      body,
      '{"timer":true,"title":"Order 1001","description":"Two tickets","foreign_id":"order-1001","currency":"EUR","amount":100.5,' +
        '"url_success":"https://shop.example.com/ok","url_failed":"https://shop.example.com/fail","email_user":"payer@example.com",' +
        '"end_user_reference":"cust-42","type":"fill_or_kill","sender_currency":"BTC","sender_type":"natural",' +
        '"sender_data":{"first_name":"Ana","last_name":"Lopez","date_of_birth":"1990-04-01","email":"ana@example.com"}}',
    );
  });

  it('sends timer:false by default and leaves out what the order does not carry', async () => {
    const { http, adapter } = setup();
    http.replyFixture(200, 'platform/invoice-create-200-legacy.json');
    await adapter.create(invoice(), { secret: 's' });
    assert.equal(
      assertSignedAsSent(http),
      '{"timer":false,"title":"Order 1001","foreign_id":"order-1001","currency":"EUR","amount":100.5,' +
        '"url_success":"https://shop.example.com/ok","url_failed":"https://shop.example.com/fail","email_user":"payer@example.com"}',
    );
  });

  it('maps a legal sender without natural-person keys', async () => {
    const { http, adapter } = setup();
    http.replyFixture(201, 'platform/invoice-create-201.json');
    await adapter.create(invoice({ customer: { email: 'a@example.com', sender: { type: 'legal', legal_name: 'Acme GmbH', country_of_registration: 'DEU' } } }), { secret: 's' });
    const sent = sentJson(assertSignedAsSent(http));
    assert.equal(sent.sender_type, 'legal');
    assert.deepEqual(sent.sender_data, { legal_name: 'Acme GmbH', country_of_registration: 'DEU' });
  });

  it('emits amount as a JSON number spelled from the decimal text, never through a float', async () => {
    const cases: Array<[string, string]> = [
      ['100.50', '100.5'],
      ['100', '100'],
      ['0.1', '0.1'],
      ['0.30', '0.3'],
      ['1.005', '1.005'],
      ['19.99', '19.99'],
      ['0.000000000000000001', '0.000000000000000001'],
      // 26 significant digits: a float would round these; the literal keeps every one.
      ['12345678901234567.123456789', '12345678901234567.123456789'],
    ];
    for (const [amount, literal] of cases) {
      const { http, adapter } = setup();
      http.replyFixture(201, 'platform/invoice-create-201.json');
      await adapter.create(invoice({ amount }), { secret: 's' });
      const body = assertSignedAsSent(http);
      assert.equal(amountLiteral(body), literal, amount);
      assert.ok(!body.includes('99999'), amount);
      assert.equal(typeof sentJson(body).amount, 'number');
    }
  });

  it('keeps caller text that looks like the amount placeholder untouched', async () => {
    const { http, adapter } = setup();
    http.replyFixture(201, 'platform/invoice-create-201.json');
    await adapter.create(invoice({ title: '"amount":"amount-x"', description: 'amount-00000000-0000-0000-0000-000000000000' }), { secret: 's' });
    const sent = sentJson(assertSignedAsSent(http));
    assert.equal(sent.title, '"amount":"amount-x"');
    assert.equal(sent.amount, 100.5);
  });

  it('reads a 201 timed invoice: numeric id as a string, pending, expiry from release_at', async () => {
    const { http, adapter } = setup();
    http.replyFixture(201, 'platform/invoice-create-201.json');
    const result = await adapter.create(invoice({ timer: true }), { secret: 's' });
    assert.deepEqual(result, {
      providerInvoiceId: '826900',
      paymentUrl: 'https://invoices.sandbox.cryptoprocessing.com/invoice/Xk3pQa',
      status: 'pending',
      providerStatus: 'pending',
      amount: '100.50000000',
      currency: 'EUR',
      expiresAt: '2025-05-16T13:08:20.000Z',
      // A type-3 answer says where and how much to pay.
      payTo: { currency: 'BTC', address: 'bc1qw4k0x7c2n5d8f3g6h9j2k5m8p1r4t7v0y3z6a9', amount: '0.0025125' },
    });
  });

  it('reads a 200 from the older docs: foreign_id as a number, `name` instead of `title`', async () => {
    const { http, adapter } = setup();
    http.replyFixture(200, 'platform/invoice-create-200-legacy.json');
    const result = await adapter.create(invoice(), { secret: 's' });
    assert.equal(result.providerInvoiceId, '1664');
    assert.equal(result.status, 'created');
    assert.equal(result.amount, '106.75000000');
    assert.equal(result.expiresAt, undefined);
  });

  it("survives AlphaPo's example: numeric end_user_reference, other title, malformed amount", async () => {
    const { http, adapter } = setup('alphapo');
    http.replyFixture(200, 'platform/invoice-create-200-alphapo.json');
    const result = await adapter.create(invoice({ provider: 'alphapo', customer: { email: 'a@example.com', reference: 'cust-42' } }), { secret: 's' });
    assert.equal(result.providerInvoiceId, '3022511');
    assert.equal(result.paymentUrl, 'https://wallet.coinspaid.com/invoice/Ap9Lk2');
    assert.equal(result.status, 'created');
    // "0.106.75000000" is not a decimal: no echo to compare, rather than a mismatch.
    assert.equal(result.amount, undefined);
    assert.equal(http.last.provider, 'alphapo');
  });

  it('accepts an id sent as a string and any 2xx', async () => {
    for (const status of [200, 201, 202]) {
      const { http, adapter } = setup();
      http.reply(status, { data: { id: '826900', url: 'https://invoices.example.com/invoice/abc', status: 'created' } });
      const result = await adapter.create(invoice(), { secret: 's' });
      assert.equal(result.providerInvoiceId, '826900');
      assert.equal(result.amount, undefined, 'no echo: nothing to compare');
      assert.equal(result.currency, undefined);
    }
  });

  it('treats a 2xx without id or url as a shape error, with issues and without the body', async () => {
    const { http, adapter } = setup();
    http.reply(201, { data: { id: 1, status: 'created', email_user: 'payer@example.com' } });
    await assert.rejects(adapter.create(invoice(), { secret: 's' }), (err: unknown) => {
      assert.ok(err instanceof ResponseShape);
      assert.deepEqual(
        err.issues.map((i) => i.field),
        ['data.url'],
      );
      assert.equal(err.httpStatus, 201);
      assert.ok(!err.message.includes('payer@example.com'));
      return true;
    });
    http.reply(200, '<html>ok</html>');
    await assert.rejects(adapter.create(invoice(), { secret: 's' }), ResponseShape);
    http.reply(200, { data: { id: -5, url: 'https://x.example.com/i', status: 'created' } });
    await assert.rejects(adapter.create(invoice(), { secret: 's' }), ResponseShape);
  });

  it('passes transport errors through and turns anything else into an unknown outcome', async () => {
    const { http, adapter } = setup();
    http.fail(new ProviderUnavailable('provider unreachable (ECONNREFUSED)', 'cryptoprocessing'));
    await assert.rejects(adapter.create(invoice(), { secret: 's' }), ProviderUnavailable);
    http.fail(new OutcomeUnknown('no answer from provider (UND_ERR_SOCKET)', 'cryptoprocessing'));
    await assert.rejects(adapter.create(invoice(), { secret: 's' }), OutcomeUnknown);
    http.fail(Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }));
    await assert.rejects(adapter.create(invoice(), { secret: 's' }), OutcomeUnknown);
  });
});

describe('platform create: payment requests', () => {
  it('maps the order to the v1 request: string amount, {iso} objects, lifetime, sender without birth date', async () => {
    const { http, adapter } = setup();
    http.replyFixture(200, 'platform/payment-request-create-200.json');
    await adapter.create(
      request({
        description: 'Invoice 2001',
        payment_currency: 'usdtt',
        provider_options: { payment_currency_network: 'TRC20' },
        customer: { email: 'payer@example.com', reference: 'cust-42', sender: { type: 'natural', first_name: 'Ana', last_name: 'Lopez' } },
        urls: { success: 'https://shop.example.com/ok', failure: 'https://shop.example.com/fail', store: 'https://shop.example.com/' },
      }),
      { secret: 's' },
    );
    assert.equal(http.last.method, 'POST');
    assert.equal(http.last.path, '/api/payments/v1/requests');
    assert.equal(
      assertSignedAsSent(http),
      '{"amount":"100.50","currency":{"iso":"EUR"},"life_time_duration":3600,"payment_currency":{"iso":"USDTT","network_name":"TRC20"},' +
        '"end_user_email":"payer@example.com","end_user_reference":"cust-42","sender_type":"natural",' +
        '"sender_data":{"first_name":"Ana","last_name":"Lopez"},"description":"Invoice 2001","foreign_id":"pr-2001",' +
        '"url_store":"https://shop.example.com/","url_success":"https://shop.example.com/ok","url_failed":"https://shop.example.com/fail"}',
    );
  });

  it('sends an absolute lifetime as unix seconds', async () => {
    const { http, adapter } = setup();
    http.replyFixture(200, 'platform/payment-request-create-200.json');
    await adapter.create(request({ expires_in_seconds: undefined, expires_at: '2099-01-01T00:00:00.900+01:00' }), { secret: 's' });
    assert.equal(assertSignedAsSent(http), '{"amount":"100.50","currency":{"iso":"EUR"},"life_time_date_time":4070905200,"foreign_id":"pr-2001"}');
  });

  it('reads the answer: UUID id, payment_link, life_time as expiry', async () => {
    const { http, adapter } = setup();
    http.replyFixture(200, 'platform/payment-request-create-200.json');
    const result = await adapter.create(request(), { secret: 's' });
    assert.deepEqual(result, {
      providerInvoiceId: '0196f6a1-7c1e-7d3a-9b2f-3a4c5d6e7f80',
      paymentUrl: 'https://pay.cryptoprocessing.com/request/0196f6a1-7c1e-7d3a-9b2f-3a4c5d6e7f80',
      status: 'created',
      providerStatus: 'created',
      amount: '100.50',
      currency: 'EUR',
      expiresAt: '2025-05-16T14:00:00.000Z',
    });
  });

  it('accepts 201 as well and refuses an answer without payment_link', async () => {
    const { http, adapter } = setup();
    http.reply(201, fixtureJson('platform/payment-request-create-200.json'));
    assert.equal((await adapter.create(request(), { secret: 's' })).status, 'created');
    http.reply(200, { data: { id: '0196f6a1-7c1e-7d3a-9b2f-3a4c5d6e7f80', status: 'created' } });
    await assert.rejects(adapter.create(request(), { secret: 's' }), (err: unknown) => err instanceof ResponseShape && err.issues[0]?.field === 'data.payment_link');
  });
});

function sentJson(body: string): Record<string, unknown> {
  const value: unknown = JSON.parse(body);
  assert.ok(value && typeof value === 'object' && !Array.isArray(value));
  return Object.fromEntries(Object.entries(value));
}

// The adapter contract (test/helpers/provider-contract.ts), for both platform providers and both kinds.
const contractCreds = { baseUrl: 'https://sandbox.test', apiKey: 'contract-key-1', apiSecret: 'contract-secret-2' };
// The documented answer of transactions/info, for the order's foreign_id.
const lookupAnswer = {
  ...(fixtureJson('documented/platform/transactions-info-by-foreign-id.json') as Record<string, unknown>),
  crypto_address: { currency: 'BTC', foreign_id: 'order-1001' },
};
providerContract(
  (['cryptoprocessing', 'alphapo'] as const).flatMap((provider) =>
    (['invoice', 'payment_request'] as const).map((kind) => ({
      name: `${provider} ${kind}`,
      make: (http: FakeHttp) => createPlatformAdapter(provider, contractCreds, { http }),
      order: OrderSchema.parse({
        provider,
        kind,
        foreign_id: 'order-1001',
        amount: '25.10',
        currency: 'EUR',
        ...(kind === 'invoice' ? { title: 'Contract', urls: { success: 'https://s.example.com/ok', failure: 'https://s.example.com/no' } } : { expires_in_seconds: 900 }),
        customer: { email: 'payer@example.com', reference: 'c-1' },
      }),
      created: fixtureText(kind === 'invoice' ? 'platform/invoice-create-201.json' : 'platform/payment-request-create-200.json'),
      secrets: [contractCreds.apiKey, contractCreds.apiSecret, 'payer@example.com'],
      callback: {
        known: { raw: fixture(kind === 'invoice' ? 'platform/callbacks/invoice-confirmed.json' : 'platform/callbacks/request-paid.json'), status: 'paid' as const },
        unknown: fixture(kind === 'invoice' ? 'platform/callbacks/invoice-unknown-status.json' : 'platform/callbacks/request-unknown-status.json'),
        sign: (raw: Buffer, secret: string) => ({ 'x-processing-key': contractCreds.apiKey, 'x-processing-signature': signBody(raw, secret) }),
        credential: contractCreds.apiSecret,
        signsBody: true,
      },
      // Payment requests have no lookup at the platform (docs/providers.md).
      ...(kind === 'invoice'
        ? {
            lookup: {
              ref: { kind, foreignId: 'order-1001', providerInvoiceId: '826900' },
              known: { body: JSON.stringify(lookupAnswer), status: 'processing' as const },
            },
          }
        : {}),
    })),
  ),
);
