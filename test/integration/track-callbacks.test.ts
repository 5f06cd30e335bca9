/**
 * Tracking by callbacks, end to end: the sandbox drives invoices and sends its signed callbacks
 * (with redelivery, duplicates, late deliveries, `\/` escapes) to the real API; the events worker
 * applies them; the relay publishes. Platform polling is slowed to an hour here, so every
 * transition below is proven to come from a callback.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventJobId } from '../../queues/events.ts';
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/index.ts';
import { storeKeys } from '../../src/invoice/keys.ts';
import { normalize } from '../../src/money.ts';
import { sampleOrder, samplePaymentRequest, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { assertPublishedExactlyOnce, invoiceCallback, platformHeaders, postRaw, resultsFor, settle, waitCreated, waitStatus } from './track-helpers.ts';

async function created(t: TestSystem, provider: 'cryptoprocessing' | 'alphapo' | 'cryptosteroid', foreignId: string, order: Record<string, unknown>): Promise<string> {
  const res = await t.post('/v1/invoices', order);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  await waitCreated(t, provider, foreignId);
  const rec = await t.system.store.get(provider, foreignId);
  return rec?.provider_invoice_id as string;
}

async function eventJobCount(t: TestSystem): Promise<number> {
  const c = await t.system.eventsQueue.getJobCounts();
  return Object.values(c).reduce((a, b) => a + b, 0);
}

describe('tracking by callbacks', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({
      callbacks: true,
      sandbox: { redeliveryDelaysMs: [50, 100], escapeSlashes: 0.5 },
      env: {
        POLL_PLATFORM_MS: '3600000',
        POLL_IDLE_MS: '3600000',
        POLL_CRYPTOSTEROID_MS: '3600000',
        EVENTS_ATTEMPTS: '3',
        EVENTS_BACKOFF_MS: '20',
      },
    });
  });
  after(async () => {
    await t.close();
  });

  it('cryptoprocessing invoice: created -> processing -> paid, each published once, from callbacks', async () => {
    await created(t, 'cryptoprocessing', 'cb-cp-paid', sampleOrder('cryptoprocessing', 'cb-cp-paid'));
    t.sandbox.pay('cryptoprocessing', 'cb-cp-paid');
    await waitStatus(t, 'cryptoprocessing', 'cb-cp-paid', 'paid');
    await settle(t);
    // The platform calls back on every change: `pending` (a currency picked) may come, or be overtaken by `processing`.
    assert.deepEqual(
      (await assertPublishedExactlyOnce(t, 'cryptoprocessing', 'cb-cp-paid')).filter((s) => s !== 'pending'),
      ['created', 'processing', 'paid'],
    );
    const rec = await t.system.store.get('cryptoprocessing', 'cb-cp-paid');
    const history = await t.system.store.history(rec!.id);
    assert.ok(history.length >= 4);
    assert.ok(
      history.slice(2).every((h) => h.source === 'callback'),
      'every move after created came from a callback',
    );
    const paid = (await resultsFor(t, 'cryptoprocessing', 'cb-cp-paid')).find((r) => r.status === 'paid');
    // What the payer sent, in the crypto sent; what the merchant is credited, in the order currency.
    const sent = t.sandbox.invoice('cryptoprocessing', 'cb-cp-paid');
    assert.equal(paid?.received_currency, sent?.payCurrency);
    assert.equal(Number(paid?.received_amount) > 0 && paid?.received_amount, normalize(sent!.cryptoReceived));
    assert.equal(paid?.settled_amount, '100.5');
    assert.equal(paid?.settled_currency, 'EUR');
    assert.equal(paid?.transactions?.[0]?.txid, sent?.transactions[0]?.txid);
    assert.equal(paid?.reason, undefined, 'an exact payment carries no reason');
  });

  it('alphapo invoice: the timer runs out -> expired with the provider reason', async () => {
    await created(t, 'alphapo', 'cb-ap-exp', sampleOrder('alphapo', 'cb-ap-exp'));
    t.sandbox.expire('alphapo', 'cb-ap-exp');
    await waitStatus(t, 'alphapo', 'cb-ap-exp', 'expired');
    await settle(t);
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'alphapo', 'cb-ap-exp'), ['created', 'expired']);
    const [, expired] = await resultsFor(t, 'alphapo', 'cb-ap-exp').then((rs) => rs.sort((a, b) => a.occurred_at.localeCompare(b.occurred_at)));
    assert.equal(expired?.reason, 'Timer expired. User not paid.');
  });

  it('cryptoprocessing invoice: an installment, then the timer -> pending, then failed "paid less"; alphapo cancel -> cancelled', async () => {
    await created(t, 'cryptoprocessing', 'cb-cp-fail', sampleOrder('cryptoprocessing', 'cb-cp-fail'));
    await created(t, 'alphapo', 'cb-ap-cancel', sampleOrder('alphapo', 'cb-ap-cancel'));
    t.sandbox.fail('cryptoprocessing', 'cb-cp-fail');
    t.sandbox.cancel('alphapo', 'cb-ap-cancel');
    await waitStatus(t, 'cryptoprocessing', 'cb-cp-fail', 'failed');
    await waitStatus(t, 'alphapo', 'cb-ap-cancel', 'cancelled');
    await settle(t);
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'cryptoprocessing', 'cb-cp-fail'), ['created', 'pending', 'failed']);
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'alphapo', 'cb-ap-cancel'), ['created', 'cancelled']);
    const results = await resultsFor(t, 'cryptoprocessing', 'cb-cp-fail');
    // The installment is the pending transition's money, or a payment event when `pending` came first without money.
    const installment = results.find((r) => (r.status === 'pending' && r.event === 'transition' && r.received_amount) || r.event === 'payment');
    assert.match(installment?.reason ?? installment?.payment?.reason ?? '', /partially paid/);
    assert.match(results.find((r) => r.status === 'failed')?.reason ?? '', /paid less than requested/);
  });

  it('payment requests: paid, and expired', async () => {
    await created(t, 'cryptoprocessing', 'cb-pr-paid', samplePaymentRequest('cryptoprocessing', 'cb-pr-paid'));
    await created(t, 'alphapo', 'cb-pr-exp', samplePaymentRequest('alphapo', 'cb-pr-exp'));
    t.sandbox.pay('cryptoprocessing', 'cb-pr-paid');
    t.sandbox.expire('alphapo', 'cb-pr-exp');
    await waitStatus(t, 'cryptoprocessing', 'cb-pr-paid', 'paid');
    await waitStatus(t, 'alphapo', 'cb-pr-exp', 'expired');
    await settle(t);
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'cryptoprocessing', 'cb-pr-paid'), ['created', 'processing', 'paid']);
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'alphapo', 'cb-pr-exp'), ['created', 'expired']);
  });

  it('cryptosteroid: the PAID webhook on the per-invoice URL, authenticated by the order secret -> paid', async () => {
    const id = await created(t, 'cryptosteroid', 'cb-cs-paid', sampleOrder('cryptosteroid', 'cb-cs-paid'));
    t.sandbox.pay('cryptosteroid', id);
    await waitStatus(t, 'cryptosteroid', 'cb-cs-paid', 'paid');
    await settle(t);
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'cryptosteroid', 'cb-cs-paid'), ['created', 'pending', 'paid']);
    const delivery = t.sandbox.deliveries().find((d) => d.provider === 'cryptosteroid' && d.invoiceId === id);
    assert.equal(delivery?.result, 200);
    assert.ok(delivery?.url?.startsWith(`${t.api}/webhooks/cryptosteroid/`), `processingUrl ${delivery?.url} points at this API`);
    const paid = (await resultsFor(t, 'cryptosteroid', 'cb-cs-paid')).find((r) => r.status === 'paid');
    assert.ok(paid?.received_amount, 'received amount published');
    assert.equal((paid as Record<string, unknown> | undefined)?.received_currency, 'USDT', 'in the payer currency (USDT on TRC20), and says so');
  });

  it('PHP-style bodies (\\/ and \\u escapes) verify on the raw bytes and are applied', async () => {
    t.sandbox.setHabits({ escapeSlashes: 1 });
    try {
      const fid = 'cb/esc/заказ';
      await created(t, 'cryptoprocessing', fid, sampleOrder('cryptoprocessing', fid));
      t.sandbox.pay('cryptoprocessing', fid);
      await waitStatus(t, 'cryptoprocessing', fid, 'paid');
      const escaped = t.sandbox.deliveries().filter((d) => d.foreignId === fid);
      assert.ok(escaped.length >= 2);
      for (const d of escaped) {
        assert.ok(d.body.includes('\\/') && d.body.includes('\\u'), 'the body really is escaped');
        assert.notEqual(JSON.stringify(JSON.parse(d.body)), d.body, 're-serializing would change the bytes');
        assert.equal(d.result, 200);
      }
    } finally {
      t.sandbox.setHabits({ escapeSlashes: 0.5 });
    }
  });

  it('duplicate and late callbacks: one job per message, nothing published twice, never backwards', async () => {
    t.sandbox.setHabits({ duplicateRate: 1, lateRate: 1 });
    try {
      await created(t, 'cryptoprocessing', 'cb-dup', sampleOrder('cryptoprocessing', 'cb-dup'));
      const csId = await created(t, 'cryptosteroid', 'cb-dup-cs', sampleOrder('cryptosteroid', 'cb-dup-cs'));
      t.sandbox.pay('cryptoprocessing', 'cb-dup');
      t.sandbox.pay('cryptosteroid', csId);
      // processing + confirmed, swapped (confirmed first), each sent twice; the CS webhook twice.
      await t.waitFor(async () => t.sandbox.deliveries().filter((d) => d.foreignId === 'cb-dup' && d.result === 200).length >= 4, 'four platform deliveries');
      await t.waitFor(async () => t.sandbox.deliveries().filter((d) => d.invoiceId === csId && d.result === 200).length >= 2, 'two webhook deliveries');
      await waitStatus(t, 'cryptoprocessing', 'cb-dup', 'paid');
      await waitStatus(t, 'cryptosteroid', 'cb-dup-cs', 'paid');
      await settle(t);
      const deliveries = t.sandbox.deliveries().filter((d) => d.foreignId === 'cb-dup');
      assert.ok(deliveries.some((d) => d.duplicate) && deliveries.some((d) => d.late), 'the sandbox did send duplicates and late ones');
      assert.equal(
        deliveries.at(-1)?.callbackStatus === 'processing' || deliveries.some((d) => d.late && d.callbackStatus === 'processing'),
        true,
        'a processing callback arrived after confirmed',
      );
      const statuses = await assertPublishedExactlyOnce(t, 'cryptoprocessing', 'cb-dup');
      assert.equal(statuses.at(-1), 'paid');
      assert.ok(!statuses.slice(statuses.indexOf('paid')).includes('processing'), 'nothing after paid');
      assert.deepEqual(await assertPublishedExactlyOnce(t, 'cryptosteroid', 'cb-dup-cs'), ['created', 'pending', 'paid']);
      // The byte-identical duplicates became one job each (deterministic id from the dedupe key).
      const rec = await t.system.store.get('cryptoprocessing', 'cb-dup');
      for (const status of ['processing', 'confirmed']) {
        const job = await t.system.eventsQueue.getJob(eventJobId('cryptoprocessing', `invoice:${rec!.provider_invoice_id}:${status}:1`));
        assert.ok(job, `one job for ${status}`);
      }
    } finally {
      t.sandbox.setHabits({ duplicateRate: 0, lateRate: 0 });
    }
  });

  it('out-of-order callbacks: after paid, pending and processing publish nothing and change nothing', async () => {
    const id = await created(t, 'alphapo', 'cb-ooo', sampleOrder('alphapo', 'cb-ooo'));
    const url = `${t.api}/webhooks/alphapo`;
    const confirmed = invoiceCallback(id, 'cb-ooo', 'confirmed');
    assert.equal((await postRaw(url, confirmed, platformHeaders('alphapo', confirmed))).status, 200);
    await waitStatus(t, 'alphapo', 'cb-ooo', 'paid');
    const before = await t.system.store.get('alphapo', 'cb-ooo');
    for (const status of ['pending', 'processing', 'created']) {
      const body = invoiceCallback(id, 'cb-ooo', status);
      assert.equal((await postRaw(url, body, platformHeaders('alphapo', body))).status, 200);
    }
    await settle(t);
    const now = await t.system.store.get('alphapo', 'cb-ooo');
    assert.equal(now?.status, 'paid');
    assert.equal(now?.version, before?.version, 'not even a field changed');
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'alphapo', 'cb-ooo'), ['created', 'paid']);
  });

  describe('forged and malformed callbacks', () => {
    let pid: string;
    let csId: string;
    let csRecordId: string;
    before(async () => {
      pid = await created(t, 'cryptoprocessing', 'cb-forge', sampleOrder('cryptoprocessing', 'cb-forge'));
      csId = await created(t, 'cryptosteroid', 'cb-forge-cs', sampleOrder('cryptosteroid', 'cb-forge-cs'));
      csRecordId = (await t.system.store.get('cryptosteroid', 'cb-forge-cs'))!.id;
    });

    async function unchanged(fn: () => Promise<void>): Promise<void> {
      await settle(t);
      const jobs = await eventJobCount(t);
      const results = (await t.results()).length;
      const a = await t.system.store.get('cryptoprocessing', 'cb-forge');
      const b = await t.system.store.get('cryptosteroid', 'cb-forge-cs');
      await fn();
      await settle(t);
      assert.equal(await eventJobCount(t), jobs, 'nothing enqueued');
      assert.equal((await t.results()).length, results, 'nothing published');
      assert.deepEqual(await t.system.store.get('cryptoprocessing', 'cb-forge'), a, 'record unchanged');
      assert.deepEqual(await t.system.store.get('cryptosteroid', 'cb-forge-cs'), b, 'record unchanged');
    }

    it('bad signature, missing headers, wrong key, tampered body, another provider secret: 401', async () => {
      const url = `${t.api}/webhooks/cryptoprocessing`;
      const body = invoiceCallback(pid, 'cb-forge', 'confirmed');
      const good = platformHeaders('cryptoprocessing', body);
      await unchanged(async () => {
        const cases: Array<[string, string, Record<string, string>]> = [
          ['bad signature', body, { ...good, 'x-processing-signature': 'ab'.repeat(64) }],
          ['truncated signature', body, { ...good, 'x-processing-signature': good['x-processing-signature']!.slice(0, 20) }],
          ['no signature', body, { 'content-type': 'application/json', 'x-processing-key': good['x-processing-key']! }],
          ['no headers at all', body, { 'content-type': 'application/json' }],
          ['wrong key header', body, { ...good, 'x-processing-key': 'someone-else' }],
          ['tampered body', body.replace('"confirmed"', '"confirmed" '), good],
          ['re-serialized with spaces', JSON.stringify(JSON.parse(body), null, 1), good],
          ['signed with the alphapo secret', body, platformHeaders('cryptoprocessing', body, SANDBOX_CREDENTIALS.alphapo.apiSecret)],
          ['empty body', '', good],
        ];
        for (const [name, b, h] of cases) {
          const res = await postRaw(url, b, h);
          assert.equal(res.status, 401, name);
          assert.equal(res.body.error, 'unauthorized', name);
        }
        // An authentic alphapo callback is no cryptoprocessing callback.
        const ap = invoiceCallback(pid, 'cb-forge', 'confirmed');
        assert.equal((await postRaw(url, ap, platformHeaders('alphapo', ap))).status, 401);
      });
      assert.ok(!t.logs.some((l) => l.includes(good['x-processing-signature']!)), 'signatures never reach the logs');
    });

    it('cryptosteroid: wrong, missing or another order token, unknown invoice path: 401', async () => {
      const sb = t.sandbox.invoice('cryptosteroid', csId)!;
      const body = JSON.stringify({ invoiceId: csId, invoiceUrl: sb.paymentUrl, status: 'PAID', externalId: 'cb-forge-cs' });
      const other = (await t.system.store.get('cryptoprocessing', 'cb-forge'))!.secret;
      const url = `${t.api}/webhooks/cryptosteroid/${encodeURIComponent(csRecordId)}`;
      await unchanged(async () => {
        assert.equal((await postRaw(url, body, { 'content-type': 'application/json', token: 'guess' })).status, 401);
        assert.equal((await postRaw(url, body, { 'content-type': 'application/json' })).status, 401);
        assert.equal((await postRaw(url, body, { 'content-type': 'application/json', token: other })).status, 401, 'another order secret');
        const secret = (await t.system.store.get('cryptosteroid', 'cb-forge-cs'))!.secret;
        assert.equal((await postRaw(`${t.api}/webhooks/cryptosteroid/cryptosteroid.r.nobody`, body, { token: secret })).status, 401, 'no such order');
        assert.equal(
          (await postRaw(`${t.api}/webhooks/cryptosteroid/${encodeURIComponent((await t.system.store.get('cryptoprocessing', 'cb-forge'))!.id)}`, body, { token: other })).status,
          401,
          'not a cryptosteroid order',
        );
        assert.equal((await postRaw(`${t.api}/webhooks/cryptosteroid`, body, { token: secret })).status, 404);
      });
    });

    it('authentic but malformed: 400 naming the field; too large: 413; nothing enqueued', async () => {
      const url = `${t.api}/webhooks/cryptoprocessing`;
      const secret = (await t.system.store.get('cryptosteroid', 'cb-forge-cs'))!.secret;
      const csUrl = `${t.api}/webhooks/cryptosteroid/${encodeURIComponent(csRecordId)}`;
      await unchanged(async () => {
        const noStatus = JSON.stringify({ id: Number(pid), foreign_id: 'cb-forge', type: 'invoice' });
        const r1 = await postRaw(url, noStatus, platformHeaders('cryptoprocessing', noStatus));
        assert.equal(r1.status, 400);
        assert.deepEqual(
          r1.body.issues.map((i: { field: string }) => i.field),
          ['status'],
        );
        const notJson = 'status=confirmed';
        const r2 = await postRaw(url, notJson, platformHeaders('cryptoprocessing', notJson));
        assert.equal(r2.status, 400);
        assert.equal(r2.body.issues[0].field, '(body)');
        const deposit = JSON.stringify({ id: 5, foreign_id: 'cb-forge', type: 'deposit', status: 'confirmed' });
        // The platform sends deposits (and withdrawals, exchanges) to the same URL: acknowledged, not applied.
        const r3 = await postRaw(url, deposit, platformHeaders('cryptoprocessing', deposit));
        assert.equal(r3.status, 200);
        assert.equal(r3.body.applied, false);
        const r4 = await postRaw(csUrl, JSON.stringify({ status: 'PAID' }), { 'content-type': 'application/json', token: secret });
        assert.equal(r4.status, 400);
        assert.ok(
          r4.body.issues.some((i: { field: string }) => i.field === 'invoiceId'),
          JSON.stringify(r4.body),
        );
        const huge = invoiceCallback(pid, 'cb-forge', 'confirmed', { padding: 'x'.repeat(300 * 1024) });
        assert.equal((await postRaw(url, huge, platformHeaders('cryptoprocessing', huge))).status, 413);
      });
    });
  });

  it('a callback for an order we do not hold: stored (200), retried, then parked in the failed set; nothing published', async () => {
    const body = invoiceCallback('999001', 'cb-nobody', 'confirmed');
    assert.equal((await postRaw(`${t.api}/webhooks/cryptoprocessing`, body, platformHeaders('cryptoprocessing', body))).status, 200);
    const jobId = eventJobId('cryptoprocessing', 'invoice:999001:confirmed:1');
    const job = await t.waitFor(async () => {
      const j = await t.system.eventsQueue.getJob(jobId);
      // Read again once it is failed: the copy fetched before may predate its last attempt.
      return j && (await j.getState()) === 'failed' ? t.system.eventsQueue.getJob(jobId) : null;
    }, 'the event parked in the failed set');
    assert.equal(job.attemptsMade, 3, 'retried before parking');
    assert.match(job.failedReason, /no invoice record/);
    assert.equal(job.data.update.status, 'paid', 'the message is kept for an operator');
    assert.equal((await t.results()).filter((r) => r.foreign_id === 'cb-nobody').length, 0);
  });

  it('an unknown provider status parks the invoice for an operator, never guessed, nothing published', async () => {
    const id = await created(t, 'cryptoprocessing', 'cb-odd', sampleOrder('cryptoprocessing', 'cb-odd'));
    const body = invoiceCallback(id, 'cb-odd', 'on_hold');
    assert.equal((await postRaw(`${t.api}/webhooks/cryptoprocessing`, body, platformHeaders('cryptoprocessing', body))).status, 200);
    const rec = await t.waitFor(async () => {
      const r = await t.system.store.get('cryptoprocessing', 'cb-odd');
      return r?.reconcile ? r : null;
    }, 'parked');
    assert.equal(rec.status, 'created');
    assert.match(rec.reconcile ?? '', /unknown provider status "on_hold"/);
    assert.ok((await t.system.store.parked()).includes(rec.id), 'listed for operators');
    await settle(t);
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'cryptoprocessing', 'cb-odd'), ['created']);
  });

  it('a callback naming another provider invoice than ours is parked, not applied', async () => {
    const id = await created(t, 'alphapo', 'cb-other', sampleOrder('alphapo', 'cb-other'));
    const body = invoiceCallback(String(Number(id) + 7), 'cb-other', 'confirmed');
    assert.equal((await postRaw(`${t.api}/webhooks/alphapo`, body, platformHeaders('alphapo', body))).status, 200);
    const rec = await t.waitFor(async () => {
      const r = await t.system.store.get('alphapo', 'cb-other');
      return r?.reconcile ? r : null;
    }, 'parked');
    assert.equal(rec.status, 'created');
    assert.match(rec.reconcile ?? '', /this order holds/);
  });

  it('overpaid and underpaid payment requests publish received_amount with a reason', async () => {
    await created(t, 'alphapo', 'cb-over', samplePaymentRequest('alphapo', 'cb-over', { currency: 'USDTT', amount: '100' }));
    await created(t, 'alphapo', 'cb-under', samplePaymentRequest('alphapo', 'cb-under', { currency: 'USDTT', amount: '100' }));
    t.sandbox.pay('alphapo', 'cb-over', { amount: '120' });
    t.sandbox.payPartly('alphapo', 'cb-under', { amount: '40' });
    await waitStatus(t, 'alphapo', 'cb-over', 'paid');
    await waitStatus(t, 'alphapo', 'cb-under', 'processing');
    await t.waitFor(async () => (await t.system.store.get('alphapo', 'cb-under'))?.received_amount === '40', 'the installment is recorded');
    t.sandbox.expire('alphapo', 'cb-under');
    await waitStatus(t, 'alphapo', 'cb-under', 'failed');
    await settle(t);
    const over = (await resultsFor(t, 'alphapo', 'cb-over')).find((r) => r.status === 'paid');
    assert.equal(over?.received_amount, '120');
    assert.equal(over?.reason, 'overpaid: received 120 of 100 USDTT');
    const under = (await resultsFor(t, 'alphapo', 'cb-under')).find((r) => r.status === 'failed');
    assert.equal(under?.received_amount, '40');
    assert.equal(under?.reason, 'underpaid: received 40 of 100 USDTT');
    const view = await t.get('/v1/invoices/alphapo/cb-under');
    assert.equal(view.body.received_amount, '40');
  });

  it('a lost create answer: the callbacks adopt the invoice, un-park it and move it on (platform and cryptosteroid)', async () => {
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'commit-then-drop', count: 1 });
    // The orphan's cancel fails too, so the order is parked for an operator (else it recovers by itself).
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: '5xx', op: 'cancel', count: 1 });
    t.sandbox.addFault({ provider: 'cryptosteroid', fault: 'commit-then-drop', count: 1 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'cb-lost'))).status, 202);
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptosteroid', 'cb-lost-cs'))).status, 202);
    for (const [p, f] of [
      ['cryptoprocessing', 'cb-lost'],
      ['cryptosteroid', 'cb-lost-cs'],
    ] as const) {
      await t.waitFor(async () => (await t.system.store.get(p, f))?.reconcile, `${f} parked`);
    }
    const csId = t.sandbox.invoices('cryptosteroid').find((i) => i.foreignId === 'cb-lost-cs')!.id;
    t.sandbox.pay('cryptoprocessing', 'cb-lost');
    t.sandbox.pay('cryptosteroid', csId);
    await waitStatus(t, 'cryptoprocessing', 'cb-lost', 'paid');
    await waitStatus(t, 'cryptosteroid', 'cb-lost-cs', 'paid');
    await settle(t);
    const cp = await t.system.store.get('cryptoprocessing', 'cb-lost');
    assert.equal(cp?.reconcile, null);
    assert.equal(cp?.provider_invoice_id, t.sandbox.invoice('cryptoprocessing', 'cb-lost')!.id);
    assert.deepEqual(
      (await assertPublishedExactlyOnce(t, 'cryptoprocessing', 'cb-lost')).filter((s) => s !== 'pending'),
      ['processing', 'paid'],
    );
    const cs = await t.system.store.get('cryptosteroid', 'cb-lost-cs');
    assert.equal(cs?.reconcile, null);
    assert.equal(cs?.provider_invoice_id, csId);
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'cryptosteroid', 'cb-lost-cs'), ['paid']);
    assert.equal(t.sandbox.count('cryptosteroid', 'cb-lost-cs'), 1, 'never re-created');
    const parked = await t.system.store.parked();
    assert.ok(!parked.includes(cp.id) && !parked.includes(cs.id), 'no longer parked');
  });
});

describe('publication across crashes (no workers running)', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ role: 'api' });
  });
  after(async () => {
    await t.close();
  });

  it('an authentic callback is stored as a job before the 200 (and its redelivery is the same job)', async () => {
    const { OrderSchema, orderHash } = await import('../../src/invoice/order.ts');
    const order = OrderSchema.parse(sampleOrder('cryptoprocessing', 'cr-stored'));
    await t.system.store.accept(order, orderHash(order), 'secret');
    const body = invoiceCallback('424242', 'cr-stored', 'confirmed');
    for (let i = 0; i < 3; i++) {
      assert.equal((await postRaw(`${t.api}/webhooks/cryptoprocessing`, body, platformHeaders('cryptoprocessing', body))).status, 200);
    }
    const job = await t.system.eventsQueue.getJob(eventJobId('cryptoprocessing', 'invoice:424242:confirmed:1'));
    assert.equal(await job?.getState(), 'waiting', 'stored, waiting for a worker');
    assert.equal((await t.system.eventsQueue.getJobCounts('wait')).wait, 1, 'three deliveries, one job');
    assert.equal(JSON.stringify(job?.data).includes('payer@example.com'), false, 'no personal data in the job');
  });

  it('a crash between the state change and its publication still publishes exactly once', async () => {
    const { OrderSchema, orderHash } = await import('../../src/invoice/order.ts');
    const { OutboxRelay } = await import('../../src/invoice/relay.ts');
    const { applyUpdate } = await import('../../src/invoice/track.ts');
    const { store, resultsQueue, redis } = t.system;
    const order = OrderSchema.parse(sampleOrder('alphapo', 'cr-once'));
    await store.accept(order, orderHash(order), 'secret');
    await store.apply('alphapo', 'cr-once', { status: 'created', source: 'create', fields: { provider_invoice_id: '777' } });
    const rec = await store.get('alphapo', 'cr-once');
    // The provider's figures cover the order (else it would be parked, not paid).
    const covered = { value: { amount: '100.50', currency: 'EUR' } };
    await applyUpdate(store, rec!, { providerStatus: 'confirmed', status: 'paid', providerInvoiceId: '777', dedupeKey: 'k', paid: covered }, 'callback');
    // The process died here: nothing relayed. A new process's relay picks the outbox up, twice.
    const outbox = storeKeys(t.prefix).outbox;
    const pending = await redis.lrange(outbox, 0, -1);
    assert.equal(pending.length, 2);
    const log = (await import('../../src/observability/logger.ts')).createLogger('silent');
    const relay = new OutboxRelay(store, resultsQueue, log);
    assert.equal(await relay.flush(), 2);
    assert.equal(await relay.flush(), 0);
    // A relay that added the batch but died before its LTRIM: the very same entries come again,
    // one of them twice.
    await redis.rpush(outbox, ...pending, pending[1]!);
    assert.equal(await new OutboxRelay(store, resultsQueue, log).flush(), 3);
    // A late duplicate of the paid callback changes nothing and adds nothing to the outbox.
    await applyUpdate(store, (await store.get('alphapo', 'cr-once'))!, { providerStatus: 'confirmed', status: 'paid', dedupeKey: 'k', paid: covered }, 'callback');
    assert.equal(await store.outboxLength(), 0);
    const published = await resultsFor(t, 'alphapo', 'cr-once');
    assert.deepEqual(published.map((r) => r.status).sort(), ['created', 'paid']);
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'alphapo', 'cr-once'), ['created', 'paid']);
    await relay.close();
  });
});
