import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProviderAuth, ProviderUnavailable, ResponseShape, ValidationError } from '../../../src/errors.ts';
import { createPlatformAdapter } from '../../../src/providers/platform.ts';
import type { ProviderUpdate } from '../../../src/providers/types.ts';
import { signBody } from '../../../src/signing.ts';
import { FakeHttp, fixture, fixtureObject, fixtureText } from '../../fixtures/providers/fake-http.ts';

const creds = { baseUrl: 'https://sandbox.test', apiKey: 'cp-key', apiSecret: 'cp-secret' };
const adapter = createPlatformAdapter('cryptoprocessing', creds, { http: new FakeHttp() });

const parse = (name: string): ProviderUpdate => adapter.parseCallback(fixture(`platform/callbacks/${name}.json`));
const parseJsonValue = (value: unknown): ProviderUpdate => adapter.parseCallback(Buffer.from(JSON.stringify(value)));

function withChanges(name: string, changes: Record<string, unknown>): Record<string, unknown> {
  return { ...fixtureObject(`platform/callbacks/${name}.json`), ...changes };
}

function rejectsField(raw: Buffer | string, field: string): void {
  assert.throws(
    () => adapter.parseCallback(Buffer.isBuffer(raw) ? raw : Buffer.from(raw)),
    (err: unknown) => err instanceof ValidationError && err.issues.some((i) => i.field === field),
  );
}

describe('platform invoice callbacks', () => {
  it('verifies every sample callback signed over its raw bytes', () => {
    for (const name of ['invoice-confirmed', 'invoice-processing', 'request-paid', 'request-restricted']) {
      const raw = fixture(`platform/callbacks/${name}.json`);
      const headers = { 'x-processing-key': 'cp-key', 'x-processing-signature': signBody(raw, 'cp-secret') };
      assert.equal(adapter.verifyCallback(raw, headers), true, name);
      assert.equal(adapter.verifyCallback(raw, headers, 'some-token'), true, 'expectedToken is ignored');
      assert.equal(adapter.verifyCallback(Buffer.concat([raw, Buffer.from(' ')]), headers), false, `${name} with a trailing byte`);
      assert.equal(adapter.verifyCallback(raw, {}), false);
    }
  });

  it('confirmed -> paid: received is what the transactions carried (crypto), settled what the merchant is credited', () => {
    const update = parse('invoice-confirmed');
    assert.equal(update.foreignId, 'order-1001');
    assert.equal(update.providerInvoiceId, '826900');
    assert.equal(update.status, 'paid');
    assert.equal(update.receivedAmount, '0.0025125');
    assert.equal(update.receivedCurrency, 'BTC');
    assert.equal(update.settledAmount, '100.5');
    assert.equal(update.settledCurrency, 'EUR');
    assert.equal(update.transactions?.length, 1);
    assert.deepEqual(update.paid, { value: { amount: '100.5', currency: 'EUR' }, due: { amount: '0.0025125', currency: 'BTC' } });
    assert.equal(update.dedupeKey, 'invoice:826900:confirmed:1');
  });

  it('processing -> processing', () => {
    const update = parse('invoice-processing');
    assert.equal(update.status, 'processing');
    assert.equal(update.reason, undefined);
  });

  it('an installment leaves the invoice pending with a partial-payment note', () => {
    const update = parse('invoice-pending-installment');
    assert.equal(update.status, 'pending');
    assert.equal(update.receivedAmount, '0.001');
    assert.equal(update.settledAmount, undefined, 'nothing is settled while the invoice is open');
  });

  it('two installments then confirmed -> paid, distinct from the one-transaction callback for dedupe', () => {
    const update = parse('invoice-confirmed-installments');
    assert.equal(update.status, 'paid');
    assert.equal(update.dedupeKey, 'invoice:826900:confirmed:2');
    assert.notEqual(update.dedupeKey, parse('invoice-confirmed').dedupeKey);
    assert.equal(parse('invoice-confirmed').dedupeKey, parse('invoice-confirmed').dedupeKey);
  });

  it('failed with "Timer expired. User not paid." -> expired', () => {
    const update = parse('invoice-failed-timer');
    assert.equal(update.status, 'expired');
    assert.equal(update.providerStatus, 'failed');
    assert.equal(update.reason, 'Timer expired. User not paid.');
  });

  it('failed with "Invoice cancelled" -> cancelled', () => {
    assert.equal(parse('invoice-failed-cancelled').status, 'cancelled');
  });

  it('any other failure -> failed, carrying the provider text', () => {
    for (const [name, reason] of [
      ['invoice-failed-processing-too-long', 'Transaction is in processing too long.'],
      ['invoice-failed-underpaid', 'User paid less than requested.'],
    ]) {
      const update = parse(name ?? '');
      assert.equal(update.status, 'failed');
      assert.equal(update.reason, reason);
    }
    assert.equal(parse('invoice-failed-underpaid').receivedAmount, '0.0015');
    assert.equal(parse('invoice-failed-underpaid').receivedCurrency, 'BTC');
    const bare = parseJsonValue(withChanges('invoice-failed-timer', { error: '' }));
    assert.equal(bare.status, 'failed');
    assert.equal(bare.reason, undefined);
    const missing = parseJsonValue(withChanges('invoice-failed-timer', { error: null }));
    assert.equal(missing.status, 'failed');
  });

  it('maps every documented invoice status, and an unknown one to unresolved', () => {
    const expected: Record<string, string> = { created: 'created', pending: 'pending', processing: 'processing', confirmed: 'paid', failed: 'failed' };
    for (const [status, normalized] of Object.entries(expected)) {
      assert.equal(parseJsonValue(withChanges('invoice-confirmed', { status, error: '' })).status, normalized, status);
    }
    const unknown = parse('invoice-unknown-status');
    assert.equal(unknown.status, 'unresolved');
    assert.equal(unknown.providerStatus, 'on_hold');
    assert.equal(parseJsonValue(withChanges('invoice-confirmed', { status: 'CONFIRMED' })).status, 'unresolved');
  });

  it('reads escapes, bare-number amounts and numeric confirmations', () => {
    const update = adapter.parseCallback(fixture('platform/callbacks/invoice-confirmed-escaped.json'));
    assert.equal(update.foreignId, 'shop/orders/77');
    assert.equal(update.providerInvoiceId, '826901');
    assert.equal(update.status, 'paid');
    assert.equal(update.settledAmount, '100.5');
  });

  it('spells bare-number amounts without exponents', () => {
    const raw = fixtureText('platform/callbacks/invoice-confirmed-escaped.json');
    for (const [literal, text] of [
      ['1e-7', '0.0000001'],
      ['1.5e-7', '0.00000015'],
      ['2.5e+21', '2500000000000000000000'],
      ['0', '0'],
    ]) {
      const update = adapter.parseCallback(Buffer.from(raw.replace('"amount":100.5', `"amount":${literal}`)));
      assert.equal(update.settledAmount, text, literal);
    }
  });

  it('takes foreign_id and id as numbers or strings', () => {
    const update = parseJsonValue(withChanges('invoice-confirmed', { foreign_id: 164, id: '826900' }));
    assert.equal(update.foreignId, '164');
    assert.equal(update.providerInvoiceId, '826900');
  });

  it('refuses malformed callbacks, naming the field', () => {
    rejectsField('not json', '(body)');
    rejectsField('[1,2]', '(body)');
    rejectsField(JSON.stringify(withChanges('invoice-confirmed', { status: undefined })), 'status');
    rejectsField(JSON.stringify(withChanges('invoice-confirmed', { id: undefined })), 'id');
    rejectsField(JSON.stringify(withChanges('invoice-confirmed', { foreign_id: null })), 'foreign_id');
    rejectsField(JSON.stringify(withChanges('invoice-confirmed', { currency_received: { currency: 'EUR', amount: '1,5' } })), 'currency_received.amount');
    rejectsField(JSON.stringify(withChanges('invoice-confirmed', { currency_received: { currency: 'EUR', amount: -1 } })), 'currency_received.amount');
    rejectsField(JSON.stringify(withChanges('invoice-confirmed', { transactions: 'none' })), 'transactions');
    rejectsField(JSON.stringify(withChanges('invoice-confirmed', { type: 'deposit' })), 'type');
    rejectsField(JSON.stringify(withChanges('invoice-confirmed', { type: undefined })), 'type');
  });
});

describe('platform payment-request callbacks', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['request-processing-rate-fixed', 'processing', undefined],
    ['request-processing-new-tx', 'processing', 'partially paid'],
    ['request-paid', 'paid', undefined],
    ['request-paid-overpaid', 'paid', undefined],
    ['request-failed', 'failed', undefined],
    ['request-expired-no-rate', 'expired', undefined],
    ['request-expired-fixed-rate', 'expired', undefined],
    ['request-expired-late-payment', 'expired', 'late payment received; refunded by the provider'],
    ['request-restricted', 'failed', 'restricted'],
    ['request-unknown-status', 'unresolved', undefined],
  ];
  for (const [name, status, reason] of cases) {
    it(`${name} -> ${status}`, () => {
      const update = parse(name);
      assert.equal(update.status, status);
      assert.equal(update.reason, reason);
      assert.equal(update.providerInvoiceId, '0196f6a1-7c1e-7d3a-9b2f-3a4c5d6e7f80');
      assert.equal(update.foreignId, 'pr-2001');
    });
  }

  it('maps created, and reads the received amount in the sent currency', () => {
    assert.equal(parseJsonValue(withChanges('request-paid', { status: 'created' })).status, 'created');
    const paid = parse('request-paid');
    assert.equal(paid.receivedAmount, '108.12');
    assert.equal(paid.receivedCurrency, 'USDTT');
    assert.equal(parse('request-expired-no-rate').receivedAmount, undefined, 'zero received is no payment');
  });

  it('dedupes on payment_request_id + status + received_amount', () => {
    assert.equal(parse('request-paid').dedupeKey, 'payment_request:0196f6a1-7c1e-7d3a-9b2f-3a4c5d6e7f80:paid:108.12000000');
    assert.notEqual(parse('request-processing-rate-fixed').dedupeKey, parse('request-processing-new-tx').dedupeKey);
    assert.notEqual(parse('request-expired-fixed-rate').dedupeKey, parse('request-expired-late-payment').dedupeKey);
  });

  it('is recognised without a type field, and refuses one without payment_request_id', () => {
    assert.equal(parseJsonValue(withChanges('request-paid', { type: undefined })).status, 'paid');
    rejectsField(JSON.stringify(withChanges('request-paid', { payment_request_id: undefined })), 'payment_request_id');
    rejectsField(JSON.stringify(withChanges('request-paid', { currency_sent: { received_amount: 'lots' } })), 'currency_sent.received_amount');
  });
});

describe('platform lookup', () => {
  function setup() {
    const http = new FakeHttp();
    return { http, adapter: createPlatformAdapter('alphapo', creds, { http }) };
  }

  it('payment requests have no lookup: null, nothing sent', async () => {
    const { http, adapter: a } = setup();
    assert.equal(await a.lookup({ kind: 'payment_request', foreignId: 'pr-2001', providerInvoiceId: 'x' }), null);
    assert.equal(http.requests.length, 0);
  });

  it('asks transactions/info with a signed JSON body on a GET, and reads the documented deposit record as a payment seen', async () => {
    const { http, adapter: a } = setup();
    http.replyFixture(200, 'documented/platform/transactions-info-by-foreign-id.json');
    const update = await a.lookup({ kind: 'invoice', foreignId: '12345' });
    assert.equal(http.last.method, 'GET');
    assert.equal(http.last.path, '/api/v2/transactions/info');
    assert.equal(http.last.body, '{"foreign_id":"12345"}');
    assert.equal(http.last.headers?.['X-Processing-Signature'], signBody('{"foreign_id":"12345"}', 'cp-secret'));
    assert.equal(update?.status, 'processing', 'a deposit is evidence of payment, never the invoice status');
    assert.equal(update?.receivedAmount, '6.53157512');
    assert.equal(update?.receivedCurrency, 'BTC');
    assert.equal(update?.transactions?.[0]?.txid, '3950ad8149421a850d01dff88f024810e363ac18c9e8dd9bc0b9116e7937ad93');
    assert.equal(update?.transactions?.[0]?.confirmations, 3);
  });

  it('a deposit for another foreign_id, a withdrawal, or a status that is not a payment is no answer', async () => {
    const { http, adapter: a } = setup();
    const doc = fixtureObject('documented/platform/transactions-info-by-foreign-id.json');
    http
      .reply(200, doc)
      .reply(200, { ...doc, type: 'withdrawal' })
      .reply(200, { ...doc, status: 'cancelled' });
    assert.equal(await a.lookup({ kind: 'invoice', foreignId: 'order-1001' }), null);
    assert.equal(await a.lookup({ kind: 'invoice', foreignId: '12345' }), null);
    assert.equal(await a.lookup({ kind: 'invoice', foreignId: '12345' }), null);
  });

  it('404 (no transaction yet) is no answer', async () => {
    const { http, adapter: a } = setup();
    http.reply(404, '{"errors":{"error":"Not found"}}');
    assert.equal(await a.lookup({ kind: 'invoice', foreignId: 'order-1001' }), null);
  });

  it('classifies failures and refuses a malformed invoice record', async () => {
    const { http, adapter: a } = setup();
    http
      .reply(503, '')
      .reply(403, fixtureText('platform/errors/bad-header-signature.json'))
      .reply(200, { data: { type: 'invoice', id: 1 } })
      .reply(200, 'oops');
    await assert.rejects(a.lookup({ kind: 'invoice', foreignId: 'f' }), ProviderUnavailable);
    await assert.rejects(a.lookup({ kind: 'invoice', foreignId: 'f' }), ProviderAuth);
    await assert.rejects(a.lookup({ kind: 'invoice', foreignId: 'f' }), (err: unknown) => err instanceof ResponseShape && err.issues.some((i) => i.field === 'status'));
    await assert.rejects(a.lookup({ kind: 'invoice', foreignId: 'f' }), ResponseShape);
  });
});
