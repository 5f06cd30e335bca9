/**
 * The adapter contract against the providers' own documented messages (test/fixtures/providers/
 * documented, each with its public source): every documented invoice and payment-request callback
 * parses, every other callback type is recognised as not about an invoice, the documented
 * transactions/info answer is read as a payment seen, the documented cancel answers and errors map
 * to what they say, and the money each example carries is reported as what the payer sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProviderRejected } from '../../../src/errors.ts';
import { coverage } from '../../../src/invoice/track.ts';
import { add, normalize } from '../../../src/money.ts';
import { createPlatformAdapter } from '../../../src/providers/platform.ts';
import { DOCUMENTED } from '../../fixtures/providers/documented/index.ts';
import { FakeHttp } from '../../fixtures/providers/fake-http.ts';

const creds = { baseUrl: 'https://sandbox.test', apiKey: 'k', apiSecret: 's' };
const adapter = createPlatformAdapter('cryptoprocessing', creds, { http: new FakeHttp() });
const doc = (file: string) => {
  const found = DOCUMENTED.find((d) => d.file === `platform/${file}.json`);
  assert.ok(found, `documented fixture ${file}`);
  return found;
};
const parse = (file: string) => adapter.parseCallback(Buffer.from(doc(file).raw));

describe('documented platform messages', () => {
  it('every documented invoice and payment-request callback parses, and none is taken for a foreign type', () => {
    const callbacks = DOCUMENTED.filter((d) => d.provider === 'platform' && (d.kind === 'invoice-callback' || d.kind === 'payment-request-callback'));
    assert.ok(callbacks.length >= 7, `${callbacks.length} documented callbacks`);
    for (const d of callbacks) {
      const raw = Buffer.from(d.raw);
      assert.equal(adapter.foreignCallback?.(raw), null, d.file);
      const update = adapter.parseCallback(raw);
      assert.notEqual(update.status, 'unresolved', d.file);
      // What is reported received is never more than the transactions carried.
      const body = d.body as { transactions?: Array<{ amount?: string }> };
      if (body.transactions && !body.transactions.length) assert.equal(update.receivedAmount, undefined, `${d.file}: no transaction, nothing received`);
    }
  });

  it('every deposit, withdrawal and exchange callback is recognised as not about an invoice, with its type', () => {
    const foreign = DOCUMENTED.filter((d) => d.kind === 'foreign-callback');
    assert.ok(foreign.length >= 5);
    for (const d of foreign) {
      const seen = adapter.foreignCallback?.(Buffer.from(d.raw));
      assert.ok(seen, d.file);
      assert.equal(seen.type, (d.body as { type: string }).type, d.file);
    }
  });

  it('installment: 0.01 BTC received of 0.02 due (currency_received is the target), the txid, pending and partly paid', () => {
    const u = parse('invoice-callback-installment-pending');
    assert.equal(u.status, 'pending');
    assert.equal(u.receivedAmount, '0.01');
    assert.equal(u.receivedCurrency, 'BTC');
    assert.deepEqual(u.transactions, [{ txid: '528dcda13270f8590853405600bf5634d53aa66d2ce5d3a873006a670f9da788', amount: '0.01', currency: 'BTC', confirmations: 0 }]);
    assert.equal(u.settledAmount, undefined);
    assert.equal(u.reason, 'partially paid; 0.01 BTC remaining');
  });

  it('mempool with conversion to EUR: 0.00309556 BTC received; the EUR figure is the value, not money received', () => {
    const u = parse('invoice-callback-processing-mempool-convert-eur');
    assert.equal(u.status, 'processing');
    assert.equal(u.receivedAmount, '0.00309556');
    assert.equal(u.receivedCurrency, 'BTC');
    assert.equal(u.settledAmount, undefined, 'not settled before it is confirmed');
    assert.deepEqual(u.paid?.value, { amount: '26', currency: 'EUR' });
  });

  it('confirmed after installments: the transactions summed, settled as stated, fees kept', () => {
    const u = parse('invoice-callback-confirmed-after-installments');
    assert.equal(u.status, 'paid');
    const sum = (u.transactions ?? []).reduce((n, t) => add(n, t.amount ?? '0'), '0');
    assert.equal(u.receivedAmount, normalize(sum), 'received is the sum of the listed transactions');
    assert.ok(u.settledAmount);
  });

  it('failed "Timer expired. User not paid." -> expired, nothing received; failed paid less / too long -> failed with the money seen', () => {
    const timer = parse('invoice-callback-failed-timer-not-paid');
    assert.equal(timer.status, 'expired');
    assert.equal(timer.receivedAmount, undefined);
    const less = parse('invoice-callback-failed-paid-less');
    assert.equal(less.status, 'failed');
    assert.ok(less.receivedAmount);
    const long = parse('invoice-callback-failed-processing-too-long');
    assert.equal(long.status, 'failed');
    assert.equal(long.receivedAmount, '0.0001');
  });

  it('the "successful payment" example (0.01 of 0.02 BTC remaining) does not cover a 0.02 BTC order: underpaid', () => {
    const u = parse('cp-invoice-callback-successful-payment');
    assert.equal(u.status, 'paid');
    const c = coverage({ amount: '0.02', currency: 'BTC' }, u);
    assert.equal(c.verdict, 'short');
    assert.match(c.why, /received 0\.01 BTC of 0\.02 BTC/);
    assert.deepEqual(u.fees, [{ type: 'fee_crypto_deposit', amount: '0.0008', currency: 'BTC' }]);
  });

  it('coverage: a payment in the order currency covers it, a short one does not, an excess is over, another currency alone is unverifiable', () => {
    const base = parse('invoice-callback-processing-mempool-convert-eur');
    assert.equal(coverage({ amount: '26.00', currency: 'EUR' }, base).verdict, 'covered');
    assert.equal(coverage({ amount: '26.01', currency: 'EUR' }, base).verdict, 'short');
    assert.equal(coverage({ amount: '25', currency: 'EUR' }, base).verdict, 'over');
    assert.equal(coverage({ amount: '26', currency: 'USD' }, { ...base, paid: { value: base.paid!.value! } }).verdict, 'unverifiable');
    assert.equal(coverage({ amount: '26', currency: 'USD' }, base).verdict, 'covered', 'all that was due in the currency sent arrived');
  });

  it('the transactions/info answer for a foreign_id is a payment seen: at least processing, the amount and txid', async () => {
    const http = new FakeHttp().reply(200, doc('transactions-info-by-foreign-id').raw);
    const u = await createPlatformAdapter('cryptoprocessing', creds, { http }).lookup({ kind: 'invoice', foreignId: '12345' });
    assert.equal(u?.status, 'processing');
    assert.equal(u?.receivedAmount, '6.53157512');
    assert.equal(u?.transactions?.[0]?.txid, '3950ad8149421a850d01dff88f024810e363ac18c9e8dd9bc0b9116e7937ad93');
  });

  it("cancel: the documented answer is done; invalid_invoice_state is a refusal in the provider's words", async () => {
    const http = new FakeHttp().reply(200, doc('cancel-answer').raw).reply(400, doc('cancel-invalid-state').raw);
    const a = createPlatformAdapter('cryptoprocessing', creds, { http });
    assert.deepEqual(await a.cancel!({ kind: 'invoice', foreignId: 'order-1' }), { kind: 'cancelled' });
    assert.equal(http.last.method, 'POST');
    assert.equal(http.last.path, '/api/v2/invoices/order-1/cancel/');
    assert.equal(http.last.body, '{}', 'the body is literally {}');
    const refused = await a.cancel!({ kind: 'invoice', foreignId: 'order-1' });
    assert.deepEqual(refused, { kind: 'refused', code: 'invalid_invoice_state', message: 'Invoice cannot be failed in its current state.' });
    assert.deepEqual(await a.cancel!({ kind: 'payment_request', foreignId: 'pr-1' }), {
      kind: 'refused',
      code: 'not_supported',
      message: 'the provider documents no cancel for payment requests',
    });
  });

  it('a refusal keeps the provider\'s words: "The minimum amount is 10.00 EUR."', async () => {
    const http = new FakeHttp().reply(400, doc('error-amount-too-small').raw);
    const a = createPlatformAdapter('cryptoprocessing', creds, { http });
    const order = {
      provider: 'cryptoprocessing' as const,
      kind: 'invoice' as const,
      foreign_id: 'o-min',
      amount: '1',
      currency: 'EUR',
      title: 't',
      customer: { email: 'p@example.com' },
      urls: { success: 'https://s.example.com/ok', failure: 'https://s.example.com/no' },
    };
    await assert.rejects(a.create(order, { secret: 's' }), (err: unknown) => err instanceof ProviderRejected && /The minimum amount is 10\.00 EUR\./.test(err.message));
  });
});
