/**
 * Money never goes unseen, through the public interfaces against the real sandbox: a payment
 * after the end (each connector's late-payment callback, driven on command) is stored on the
 * record and published once as an exception; parked orders are announced; and every parked order
 * has a way out (attach, reissue, abandon), as has an order the order system withdraws before it is sent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { InvoiceResult } from '../../queues/results.ts';
import { sampleOrder, samplePaymentRequest, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { platformHeaders, postRaw, requestCallback } from './track-helpers.ts';

const run = promisify(execFile);

async function resultsOf(t: TestSystem, fid: string): Promise<InvoiceResult[]> {
  return (await t.results()).filter((r) => r.foreign_id === fid);
}

async function waitStatus(t: TestSystem, lane: string, fid: string, status: string): Promise<void> {
  await t.waitFor(async () => (await t.system.store.get(lane, fid))?.status === status, `${fid} ${status}`);
}

async function waitException(t: TestSystem, fid: string): Promise<InvoiceResult> {
  return t.waitFor(async () => (await resultsOf(t, fid)).find((r) => r.event === 'exception'), `the exception of ${fid}`);
}

describe('exceptions: money and news after the end', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ callbacks: true });
  });
  after(async () => {
    await t.close();
  });

  it('payment request: a payment after it expired is on the record and published once, however often it is redelivered', async () => {
    assert.equal((await t.post('/v1/invoices', samplePaymentRequest('cryptoprocessing', 'late-pr'))).status, 202);
    await waitStatus(t, 'cryptoprocessing', 'late-pr', 'created');
    t.sandbox.expire('cryptoprocessing', 'late-pr', { kind: 'payment_request' });
    await waitStatus(t, 'cryptoprocessing', 'late-pr', 'expired');
    t.sandbox.act('cryptoprocessing', 'late-pr', 'pay-late', { kind: 'payment_request', amount: '108.50' });
    const ex = await waitException(t, 'late-pr');
    assert.equal(ex.status, 'expired');
    assert.equal(ex.previous_status, 'expired', 'v1 consumers that follow statuses see nothing move');
    assert.equal(ex.exception?.type, 'payment_after_end');
    // The platform reports what arrived in the payer's crypto.
    assert.ok(ex.exception?.received_amount && ex.exception.received_currency, 'with the amount that arrived and its currency');
    assert.match(ex.exception?.reason ?? '', /late payment/);
    assert.match(ex.event_id, /^result\.cryptoprocessing\.r\.late-pr\.exception\./);

    // The same message again (a redelivery): nothing new.
    const rec = (await t.system.store.get('cryptoprocessing', 'late-pr'))!;
    const again = requestCallback(rec.provider_invoice_id!, 'late-pr', 'expired', '108.50');
    for (let i = 0; i < 3; i++) assert.equal((await postRaw(`${t.api}/webhooks/cryptoprocessing`, again, platformHeaders('cryptoprocessing', again))).status, 200);
    await t.waitFor(async () => (await t.system.eventsQueue.getJobCounts('wait', 'active', 'delayed')).wait === 0, 'the redeliveries applied');
    const view = await t.get('/v1/invoices/cryptoprocessing/late-pr');
    assert.equal(view.body.status, 'expired');
    assert.equal(view.body.received_amount, ex.exception?.received_amount, 'the record shows the money');
    assert.deepEqual(
      view.body.events.map((e: { kind: string; type: string }) => [e.kind, e.type]),
      [['exception', 'payment_after_end']],
    );
    assert.equal((await resultsOf(t, 'late-pr')).filter((r) => r.event === 'exception').length, 1);

    const metrics = await (await fetch(`${t.api}/metrics`)).text();
    assert.match(metrics, /invoice_worker_exceptions_total\{provider="cryptoprocessing",type="payment_after_end"\} 1/);
  });

  it('money under an unchanged status (installments) is on the record and published as a payment event', async () => {
    const order = samplePaymentRequest('alphapo', 'inst-pr', { currency: 'USDTT', amount: '100' });
    assert.equal((await t.post('/v1/invoices', order)).status, 202);
    await waitStatus(t, 'alphapo', 'inst-pr', 'created');
    t.sandbox.payPartly('alphapo', 'inst-pr', { amount: '40' });
    const first = await t.waitFor(async () => (await resultsOf(t, 'inst-pr')).find((r) => r.event === 'payment' && r.received_amount === '40'), 'the first payment event');
    assert.equal(first.status, 'processing');
    assert.equal(first.previous_status, 'processing', 'status-following consumers see nothing move');
    assert.equal(first.payment?.received_amount, '40');
    t.sandbox.payPartly('alphapo', 'inst-pr', { amount: '30' });
    const second = await t.waitFor(async () => (await resultsOf(t, 'inst-pr')).find((r) => r.event === 'payment' && r.received_amount === '70'), 'the second payment event');
    assert.match(second.payment?.reason ?? '', /partially paid; received 70 of 100 USDTT/);
    const view = (await t.get('/v1/invoices/alphapo/inst-pr')).body;
    assert.equal(view.received_amount, '70');
    assert.equal(view.events.filter((e: { kind: string }) => e.kind === 'payment').length, 2);
  });

  it('platform invoice: a payment after its timer ran out is an exception', async () => {
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'late-inv', { timer: true }))).status, 202);
    // Timed invoices start pending (the payer's window runs).
    await waitStatus(t, 'alphapo', 'late-inv', 'pending');
    t.sandbox.expire('alphapo', 'late-inv');
    await waitStatus(t, 'alphapo', 'late-inv', 'expired');
    t.sandbox.act('alphapo', 'late-inv', 'pay-late');
    const ex = await waitException(t, 'late-inv');
    assert.equal(ex.exception?.type, 'payment_after_end');
    assert.ok(ex.exception?.received_amount, 'with the amount that arrived');
  });

  it('CryptoSteroid: paid after it expired is an exception, not absorbed', async () => {
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptosteroid', 'late-cs'))).status, 202);
    await t.waitFor(async () => ['created', 'pending'].includes((await t.system.store.get('cryptosteroid', 'late-cs'))?.status ?? ''), 'created');
    const inv = t.sandbox.invoices('cryptosteroid').find((i) => i.foreignId === 'late-cs')!;
    t.sandbox.expire('cryptosteroid', inv.id);
    // CryptoSteroid calls back on PAID only: its expiry reaches us by polling, or here by the deadline's stand-in.
    await t.system.store.apply('cryptosteroid', 'late-cs', { status: 'expired', source: 'poll', fields: { provider_status: 'EXPIRED' } });
    t.sandbox.act('cryptosteroid', inv.id, 'pay-late');
    const ex = await waitException(t, 'late-cs');
    assert.equal(ex.exception?.type, 'paid_after_end');
    assert.equal(ex.exception?.provider_status, 'PAID');
    assert.equal((await t.system.store.get('cryptosteroid', 'late-cs'))?.status, 'expired', 'results never go backwards');
  });
});

describe('parked orders and their way out', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ callbacks: true });
  });
  after(async () => {
    await t.close();
  });

  it('a lost create answer is announced as parked within seconds; attach makes it created and it is followed from there', async () => {
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'commit-then-drop', count: 1 });
    // The orphan's cancel fails too, so the order is parked for an operator (else it recovers by itself).
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: '5xx', op: 'cancel', count: 1 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'park-1'))).status, 202);
    const parked = await t.waitFor(async () => (await resultsOf(t, 'park-1')).find((r) => r.event === 'parked'), 'the parked result', 10_000);
    assert.equal(parked.status, 'queued');
    assert.ok(parked.parked?.reason && parked.parked.next, 'with the reason and what happens next');

    // Bad repair requests change nothing and name the field.
    const bad = await t.post('/v1/invoices/cryptoprocessing/park-1/attach', { provider_invoice_id: '', payment_url: 'ftp://x', by: 'ops' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.issues.map((i: { field: string }) => i.field).sort(), ['payment_url', 'provider_invoice_id', 'reason']);

    const inv = t.sandbox.invoice('cryptoprocessing', 'park-1')!;
    const attached = await t.post('/v1/invoices/cryptoprocessing/park-1/attach', {
      provider_invoice_id: inv.id,
      payment_url: `${t.sandbox.url}/pay/found`,
      reason: 'found in the dashboard',
      by: 'alice',
    });
    assert.equal(attached.status, 200, JSON.stringify(attached.body));
    assert.equal(attached.body.invoice.status, 'created');
    assert.equal(attached.body.invoice.reconcile, null);
    const created = await t.waitFor(async () => (await resultsOf(t, 'park-1')).find((r) => r.status === 'created' && r.event === 'transition'), 'the created result');
    assert.equal(created.payment_url, `${t.sandbox.url}/pay/found`);
    const history = (await t.get('/v1/invoices/cryptoprocessing/park-1')).body.history;
    // No API key configured here: the actor is `anonymous`; the body's `by` is only a note.
    assert.equal(history.at(-1).source, 'operator:anonymous');
    assert.match(history.at(-1).reason, /attached by anonymous \(note: alice\): found in the dashboard/);
    // Followed from there: its first poll is scheduled, and the payer's payment reaches the order system.
    assert.deepEqual(await t.system.store.inPollIndex('cryptoprocessing', ['park-1']), [true]);
    t.sandbox.pay('cryptoprocessing', 'park-1');
    await waitStatus(t, 'cryptoprocessing', 'park-1', 'paid');
    assert.ok(
      t.logs.some((l) => l.includes('invoice attached: done') && l.includes('"by":"anonymous"') && l.includes('"note":"alice"')),
      'audited',
    );
    // Twice is refused, saying why.
    const twice = await t.post('/v1/invoices/cryptoprocessing/park-1/attach', {
      provider_invoice_id: inv.id,
      payment_url: `${t.sandbox.url}/pay/found`,
      reason: 'again',
      by: 'alice',
    });
    assert.equal(twice.status, 409);
  });

  it("abandon ends a parked order with the operator's reason; a payment on it afterwards is an exception", async () => {
    t.sandbox.addFault({ provider: 'alphapo', fault: 'commit-then-drop', count: 1 });
    // The orphan's cancel fails too, so the order is parked for an operator (else it recovers by itself).
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', op: 'cancel', count: 1 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'park-2'))).status, 202);
    await t.waitFor(async () => (await t.system.store.get('alphapo', 'park-2'))?.reconcile, 'parked');
    const res = await t.post('/v1/invoices/alphapo/park-2/abandon', { reason: 'customer gave up', by: 'bob', status: 'failed' });
    assert.equal(res.status, 200);
    assert.equal(res.body.invoice.status, 'failed');
    const failed = await t.waitFor(async () => (await resultsOf(t, 'park-2')).find((r) => r.status === 'failed'), 'the failed result');
    assert.match(failed.reason ?? '', /abandoned by anonymous \(note: bob\): customer gave up/);
    // The payer pays the invoice that existed after all: not absorbed.
    t.sandbox.pay('alphapo', 'park-2');
    const ex = await t.waitFor(async () => (await resultsOf(t, 'park-2')).find((r) => r.exception?.type === 'paid_after_end'), 'the paid-after-end exception');
    assert.equal(ex.status, 'failed');
    assert.equal((await t.post('/v1/invoices/alphapo/park-2/abandon', { reason: 'again', by: 'bob' })).status, 409);
  });

  it('reissue: a parked platform order is sent again under a derived foreign_id; callbacks for either id land on it, money on the replaced one is an exception', async () => {
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'commit-then-drop', count: 1 });
    // The orphan's cancel fails too, so the order is parked for an operator (else it recovers by itself).
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: '5xx', op: 'cancel', count: 1 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'park-re'))).status, 202);
    await t.waitFor(async () => (await resultsOf(t, 'park-re')).find((r) => r.event === 'parked'), 'the parked result', 10_000);
    // Retrying cannot help: the platform refuses the same foreign_id again (and the URL was only in the lost answer).
    const bad = await t.post('/v1/invoices/cryptoprocessing/park-re/reissue', { by: '' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.issues.map((i: { field: string }) => i.field).sort(), ['by', 'reason']);

    const res = await t.post('/v1/invoices/cryptoprocessing/park-re/reissue', { by: 'dana', reason: 'not in the dashboard' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.invoice.provider_foreign_id, 'park-re~r1');
    assert.deepEqual(res.body.invoice.replaced_foreign_ids, ['park-re']);
    assert.equal(res.body.invoice.reconcile, null);
    const created = await t.waitFor(async () => (await resultsOf(t, 'park-re')).find((r) => r.status === 'created'), 'the created result of the new invoice');
    const fresh = t.sandbox.invoice('cryptoprocessing', 'park-re~r1');
    assert.ok(fresh, 'the new invoice is at the provider under the derived foreign_id');
    assert.equal(created.provider_invoice_id, String(fresh.id));
    assert.ok(created.payment_url, 'the order system gets a payment URL at last');
    const history = (await t.get('/v1/invoices/cryptoprocessing/park-re')).body.history as Array<{ source: string; reason?: string }>;
    assert.ok(
      history.some((h) => h.source === 'operator:anonymous' && /reissued by anonymous \(note: dana\) as park-re~r1/.test(h.reason ?? '')),
      'who and why are in the history',
    );
    assert.ok(
      t.logs.some((l) => l.includes('order reissued: done') && l.includes('"by":"anonymous"') && l.includes('"note":"dana"')),
      'audited',
    );

    // The payer pays the new invoice: its callback (naming park-re~r1) lands on the order.
    t.sandbox.pay('cryptoprocessing', 'park-re~r1');
    await waitStatus(t, 'cryptoprocessing', 'park-re', 'paid');
    // The replaced invoice was cancelled at the provider when the order was reissued.
    const old = t.sandbox.invoice('cryptoprocessing', 'park-re');
    assert.equal(old?.status, 'failed', 'the replaced invoice is cancelled (it ends failed at the platform)');
    // Someone pays into it all the same (the address outlives the invoice): never absorbed, the order stays paid.
    const late = JSON.stringify({
      id: Number(old.id),
      foreign_id: 'park-re',
      type: 'invoice',
      status: 'processing',
      currency_sent: { currency: 'BTC', amount: '0.0025', remaining_amount: '0' },
      currency_received: { currency: 'EUR', amount: '100.50' },
      transactions: [{ id: 99, currency: 'BTC', amount: '0.0025', txid: 'late-payment-tx', confirmations: '0' }],
      error: '',
    });
    assert.equal((await postRaw(`${t.api}/webhooks/cryptoprocessing`, late, platformHeaders('cryptoprocessing', late))).status, 200);
    const ex = await waitException(t, 'park-re');
    assert.equal(ex.exception?.type, 'payment_on_replaced_invoice');
    assert.equal(ex.exception?.replaced_foreign_id, 'park-re');
    assert.equal(ex.status, 'paid');
    assert.equal((await t.system.store.get('cryptoprocessing', 'park-re'))?.status, 'paid');

    // The derived id is reserved: an order sent with it is refused, and a finished order is not reissued.
    const taken = await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'park-re~r1'));
    assert.equal(taken.status, 409);
    assert.equal((await t.post('/v1/invoices/cryptoprocessing/park-re/reissue', { by: 'dana', reason: 'again' })).status, 409);
    // A provider that takes a repeated order id needs no new id: refused, saying what to do instead.
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptosteroid', 're-cs'))).status, 202);
    await t.waitFor(async () => (await t.system.store.get('cryptosteroid', 're-cs'))?.status !== 'queued', 're-cs sent');
    const cs = await t.post('/v1/invoices/cryptosteroid/re-cs/reissue', { by: 'dana', reason: 'x' });
    assert.equal(cs.status, 409);
    assert.match(cs.body.message, /does not refuse a repeated foreign_id/);
  });

  it('the order system cancels an order: not yet sent, cancelled and never sent; at the provider, cancelled there first; where no cancel is documented, 409', async () => {
    // Held back: its lane is paused while the order is cancelled.
    const lane = t.system.lane('cryptosteroid');
    await lane.createQueue.pause();
    try {
      assert.equal((await t.post('/v1/invoices', sampleOrder('cryptosteroid', 'withdrawn'))).status, 202);
      const res = await t.post('/v1/invoices/cryptosteroid/withdrawn/cancel', { reason: 'cart emptied' });
      assert.equal(res.status, 200);
      assert.equal(res.body.invoice.status, 'cancelled');
      assert.equal(await t.createJob('cryptosteroid', 'withdrawn'), undefined, 'its create job is gone');
    } finally {
      await lane.createQueue.resume();
    }
    const cancelled = await t.waitFor(async () => (await resultsOf(t, 'withdrawn')).find((r) => r.status === 'cancelled'), 'the cancelled result');
    assert.equal(cancelled.previous_status, 'queued');
    // Re-enqueueing it (a retry, the sweeper) never sends it: the record says cancelled.
    assert.equal((await t.post('/v1/invoices/cryptosteroid/withdrawn/retry', {})).status, 409);
    assert.equal(t.sandbox.count('cryptosteroid', 'withdrawn'), 0);

    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptosteroid', 'sent'))).status, 202);
    await t.waitFor(async () => (await t.system.store.get('cryptosteroid', 'sent'))?.status !== 'queued', 'sent');
    // At the provider: cancelled there (DELETE), then here, as the provider confirmed.
    const late = await t.post('/v1/invoices/cryptosteroid/sent/cancel', {});
    assert.equal(late.status, 200, JSON.stringify(late.body));
    assert.equal(late.body.invoice.status, 'cancelled');
    const sentId = (await t.system.store.get('cryptosteroid', 'sent'))!.provider_invoice_id!;
    assert.equal(t.sandbox.invoice('cryptosteroid', sentId)?.status, 'CANCELLED', 'cancelled at the provider');
    // Already finished: 409, nothing changed.
    assert.equal((await t.post('/v1/invoices/cryptosteroid/sent/cancel', {})).status, 409);
    // Payment requests document no cancel: 409 saying so, the request stays as it is.
    assert.equal((await t.post('/v1/invoices', samplePaymentRequest('alphapo', 'pr-no-cancel'))).status, 202);
    await t.waitFor(async () => (await t.system.store.get('alphapo', 'pr-no-cancel'))?.payment_url, 'the payment request created');
    const pr = await t.post('/v1/invoices/alphapo/pr-no-cancel/cancel', {});
    assert.equal(pr.status, 409);
    assert.match(pr.body.message, /documents no cancel/);
    assert.equal((await t.system.store.get('alphapo', 'pr-no-cancel'))?.status, 'created');
    assert.equal((await t.post('/v1/invoices/cryptosteroid/nobody/cancel', {})).status, 404);
  });

  it('the CLI takes the same repairs: show lists events, abandon names who and why, reissue sends a new invoice', async () => {
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'commit-then-drop', count: 1 });
    // The orphan's cancel fails too, so the order is parked for an operator (else it recovers by itself).
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: '5xx', op: 'cancel', count: 1 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'park-cli'))).status, 202);
    await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', 'park-cli'))?.events.length, 'parked and announced');
    const env = { ...process.env, QUEUE_PREFIX: t.prefix, ...sandboxEnv(t), LOG_LEVEL: 'warn' };
    const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env, cwd: new URL('../../', import.meta.url) });
    const shown = JSON.parse((await cli('show', 'cryptoprocessing', 'park-cli')).stdout);
    assert.equal(shown.events[0].kind, 'parked');
    const out = await cli('abandon', 'cryptoprocessing', 'park-cli', '--reason', 'duplicate order', '--by', 'carol');
    assert.match(out.stdout, /abandoned cryptoprocessing\/park-cli: cancelled/);
    assert.equal((await t.system.store.get('cryptoprocessing', 'park-cli'))?.status, 'cancelled');
    await assert.rejects(cli('abandon', 'cryptoprocessing', 'park-cli', '--reason', 'again'), (e: { code?: number }) => e.code === 2);

    t.sandbox.addFault({ provider: 'alphapo', fault: 'commit-then-drop', count: 1 });

    // The orphan's cancel fails too, so the order is parked for an operator (else it recovers by itself).

    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', op: 'cancel', count: 1 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'park-cli-re'))).status, 202);
    await t.waitFor(async () => (await t.system.store.get('alphapo', 'park-cli-re'))?.reconcile, 'parked');
    await assert.rejects(cli('reissue', 'alphapo', 'park-cli-re'), (e: { code?: number; stderr?: string }) => e.code !== 0 && /--reason/.test(e.stderr ?? ''));
    const re = await cli('reissue', 'alphapo', 'park-cli-re', '--reason', 'lost answer', '--by', 'carol');
    assert.match(re.stdout, /reissued alphapo\/park-cli-re: queued as park-cli-re~r1/);
    await waitStatus(t, 'alphapo', 'park-cli-re', 'created');
    assert.ok(t.sandbox.invoice('alphapo', 'park-cli-re~r1'));
  });
});

/** The CLI's view of the test system's accounts: the sandbox's, by the provider variables. */
function sandboxEnv(t: TestSystem): Record<string, string> {
  const c = t.sandbox.credentials;
  return {
    CRYPTOPROCESSING_BASE_URL: t.sandbox.baseUrls.cryptoprocessing,
    CRYPTOPROCESSING_API_KEY: c.cryptoprocessing.apiKey,
    CRYPTOPROCESSING_API_SECRET: c.cryptoprocessing.apiSecret,
    ALPHAPO_BASE_URL: t.sandbox.baseUrls.alphapo,
    ALPHAPO_API_KEY: c.alphapo.apiKey,
    ALPHAPO_API_SECRET: c.alphapo.apiSecret,
    CRYPTOSTEROID_BASE_URL: t.sandbox.baseUrls.cryptosteroid,
    CRYPTOSTEROID_API_KEY: c.cryptosteroid.apiKey,
    CRYPTOSTEROID_MERCHANT_ID: c.cryptosteroid.merchantId,
  };
}
