import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutcomeUnknown, ProviderAuth, ProviderError, ProviderRateLimited, ProviderRejected, ProviderUnavailable, ResponseShape, ValidationError } from '../../../src/errors.ts';
import { OrderSchema, type Order, type OrderInput } from '../../../src/invoice/order.ts';
import { createCryptoSteroidAdapter } from '../../../src/providers/cryptosteroid.ts';
import type { ProviderUpdate } from '../../../src/providers/types.ts';
import { FakeHttp, fixture, fixtureObject, fixtureText } from '../../fixtures/providers/fake-http.ts';
import { ORDER_SECRET, providerContract } from '../../helpers/provider-contract.ts';

const MERCHANT = '5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const INVOICE_ID = '8c2d4e6f-1a3b-4c5d-9e7f-0a1b2c3d4e5f';
const creds = { baseUrl: 'https://sandbox.test/cs', apiKey: 'cs-api-key-123', merchantId: MERCHANT };

function setup() {
  const http = new FakeHttp();
  return { http, adapter: createCryptoSteroidAdapter(creds, { http }) };
}

function order(input: Partial<OrderInput> = {}): Order {
  return OrderSchema.parse({
    provider: 'cryptosteroid',
    foreign_id: 'cs-order-3001',
    amount: '100.50',
    currency: 'EUR',
    description: 'Order 3001',
    ...input,
  });
}

const fields = (o: Order): string[] =>
  setup()
    .adapter.validate(o)
    .map((i) => i.field);
const parse = (name: string): ProviderUpdate => setup().adapter.parseCallback(fixture(`cryptosteroid/${name}.json`));

describe('cryptosteroid validate', () => {
  it('accepts a complete order', () => {
    assert.deepEqual(fields(order()), []);
    assert.deepEqual(fields(order({ currency: 'usd', payment_currency: 'usdt_trc20', provider_options: { whoPayCommission: 'seller' }, timer: false })), []);
    for (const method of ['BTC', 'ETH', 'TRX', 'BCH', 'LTC', 'DOGE', 'USDT_ERC20', 'USDT_TRC20']) assert.deepEqual(fields(order({ payment_currency: method })), [], method);
  });

  it('offers invoices only', () => {
    assert.deepEqual(fields(order({ kind: 'payment_request' })), ['kind']);
  });

  it('takes USD, EUR or RUB', () => {
    assert.deepEqual(fields(order({ currency: 'GBP' })), ['currency']);
    assert.deepEqual(fields(order({ currency: 'BTC' })), ['currency']);
  });

  it('refuses an amount that is not a plain positive decimal', () => {
    assert.deepEqual(fields({ ...order(), amount: '1e3' }), ['amount']);
  });

  it('requires a description', () => {
    assert.deepEqual(fields(order({ description: undefined })), ['description']);
    assert.deepEqual(fields(order({ description: '' })), ['description']);
  });

  it('maps payment_currency to a paymentMethod it knows', () => {
    assert.deepEqual(fields(order({ payment_currency: 'USDT' })), ['payment_currency']);
    assert.deepEqual(fields(order({ payment_currency: 'XRP' })), ['payment_currency']);
  });

  it('checks whoPayCommission and refuses unknown options', () => {
    assert.deepEqual(fields(order({ provider_options: { whoPayCommission: 'nobody' } })), ['provider_options.whoPayCommission']);
    assert.deepEqual(fields(order({ provider_options: { whoPayCommission: true } })), ['provider_options.whoPayCommission']);
    assert.deepEqual(fields(order({ provider_options: { type: 'fill_or_kill' } })), ['provider_options.type']);
  });

  it('has a fixed 30-minute window: timer and lifetimes do not apply', () => {
    for (const [field, value] of [
      ['timer', true],
      ['expires_in_seconds', 600],
      ['expires_at', '2099-01-01T00:00:00Z'],
    ] as const) {
      const issues = setup().adapter.validate(order({ [field]: value }));
      assert.deepEqual(
        issues.map((i) => i.field),
        [field],
      );
      assert.match(issues[0]?.message ?? '', /30 minutes/);
    }
  });

  it('refuses an order for another provider, and lists every issue at once', () => {
    assert.deepEqual(fields(order({ provider: 'alphapo' })), ['provider']);
    assert.deepEqual(fields(order({ kind: 'payment_request', currency: 'GBP', description: undefined, expires_in_seconds: 600 })), [
      'kind',
      'currency',
      'description',
      'expires_in_seconds',
    ]);
  });
});

describe('cryptosteroid create', () => {
  it('maps the order, with the per-order secret and callback URL, under the merchant path', async () => {
    const { http, adapter } = setup();
    http.replyFixture(201, 'cryptosteroid/invoice-new-with-method.json');
    await adapter.create(
      order({
        payment_currency: 'usdt_trc20',
        provider_options: { whoPayCommission: 'seller' },
        urls: { success: 'https://shop.example.com/ok', failure: 'https://shop.example.com/fail', store: 'https://shop.example.com/' },
        customer: { email: 'payer@example.com' },
        title: 'Not sent',
      }),
      { secret: 'per-order-secret', callbackUrl: 'https://worker.example.com/webhooks/cryptosteroid/abc' },
    );
    const req = http.last;
    assert.equal(req.method, 'POST');
    assert.equal(req.baseUrl, 'https://sandbox.test/cs');
    assert.equal(req.path, `/merchants/${MERCHANT}/invoices`);
    assert.equal(req.provider, 'cryptosteroid');
    assert.deepEqual(req.headers, { Accept: 'application/json', 'X-Api-Key': 'cs-api-key-123', 'Content-Type': 'application/json' });
    assert.equal(
      req.body,
      '{"fiatCurrency":"EUR","fiatAmount":"100.50","description":"Order 3001","whoPayCommission":"seller","externalId":"cs-order-3001",' +
        '"paymentMethod":"USDT_TRC20","secret":"per-order-secret","processingUrl":"https://worker.example.com/webhooks/cryptosteroid/abc",' +
        '"returnUrl":"https://shop.example.com/ok","failReturnUrl":"https://shop.example.com/fail"}',
    );
  });

  it('sends the secret even without a callback URL, and nothing the order lacks', async () => {
    const { http, adapter } = setup();
    http.replyFixture(201, 'cryptosteroid/invoice-new.json');
    await adapter.create(order(), { secret: 'per-order-secret' });
    assert.equal(http.last.body, '{"fiatCurrency":"EUR","fiatAmount":"100.50","description":"Order 3001","externalId":"cs-order-3001","secret":"per-order-secret"}');
  });

  it('reads the Invoice: NEW without a method -> created, with expiry', async () => {
    const { http, adapter } = setup();
    http.replyFixture(201, 'cryptosteroid/invoice-new.json');
    assert.deepEqual(await adapter.create(order(), { secret: 's' }), {
      providerInvoiceId: INVOICE_ID,
      paymentUrl: `https://pay.cryptosteroid.com/invoice/${INVOICE_ID}`,
      status: 'created',
      providerStatus: 'NEW',
      amount: '100.50',
      currency: 'EUR',
      expiresAt: '2026-05-16T12:30:00.000Z',
    });
  });

  it('NEW with a method chosen -> pending; 200 is accepted too', async () => {
    const { http, adapter } = setup();
    http.replyFixture(200, 'cryptosteroid/invoice-new-with-method.json');
    const result = await adapter.create(order({ payment_currency: 'USDT_TRC20' }), { secret: 's' });
    assert.equal(result.status, 'pending');
  });

  it('tolerates odd echoes it only reports', async () => {
    const { http, adapter } = setup();
    const body = { ...fixtureObject('cryptosteroid/invoice-new.json'), fiatAmount: 100.5, expiresAt: 'in 30 minutes', invoiceId: 12345 };
    http.reply(201, body);
    const result = await adapter.create(order(), { secret: 's' });
    assert.equal(result.providerInvoiceId, '12345');
    assert.equal(result.amount, undefined, 'an unreadable echo is not compared with the order');
    assert.equal(result.expiresAt, undefined);
  });

  it('refuses an invalid order before sending', async () => {
    const { http, adapter } = setup();
    await assert.rejects(adapter.create(order({ currency: 'GBP' }), { secret: 's' }), ValidationError);
    assert.equal(http.requests.length, 0);
  });

  const errorCases: Array<[string, number, string, abstract new (...args: never[]) => ProviderError]> = [
    ['400 {statusCode,message[]}', 400, fixtureText('cryptosteroid/error-400.json'), ProviderRejected],
    ['400 the NEW-invoice cap (unknown body)', 400, 'Too many unpaid invoices', ProviderRejected],
    ['404 unknown merchant', 404, '{"statusCode":404,"message":"Merchant not found"}', ProviderRejected],
    ['401', 401, fixtureText('cryptosteroid/error-401.json'), ProviderAuth],
    ['403', 403, '{"statusCode":403,"message":"Forbidden resource"}', ProviderAuth],
    ['429', 429, '{"statusCode":429,"message":"ThrottlerException: Too Many Requests"}', ProviderRateLimited],
    ['the 1015 page', 429, 'error code: 1015', ProviderRateLimited],
    ['500', 500, '{"statusCode":500,"message":"Internal server error"}', ProviderUnavailable],
    ['503 text', 503, 'upstream down', ProviderUnavailable],
    ['2xx without invoiceUrl', 201, JSON.stringify({ invoiceId: INVOICE_ID, status: 'NEW' }), ResponseShape],
    ['2xx not JSON', 200, 'created', ResponseShape],
    ['a redirect', 301, '', ResponseShape],
  ];
  for (const [name, status, body, expected] of errorCases) {
    it(`${name} -> ${expected.name}`, async () => {
      const { http, adapter } = setup();
      http.reply(status, body);
      await assert.rejects(adapter.create(order({ customer: { email: 'payer@example.com' } }), { secret: 'per-order-secret' }), (err: unknown) => {
        assert.ok(err instanceof expected, `got ${String(err)}`);
        assert.equal(err.httpStatus, status);
        for (const secret of ['cs-api-key-123', 'per-order-secret', 'payer@example.com']) assert.ok(!err.message.includes(secret));
        return true;
      });
    });
  }

  it('keeps the provider message of a 400 in the fields', async () => {
    const { http, adapter } = setup();
    http.replyFixture(400, 'cryptosteroid/error-400.json');
    await assert.rejects(adapter.create(order(), { secret: 's' }), (err: unknown) => {
      assert.ok(err instanceof ProviderRejected);
      assert.deepEqual(err.fields, { message: 'fiatCurrency must be one of the following values: USD, EUR, RUB' });
      return true;
    });
  });

  it('turns an interrupted request into an unknown outcome', async () => {
    const { http, adapter } = setup();
    http.fail(new Error('socket hang up'));
    await assert.rejects(adapter.create(order(), { secret: 's' }), OutcomeUnknown);
  });
});

describe('cryptosteroid webhook', () => {
  const raw = fixture('cryptosteroid/webhook-paid.json');

  it('is authentic only with the per-order token in the Token header', () => {
    const { adapter } = setup();
    assert.equal(adapter.verifyCallback(raw, { token: 'per-order-secret' }, 'per-order-secret'), true);
    assert.equal(adapter.verifyCallback(raw, { token: 'per-order-secreT' }, 'per-order-secret'), false);
    assert.equal(adapter.verifyCallback(raw, { token: 'per-order' }, 'per-order-secret'), false);
    assert.equal(adapter.verifyCallback(raw, {}, 'per-order-secret'), false);
    assert.equal(adapter.verifyCallback(raw, { token: 'per-order-secret' }), false);
    assert.equal(adapter.verifyCallback(raw, { token: '' }, ''), false);
    assert.equal(adapter.verifyCallback(raw, { token: ['per-order-secret'] }, 'per-order-secret'), false);
  });

  it('PAID with paid.fiat as a number -> paid, with the crypto received', () => {
    const update = parse('webhook-paid');
    assert.equal(update.providerInvoiceId, INVOICE_ID);
    assert.equal(update.status, 'paid');
    assert.equal(update.dedupeKey, `${INVOICE_ID}:PAID:108.120000`);
    assert.equal(update.foreignId, 'cs-order-3001');
    // What the payer sent, in the coin of the method (USDT on TRC20), normalized.
    assert.equal(update.receivedAmount, '108.12');
    assert.equal(update.receivedCurrency, 'USDT');
  });

  it('PAID with paid.fiat as a string and no externalId', () => {
    const update = parse('webhook-paid-fiat-string');
    assert.equal(update.status, 'paid');
    assert.equal(update.foreignId, undefined);
  });

  it('maps every status, and an unknown one to unresolved', () => {
    const cases: Array<[string, string]> = [
      ['invoice-new', 'created'],
      ['invoice-new-with-method', 'pending'],
      ['invoice-waiting', 'processing'],
      ['webhook-paid', 'paid'],
      ['invoice-expired', 'expired'],
      ['invoice-cancelled', 'cancelled'],
      ['invoice-unknown-status', 'unresolved'],
    ];
    for (const [name, status] of cases) assert.equal(parse(name).status, status, name);
    assert.equal(parse('invoice-waiting').reason, undefined);
    assert.equal(parse('invoice-waiting-partial').reason, 'partially paid');
  });

  it('dedupes a retried webhook, but never lets a polled NEW shadow a PAID', () => {
    assert.equal(parse('webhook-paid').dedupeKey, parse('webhook-paid').dedupeKey);
    assert.notEqual(parse('invoice-new').dedupeKey, parse('webhook-paid').dedupeKey);
  });

  it('refuses malformed bodies, naming the field', () => {
    const { adapter } = setup();
    const base = fixtureObject('cryptosteroid/webhook-paid.json');
    const check = (body: string, field: string) =>
      assert.throws(
        () => adapter.parseCallback(Buffer.from(body)),
        (err: unknown) => err instanceof ValidationError && err.issues.some((i) => i.field === field),
      );
    check('nope', '(body)');
    check(JSON.stringify({ ...base, invoiceId: undefined }), 'invoiceId');
    check(JSON.stringify({ ...base, status: 5 }), 'status');
    check(JSON.stringify({ ...base, payment: { method: 'BTC', paid: { received: 'all', finished: true } } }), 'payment.paid.received');
    check(JSON.stringify({ ...base, payment: { method: 'BTC', paid: { received: '1', fiat: {}, finished: true } } }), 'payment.paid.fiat');
  });
});

describe('cryptosteroid lookup', () => {
  it('GETs the invoice details with the API key and maps them', async () => {
    const { http, adapter } = setup();
    http.replyFixture(200, 'cryptosteroid/invoice-waiting.json');
    const update = await adapter.lookup({ kind: 'invoice', foreignId: 'cs-order-3001', providerInvoiceId: INVOICE_ID });
    assert.equal(http.last.method, 'GET');
    assert.equal(http.last.path, `/merchants/${MERCHANT}/invoices/${INVOICE_ID}`);
    assert.equal(http.last.headers?.['X-Api-Key'], 'cs-api-key-123');
    assert.equal(http.last.body, undefined);
    assert.equal(update?.status, 'processing');
  });

  it('without the provider id, or on 404, there is no answer', async () => {
    const { http, adapter } = setup();
    assert.equal(await adapter.lookup({ kind: 'invoice', foreignId: 'cs-order-3001' }), null);
    assert.equal(http.requests.length, 0);
    http.reply(404, '{"statusCode":404,"message":"Not Found"}');
    assert.equal(await adapter.lookup({ kind: 'invoice', foreignId: 'x', providerInvoiceId: INVOICE_ID }), null);
  });

  it('classifies failures', async () => {
    const { http, adapter } = setup();
    http.reply(502, '').reply(401, '').reply(200, '{"invoiceId":"x"}');
    const ref = { kind: 'invoice', foreignId: 'x', providerInvoiceId: INVOICE_ID } as const;
    await assert.rejects(adapter.lookup(ref), ProviderUnavailable);
    await assert.rejects(adapter.lookup(ref), ProviderAuth);
    await assert.rejects(adapter.lookup(ref), ResponseShape);
  });

  it('says a re-send may duplicate, and offers invoices only', () => {
    const { adapter } = setup();
    assert.equal(adapter.uniqueForeignId, false);
    assert.deepEqual(adapter.kinds, ['invoice']);
    assert.equal(adapter.id, 'cryptosteroid');
  });
});

// The adapter contract (test/helpers/provider-contract.ts).
providerContract([
  {
    name: 'cryptosteroid invoice',
    make: (http: FakeHttp) => createCryptoSteroidAdapter({ baseUrl: 'https://sandbox.test', apiKey: 'contract-key-1', merchantId: MERCHANT }, { http }),
    order: OrderSchema.parse({
      provider: 'cryptosteroid',
      foreign_id: 'cs-order-3001',
      amount: '25.10',
      currency: 'EUR',
      description: 'Contract',
      customer: { email: 'payer@example.com' },
    }),
    created: fixtureText('cryptosteroid/invoice-new.json'),
    secrets: ['contract-key-1', 'payer@example.com'],
    callback: {
      known: { raw: fixture('cryptosteroid/webhook-paid.json'), status: 'paid' },
      unknown: fixture('cryptosteroid/invoice-unknown-status.json'),
      // The order's own secret in the Token header (docs/providers.md): it authenticates the sender, not the bytes.
      sign: (_raw: Buffer, token: string) => ({ token }),
      credential: ORDER_SECRET,
      signsBody: false,
    },
    lookup: {
      ref: { kind: 'invoice', foreignId: 'cs-order-3001', providerInvoiceId: INVOICE_ID },
      known: { body: fixtureText('cryptosteroid/invoice-waiting.json'), status: 'processing' },
      unknown: fixtureText('cryptosteroid/invoice-unknown-status.json'),
    },
  },
]);
