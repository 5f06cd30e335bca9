/**
 * Money truth end to end, driven by the providers' documented messages (test/fixtures/providers/
 * documented, each with its public source): the real API receives them signed as the platform
 * signs, the events worker applies them, the relay publishes. What is reported received is what
 * the payer sent; `paid` only when the provider's figures cover the order; every other callback
 * type the merchant URL receives is answered 200 and changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureObject } from '../fixtures/providers/fake-http.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { platformHeaders, postRaw, resultsFor, settle, waitCreated, waitStatus } from './track-helpers.ts';

/** A documented message, about our invoice: its root id and foreign_id replaced by ours, nothing else touched. */
function documented(name: string, id: string, foreignId: string, changes: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...fixtureObject(`documented/platform/${name}.json`), id: Number(id), foreign_id: foreignId, ...changes });
}

describe('money truth, from the documented messages', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({
      callbacks: true,
      env: { POLL_PLATFORM_MS: '3600000', POLL_IDLE_MS: '3600000', EVENTS_ATTEMPTS: '3', EVENTS_BACKOFF_MS: '20' },
    });
  });
  after(async () => {
    await t.close();
  });

  async function open(foreignId: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await t.post('/v1/invoices', sampleOrder('cryptoprocessing', foreignId, extra));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await waitCreated(t, 'cryptoprocessing', foreignId);
    return (await t.system.store.get('cryptoprocessing', foreignId))!.provider_invoice_id!;
  }
  const callback = (body: string): Promise<{ status: number; body: unknown }> => postRaw(`${t.api}/webhooks/cryptoprocessing`, body, platformHeaders('cryptoprocessing', body));

  it('the installment callback reports 0.01 BTC received (not the 0.02 target), with its txid', async () => {
    const id = await open('money-installment');
    assert.equal((await callback(documented('invoice-callback-installment-pending', id, 'money-installment'))).status, 200);
    await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', 'money-installment'))?.received_amount, 'installment recorded');
    await settle(t);
    const rec = await t.system.store.get('cryptoprocessing', 'money-installment');
    assert.equal(rec?.status, 'pending');
    assert.equal(rec?.received_amount, '0.01');
    assert.equal(rec?.received_currency, 'BTC');
    assert.equal(rec?.settled_amount, null, 'nothing settled on an open invoice');
    assert.deepEqual(
      rec?.transactions.map((x) => [x.txid, x.amount]),
      [['528dcda13270f8590853405600bf5634d53aa66d2ce5d3a873006a670f9da788', '0.01']],
    );
    const pending = (await resultsFor(t, 'cryptoprocessing', 'money-installment')).find((r) => r.status === 'pending');
    assert.equal(pending?.received_amount, '0.01');
    assert.equal(pending?.received_currency, 'BTC');
  });

  it('paid with conversion: 0.00309556 BTC received, 26.00 EUR settled, the txid on the record and the paid result', async () => {
    const id = await open('money-convert', { amount: '26.00' });
    // The documented mempool message, then the same invoice confirmed (the documents show the
    // confirmed conversion only by its figures: ours changes the status alone).
    await callback(documented('invoice-callback-processing-mempool-convert-eur', id, 'money-convert'));
    await waitStatus(t, 'cryptoprocessing', 'money-convert', 'processing');
    await callback(documented('invoice-callback-processing-mempool-convert-eur', id, 'money-convert', { status: 'confirmed' }));
    await waitStatus(t, 'cryptoprocessing', 'money-convert', 'paid');
    await settle(t);
    const rec = await t.system.store.get('cryptoprocessing', 'money-convert');
    assert.equal(rec?.received_amount, '0.00309556');
    assert.equal(rec?.received_currency, 'BTC');
    assert.equal(rec?.settled_amount, '26');
    assert.equal(rec?.settled_currency, 'EUR');
    const paid = (await resultsFor(t, 'cryptoprocessing', 'money-convert')).find((r) => r.status === 'paid');
    assert.equal(paid?.received_amount, '0.00309556');
    assert.equal(paid?.settled_amount, '26');
    assert.equal(paid?.settled_currency, 'EUR');
    assert.equal(paid?.transactions?.[0]?.txid, '3e68744626ba23d591dc1b548b8b9b126ab0f49e6da020958f66ee64c38ec7ed');
    const view = await t.get('/v1/invoices/cryptoprocessing/money-convert');
    assert.equal(view.body.settled_amount, '26');
    assert.equal(view.body.transactions[0].txid, '3e68744626ba23d591dc1b548b8b9b126ab0f49e6da020958f66ee64c38ec7ed');
  });

  it('overpaid: paid, and an overpaid exception with the excess', async () => {
    const id = await open('money-over', { amount: '25.00' });
    // The documented conversion example credits 26.00 EUR: one more than this order asked.
    await callback(documented('invoice-callback-processing-mempool-convert-eur', id, 'money-over', { status: 'confirmed' }));
    await waitStatus(t, 'cryptoprocessing', 'money-over', 'paid');
    await settle(t);
    const results = await resultsFor(t, 'cryptoprocessing', 'money-over');
    assert.ok(results.some((r) => r.status === 'paid' && r.event === 'transition'));
    const over = results.find((r) => r.event === 'exception');
    assert.equal(over?.exception?.type, 'overpaid');
    assert.equal(over?.exception?.excess_amount, '1');
    assert.equal(over?.exception?.excess_currency, 'EUR');
    assert.equal((await t.system.store.get('cryptoprocessing', 'money-over'))?.reconcile, null, 'paid, not parked');
  });

  it('a short confirmed is never plain paid: an underpaid exception, parked; an operator accepts it', async () => {
    const id = await open('money-short');
    const short = documented('invoice-callback-processing-mempool-convert-eur', id, 'money-short', {
      status: 'confirmed',
      currency_received: { currency: 'EUR', amount: '1.00000000' },
    });
    assert.equal((await callback(short)).status, 200);
    await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', 'money-short'))?.reconcile, 'parked');
    await settle(t);
    const rec = await t.system.store.get('cryptoprocessing', 'money-short');
    assert.notEqual(rec?.status, 'paid');
    assert.match(rec?.reconcile ?? '', /^underpaid: .*1 EUR for an order of 100\.50 EUR/);
    const results = await resultsFor(t, 'cryptoprocessing', 'money-short');
    assert.ok(!results.some((r) => r.status === 'paid'), 'no paid result');
    const exception = results.find((r) => r.event === 'exception');
    assert.equal(exception?.exception?.type, 'underpaid');
    assert.equal(exception?.exception?.provider_amount, '1');
    assert.ok(results.some((r) => r.event === 'parked'));
    // The same message again changes nothing.
    await callback(short);
    await settle(t);
    assert.equal((await resultsFor(t, 'cryptoprocessing', 'money-short')).length, results.length);
    const accepted = await t.post('/v1/invoices/cryptoprocessing/money-short/accept', { by: 'ops-anna', reason: 'customer paid the rest by bank transfer' });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    assert.equal(accepted.body.invoice.status, 'paid');
    const history = await t.system.store.history(rec!.id);
    // The actor is who was authenticated (no API key configured here: anonymous); the body's `by` is a note beside it.
    assert.match(history.at(-1)?.reason ?? '', /accepted as it is by anonymous \(note: ops-anna\): customer paid the rest/);
  });

  it('the documented "successful payment" example with 0.01 of 0.02 BTC still remaining is parked as underpaid, not paid', async () => {
    const id = await open('money-slip');
    await callback(documented('cp-invoice-callback-successful-payment', id, 'money-slip'));
    await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', 'money-slip'))?.reconcile, 'parked');
    const rec = await t.system.store.get('cryptoprocessing', 'money-slip');
    assert.notEqual(rec?.status, 'paid');
    assert.match(rec?.reconcile ?? '', /^underpaid: .*received 0\.01 BTC of 0\.02 BTC/);
  });

  it('deposit, withdrawal, exchange and unknown callbacks on the merchant URL are answered 200 and change nothing', async () => {
    const id = await open('money-foreign');
    const before = await t.system.store.get('cryptoprocessing', 'money-foreign');
    const eventsBefore = await t.system.eventsQueue.getJobCounts();
    for (const name of [
      'deposit-callback',
      'deposit-exchange-callback',
      'withdrawal-callback',
      'withdrawal-exchange-callback',
      'exchange-callback-buy',
      'deposit-callback-not-confirmed',
    ]) {
      // Even naming our invoice's foreign_id and id: a deposit callback is not about an invoice.
      const body = JSON.stringify({ ...fixtureObject(`documented/platform/${name}.json`), foreign_id: 'money-foreign', id: Number(id) });
      const res = await callback(body);
      assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.body)}`);
    }
    const odd = JSON.stringify({ id: 7, type: 'refund', status: 'done' });
    assert.equal((await callback(odd)).status, 200);
    // A forged one is still refused.
    const forged = JSON.stringify(fixtureObject('documented/platform/deposit-callback.json'));
    assert.equal((await postRaw(`${t.api}/webhooks/cryptoprocessing`, forged, platformHeaders('cryptoprocessing', forged, 'not-the-secret'))).status, 401);
    assert.deepEqual(await t.system.eventsQueue.getJobCounts(), eventsBefore, 'nothing stored');
    const after = await t.system.store.get('cryptoprocessing', 'money-foreign');
    assert.equal(after?.version, before?.version, 'the record did not change');
    const metrics = await fetch(`${t.api}/metrics`).then((r) => r.text());
    assert.match(metrics, /invoice_worker_foreign_callbacks_total\{type="deposit"\} [1-9]/);
    assert.match(metrics, /invoice_worker_foreign_callbacks_total\{type="withdrawal"\} [1-9]/);
    assert.match(metrics, /invoice_worker_foreign_callbacks_total\{type="unknown"\} [1-9]/);
  });

  it('success, failure and store addresses that are not https or name an IP get a 400 naming the field; nothing is accepted', async () => {
    for (const [urls, field] of [
      [{ success: 'http://shop.example/ok', failure: 'https://shop.example/no' }, 'urls.success'],
      [{ success: 'https://shop.example/ok', failure: 'https://10.0.0.7/no' }, 'urls.failure'],
      [{ success: 'https://2130706433/ok', failure: 'https://shop.example/no' }, 'urls.success'],
      [{ success: 'https://[::1]/ok', failure: 'https://shop.example/no' }, 'urls.success'],
    ] as const) {
      const res = await t.post('/v1/invoices', sampleOrder('cryptoprocessing', `money-url-${field}-${Math.random()}`, { urls }));
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.ok(
        res.body.issues.some((i: { field: string }) => i.field === field),
        JSON.stringify(res.body),
      );
    }
    const fiat = await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'money-fiat-pay', { payment_currency: 'EUR' }));
    assert.equal(fiat.status, 400);
    assert.ok(fiat.body.issues.some((i: { field: string }) => i.field === 'payment_currency'));
  });
});
