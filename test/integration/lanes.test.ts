/**
 * Lanes (provider accounts) on real Redis against the real sandbox over HTTP: a throttled lane and
 * a lane that is down for longer than its retry budget hold back no other lane; the down lane's
 * orders all get created after recovery, none failed; two accounts of one provider keep their own
 * credentials, callback routes and foreign_id spaces.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AccountConfig } from '../../src/lanes/accounts.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { signBody } from '../../src/signing.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

const N = 20;

async function statusOf(t: TestSystem, lane: string, fid: string): Promise<string | undefined> {
  return (await t.system.store.get(lane, fid))?.status;
}

async function allCreated(t: TestSystem, lane: string, ids: string[], what: string, timeoutMs = 30_000): Promise<void> {
  await t.waitFor(async () => (await Promise.all(ids.map((id) => statusOf(t, lane, id)))).every((s) => s && s !== 'queued'), what, timeoutMs);
}

/** Payers pay every new CryptoSteroid invoice as it appears, until each of `ids` is created. */
async function payUntilCreated(t: TestSystem, ids: string[], what: string): Promise<void> {
  const paid = new Set<string>();
  await t.waitFor(
    async () => {
      for (const inv of t.sandbox.invoices('cryptosteroid')) {
        if (inv.status === 'NEW' && !paid.has(inv.id)) {
          paid.add(inv.id);
          t.sandbox.pay('cryptosteroid', inv.id);
        }
      }
      return (await Promise.all(ids.map((id) => statusOf(t, 'cryptosteroid', id)))).every((s) => s && s !== 'queued');
    },
    what,
    60_000,
  );
}

function ids(tag: string): string[] {
  return Array.from({ length: N }, (_, i) => `${tag}-${i}`);
}

describe('lanes: one throttled lane holds back no other', () => {
  let t: TestSystem;
  before(async () => {
    // CryptoSteroid's account may hold 2 unpaid invoices: the third create meets its cap (a 429).
    t = await startTestSystem({ sandbox: { cryptosteroidNewCap: 2 }, env: { CRYPTOSTEROID_CAP_BACKOFF_MS: '300', CREATE_ATTEMPTS: '3' } });
  });
  after(async () => {
    await t.close();
  });

  it('CryptoSteroid at its cap of unpaid invoices waits on its own lane, spending no attempt; CryptoProcessing is created meanwhile', async () => {
    const cs = ids('cap-cs');
    const res = await t.post('/v1/invoices/batch', { orders: cs.map((id) => sampleOrder('cryptosteroid', id)) });
    assert.equal(res.body.counts.accepted, N);
    // The lane is throttled for as long as the cap holds: wait until it has been refused a few times.
    await t.waitFor(async () => (t.sandbox.stats().cryptosteroid.byStatus['429'] ?? 0) >= 3, 'the cap to throttle the lane');
    const cp = ids('cap-cp');
    assert.equal((await t.post('/v1/invoices/batch', { orders: cp.map((id) => sampleOrder('cryptoprocessing', id)) })).body.counts.accepted, N);
    await allCreated(t, 'cryptoprocessing', cp, 'every CryptoProcessing order created while CryptoSteroid is throttled');

    // Still throttled: most CryptoSteroid orders wait, and none spent an attempt on the cap.
    const waiting = (await Promise.all(cs.map((id) => statusOf(t, 'cryptosteroid', id)))).filter((s) => s === 'queued');
    assert.equal(waiting.length, N - 2);
    for (const id of cs) {
      const job = await t.createJob('cryptosteroid', id);
      assert.ok(job);
      assert.notEqual(await job.getState(), 'failed', `${id} is not failed`);
      if ((await statusOf(t, 'cryptosteroid', id)) === 'queued') assert.equal(job.attemptsMade, 0, `${id} spent no attempt on the cap`);
    }
    const metrics = await (await fetch(`${t.api}/metrics`)).text();
    assert.match(metrics, /invoice_worker_lane_throttled_total\{lane="cryptosteroid",cause="capacity"\} [1-9]/);
    assert.doesNotMatch(metrics, /invoice_worker_lane_throttled_total\{lane="cryptoprocessing"/);

    // Payers pay: the cap lifts and the lane goes on, two at a time.
    await payUntilCreated(t, cs, 'every CryptoSteroid order created once the cap lifted');
    for (const id of cs) assert.equal(t.sandbox.count('cryptosteroid', id), 1, `${id} created once`);
  });
});

describe('lanes: a CryptoSteroid lane keeps its own count and never meets the provider cap', () => {
  let t: TestSystem;
  before(async () => {
    // The provider would refuse a third unpaid invoice; our lane is told its account holds at most 2.
    t = await startTestSystem({ sandbox: { cryptosteroidNewCap: 2 }, env: { CRYPTOSTEROID_MAX_UNPAID: '2', CREATE_ATTEMPTS: '3' } });
  });
  after(async () => {
    await t.close();
  });

  it('past its own cap the lane sends nothing (the provider never refuses), orders wait without attempts and go out as invoices are paid', async () => {
    const cs = ids('own-cap');
    assert.equal((await t.post('/v1/invoices/batch', { orders: cs.map((id) => sampleOrder('cryptosteroid', id)) })).body.counts.accepted, N);
    await t.waitFor(async () => (await Promise.all(cs.map((id) => statusOf(t, 'cryptosteroid', id)))).filter((s) => s !== 'queued').length === 2, 'two created');
    // The lane is at its own cap: it says so, and nothing more went out.
    await t.waitFor(
      async () => /invoice_worker_lane_throttled_total\{lane="cryptosteroid",cause="capacity"\} [1-9]/.test(await (await fetch(`${t.api}/metrics`)).text()),
      'the capacity wait',
    );
    assert.equal(t.sandbox.stats().cryptosteroid.received, 2, 'nothing sent past the cap');
    const metrics = await (await fetch(`${t.api}/metrics`)).text();
    assert.match(metrics, /invoice_worker_lane_unpaid_invoices\{lane="cryptosteroid"\} 2/);
    const lanes = await t.system.laneStatus();
    assert.deepEqual(
      lanes.filter((l) => l.lane === 'cryptosteroid').map((l) => [l.unpaid, l.max_unpaid]),
      [[2, 2]],
    );
    // Payers pay: a slot frees for each, and the lane goes on, never past two unpaid.
    await payUntilCreated(t, cs, 'every order created as payers paid');
    assert.equal(t.sandbox.stats().cryptosteroid.byStatus['429'] ?? 0, 0, 'the provider never refused a create for its cap');
    for (const id of cs) {
      assert.equal(t.sandbox.count('cryptosteroid', id), 1, `${id} created once`);
      // One attempt: the one that created it (waiting at the cap spends none).
      assert.ok(((await t.createJob('cryptosteroid', id))?.attemptsMade ?? 0) <= 1, `${id} spent no attempt waiting`);
    }
  });
});

describe('lanes: a provider down for longer than the retry budget', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({
      env: { CREATE_ATTEMPTS: '2', CREATE_BACKOFF_MS: '20', BREAKER_FAILURES: '3', BREAKER_OPEN_MS: '100', BREAKER_MAX_MS: '400' },
    });
  });
  after(async () => {
    await t.close();
  });

  it('its breaker opens, its orders wait without failing, other lanes create; after recovery every order is created, none failed', async () => {
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', status: 503 });
    const ap = ids('down-ap');
    assert.equal((await t.post('/v1/invoices/batch', { orders: ap.map((id) => sampleOrder('alphapo', id)) })).body.counts.accepted, N);
    await t.waitFor(async () => (await t.system.lane('alphapo').breaker.status()).state !== 'closed', 'the alphapo breaker to open');

    const cp = ids('down-cp');
    assert.equal((await t.post('/v1/invoices/batch', { orders: cp.map((id) => sampleOrder('cryptoprocessing', id)) })).body.counts.accepted, N);
    await allCreated(t, 'cryptoprocessing', cp, 'every CryptoProcessing order created while AlphaPo is down');

    // Down well past its budget (2 attempts per order): the probes keep failing, nothing fails for good.
    await t.waitFor(async () => (t.sandbox.stats().alphapo.byStatus['503'] ?? 0) >= 2 * N + 5, "the outage to outlast every order's retry budget");
    assert.equal((await t.createCounts('failed')).failed ?? 0, 0, 'no order that was never created failed');
    const lanes = await t.system.laneStatus();
    const alphapo = lanes.find((l) => l.lane === 'alphapo');
    assert.ok(alphapo && alphapo.breaker !== 'closed' && alphapo.waiting > 0, JSON.stringify(alphapo));
    assert.equal(lanes.find((l) => l.lane === 'cryptoprocessing')?.breaker, 'closed');
    const ready = await t.get('/readyz');
    assert.equal(ready.status, 200, 'a lane that is down does not make the process unready');
    assert.ok(ready.body.lanes.some((l: { lane: string; breaker: string }) => l.lane === 'alphapo' && l.breaker !== 'closed'));

    t.sandbox.clearFaults();
    await allCreated(t, 'alphapo', ap, 'every AlphaPo order created after recovery', 60_000);
    for (const id of ap) assert.equal(t.sandbox.count('alphapo', id), 1, `${id} created once`);
    assert.equal((await t.createCounts('failed')).failed ?? 0, 0);
    assert.equal((await t.system.lane('alphapo').breaker.status()).state, 'closed');
    const metrics = await (await fetch(`${t.api}/metrics`)).text();
    assert.match(metrics, /invoice_worker_lane_breaker_opened_total\{lane="alphapo"\} [1-9]/);
  });
});

describe('lanes: two accounts of one provider', () => {
  let t: TestSystem;
  let lt: Sandbox;
  const LT = { apiKey: 'lt-key-0a1b2c3d', apiSecret: 'lt-secret-9f8e7d6c5b4a' };
  before(async () => {
    // The second account lives on its own host (the sandbox stands in for each), with its own keys.
    lt = await startSandbox({ port: 0, credentials: { cryptoprocessing: LT } });
    const account: AccountConfig = {
      provider: 'cryptoprocessing',
      account: 'lt',
      settings: { baseUrl: lt.baseUrls.cryptoprocessing, ...LT },
      tuning: { concurrency: 4 },
      source: 'test',
    };
    t = await startTestSystem({ accounts: [account], callbacks: true });
    lt.setCallbackUrl('cryptoprocessing', `${t.api}/webhooks/cryptoprocessing/lt`);
  });
  after(async () => {
    await t.close();
    await lt.close();
  });

  it('the same foreign_id is one invoice in each account, with its own credentials, results and reads', async () => {
    const main = await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'shared-1'));
    const other = await t.post('/v1/invoices', { ...sampleOrder('cryptoprocessing', 'shared-1'), account: 'lt' });
    assert.equal(main.status, 202);
    assert.equal(other.status, 202, 'a separate foreign_id space: not a conflict');
    assert.equal(other.body.invoice.account, 'lt');
    // `default` spelled out is the default account: the same order again.
    assert.equal((await t.post('/v1/invoices', { ...sampleOrder('cryptoprocessing', 'shared-1'), account: 'default' })).status, 200);
    // An account that is not configured is named.
    const unknown = await t.post('/v1/invoices', { ...sampleOrder('cryptoprocessing', 'shared-2'), account: 'nope' });
    assert.equal(unknown.status, 400);
    assert.deepEqual(
      unknown.body.issues.map((i: { field: string }) => i.field),
      ['account'],
    );

    await allCreated(t, 'cryptoprocessing', ['shared-1'], 'the default account invoice');
    await allCreated(t, 'cryptoprocessing@lt', ['shared-1'], 'the lt account invoice');
    assert.equal(t.sandbox.count('cryptoprocessing', 'shared-1'), 1, 'one at the main host');
    assert.equal(lt.count('cryptoprocessing', 'shared-1'), 1, 'one at the lt host, signed with its own key');

    const read = await t.get('/v1/invoices/cryptoprocessing/shared-1?account=lt');
    assert.equal(read.status, 200);
    assert.equal(read.body.account, 'lt');
    assert.equal(read.body.provider_invoice_id, lt.invoice('cryptoprocessing', 'shared-1')?.id);
    assert.notEqual(read.body.payment_url, (await t.get('/v1/invoices/cryptoprocessing/shared-1')).body.payment_url);
    assert.equal((await t.get('/v1/invoices/cryptoprocessing/shared-1?account=nope')).status, 404);
    assert.equal((await t.get('/v1/invoices/cryptoprocessing/shared-1?account=Not%20A%20Name')).status, 400);

    // The lt account's payer pays: its callback arrives on its own route and moves only its invoice.
    lt.pay('cryptoprocessing', 'shared-1');
    await t.waitFor(async () => (await statusOf(t, 'cryptoprocessing@lt', 'shared-1')) === 'paid', 'the lt invoice paid');
    assert.equal(await statusOf(t, 'cryptoprocessing', 'shared-1'), 'created', 'the default account invoice is untouched');
    const results = await t.waitFor(async () => {
      const all = (await t.results()).filter((r) => r.foreign_id === 'shared-1');
      return all.some((r) => r.account === 'lt' && r.status === 'paid') ? all : null;
    }, 'the lt paid result');
    assert.deepEqual(
      results
        // The platform calls back on every change; `pending` (the payer picked a currency) may be
        // overtaken by `processing` and then is a backwards move, ignored.
        .filter((r) => r.account === 'lt' && r.status !== 'pending')
        .map((r) => r.status)
        .sort(),
      ['created', 'paid', 'processing'],
    );
    assert.deepEqual(
      results.filter((r) => r.account === 'default').map((r) => r.status),
      ['created'],
    );
    assert.ok(results.find((r) => r.account === 'lt' && r.status === 'paid')?.event_id.startsWith('result.cryptoprocessing@lt.'));

    // A callback signed with the default account's secret is not authentic on the lt route.
    const body = JSON.stringify({ type: 'invoice', id: 1, foreign_id: 'shared-1', status: 'confirmed' });
    const forged = await fetch(`${t.api}/webhooks/cryptoprocessing/lt`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-processing-key': t.sandbox.credentials.cryptoprocessing.apiKey,
        'x-processing-signature': signBody(body, t.sandbox.credentials.cryptoprocessing.apiSecret),
      },
      body,
    });
    assert.equal(forged.status, 401);
  });
});
