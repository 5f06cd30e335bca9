/**
 * The create pipeline end to end: real API, real Redis, real BullMQ workers, the real sandbox over
 * HTTP. Each test has its own queue prefix and sandbox.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ResultSchema } from '../../queues/results.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { sampleOrder, samplePaymentRequest, startTestSystem, type TestSystem } from '../helpers/system.ts';

async function createdResult(t: TestSystem, provider: string, foreignId: string) {
  return t.waitFor(
    async () => (await t.results()).find((r) => r.provider === provider && r.foreign_id === foreignId && r.status === 'created'),
    `created result for ${provider}/${foreignId}`,
  );
}

describe('create pipeline', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem();
  });
  after(async () => {
    await t.close();
  });

  const cases: Array<[string, Record<string, unknown>]> = [
    ['cryptoprocessing invoice', sampleOrder('cryptoprocessing', 'cp-inv-1')],
    ['cryptoprocessing payment request', samplePaymentRequest('cryptoprocessing', 'cp-pr-1')],
    ['alphapo invoice', sampleOrder('alphapo', 'ap-inv-1')],
    ['cryptosteroid invoice', sampleOrder('cryptosteroid', 'cs-inv-1')],
  ];
  for (const [name, order] of cases) {
    it(`${name}: accepted, submitted once, one created result with the sandbox payment URL`, async () => {
      const provider = order.provider as 'cryptoprocessing' | 'alphapo' | 'cryptosteroid';
      const foreignId = order.foreign_id as string;
      const res = await t.post('/v1/invoices', order);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body.invoice.status, 'queued');
      const result = await createdResult(t, provider, foreignId);
      ResultSchema.parse(result);
      assert.equal(result.previous_status, 'queued');
      assert.equal(result.amount, order.amount);
      assert.ok(result.payment_url?.startsWith(t.sandbox.url), `payment url ${result.payment_url} should be on the sandbox`);
      const held = t.sandbox.invoices(provider).filter((i) => i.foreignId === foreignId);
      assert.equal(held.length, 1);
      assert.equal(result.provider_invoice_id, held[0]!.id);
      assert.equal(result.payment_url, held[0]!.paymentUrl);
      const view = await t.get(`/v1/invoices/${provider}/${encodeURIComponent(foreignId)}`);
      assert.equal(view.status, 200);
      // CryptoSteroid with a payment method fixed at creation is already waiting for the payment
      // (docs/providers.md 5: NEW with a method is `pending`): created (URL known), then pending.
      const expected = provider === 'cryptosteroid' ? ['queued', 'created', 'pending'] : ['queued', 'created'];
      assert.equal(view.body.status, expected.at(-1));
      assert.deepEqual(
        view.body.history.map((h: { to: string }) => h.to),
        expected,
      );
      const mine = async () =>
        (await t.results())
          .filter((r) => r.foreign_id === foreignId)
          .map((r) => r.status)
          .sort();
      await t.waitFor(async () => (await mine()).length >= expected.length - 1, 'every result relayed');
      assert.deepEqual(await mine(), expected.slice(1).sort());
      assert.equal(JSON.stringify(view.body).includes('payer@example.com'), false, 'the view carries no personal data');
    });
  }

  it('foreign ids that are digits only, with colons, unicode or 255 characters all make legal job ids and go through', async () => {
    const ids = ['1234567890', 'order:2026:11:21', 'заказ-№7 ✓', 'x'.repeat(255), 'with space/and slash'];
    for (const id of ids) {
      const res = await t.post('/v1/invoices', sampleOrder('alphapo', id));
      assert.equal(res.status, 202, `${id}: ${JSON.stringify(res.body)}`);
    }
    for (const id of ids) {
      await createdResult(t, 'alphapo', id);
      assert.equal(t.sandbox.count('alphapo', id), 1);
      assert.equal((await t.get(`/v1/invoices/alphapo/${encodeURIComponent(id)}`)).body.foreign_id, id);
    }
  });

  it('invalid orders get 400 naming every bad field, and nothing is recorded or enqueued', async () => {
    const before = await t.createCounts();
    const res = await t.post('/v1/invoices', {
      provider: 'cryptoprocessing',
      foreign_id: 'bad-1',
      amount: 100.5,
      currency: 'EUR',
      title: 'x'.repeat(51),
      description: 'd'.repeat(1001),
      customer: { email: 'not-an-email', sender: { type: 'natural', first_name: 'A' } },
    });
    assert.equal(res.status, 400);
    const fields = res.body.issues.map((i: { field: string }) => i.field).sort();
    for (const f of ['amount', 'title', 'description', 'customer.email', 'customer.sender.last_name']) assert.ok(fields.includes(f), `${f} in ${fields}`);
    // Connector rules (after the schema passes): platform invoices need a title and URLs.
    const connector = await t.post('/v1/invoices', { provider: 'cryptoprocessing', foreign_id: 'bad-2', amount: '10', currency: 'EUR' });
    assert.equal(connector.status, 400);
    const cfields = connector.body.issues.map((i: { field: string }) => i.field);
    for (const f of ['title', 'urls.success', 'urls.failure', 'customer.email']) assert.ok(cfields.includes(f), `${f} in ${cfields}`);
    const cs = await t.post('/v1/invoices', sampleOrder('cryptosteroid', 'bad-3', { currency: 'GBP', payment_currency: 'XRP' }));
    assert.equal(cs.status, 400);
    assert.deepEqual(cs.body.issues.map((i: { field: string }) => i.field).sort(), ['currency', 'payment_currency']);
    const invalidJson = await t.post('/v1/invoices', '{"provider":');
    assert.equal(invalidJson.status, 400);
    assert.equal(invalidJson.body.error, 'invalid_json');
    for (const id of ['bad-1', 'bad-2', 'bad-3']) {
      assert.equal(await t.system.store.get('cryptoprocessing', id), null);
      assert.equal(await t.system.store.get('cryptosteroid', id), null);
    }
    assert.deepEqual(await t.createCounts(), before);
  });

  it('the same order again answers the existing record without a new job; another payload is a 409', async () => {
    const order = sampleOrder('cryptoprocessing', 'dup-1');
    assert.equal((await t.post('/v1/invoices', order)).status, 202);
    await createdResult(t, 'cryptoprocessing', 'dup-1');
    const again = await t.post('/v1/invoices', { ...order, amount: '100.5' });
    assert.equal(again.status, 200);
    assert.equal(again.body.outcome, 'existing');
    assert.equal(again.body.invoice.status, 'created');
    const other = await t.post('/v1/invoices', { ...order, amount: '99.00' });
    assert.equal(other.status, 409);
    assert.equal(other.body.error, 'conflict');
    assert.equal(t.sandbox.count('cryptoprocessing', 'dup-1'), 1);
    assert.equal((await t.results()).filter((r) => r.foreign_id === 'dup-1').length, 1);
  });

  it('concurrent enqueues of one order make one record, one job, one invoice and one result', async () => {
    const order = sampleOrder('cryptosteroid', 'race-1');
    const answers = await Promise.all(Array.from({ length: 25 }, () => t.post('/v1/invoices', order)));
    assert.equal(answers.filter((a) => a.status === 202).length, 1);
    assert.equal(answers.filter((a) => a.status === 200).length, 24);
    await createdResult(t, 'cryptosteroid', 'race-1');
    assert.equal(t.sandbox.count('cryptosteroid', 'race-1'), 1);
    await t.waitFor(async () => (await t.results()).some((r) => r.foreign_id === 'race-1' && r.status === 'pending'), 'pending result');
    assert.deepEqual(
      (await t.results())
        .filter((r) => r.foreign_id === 'race-1')
        .map((r) => r.status)
        .sort(),
      ['created', 'pending'],
    );
  });

  it('a batch answers each item in order: accepted, existing, conflict, invalid', async () => {
    const a = sampleOrder('alphapo', 'batch-a');
    const res = await t.post('/v1/invoices/batch', {
      orders: [a, sampleOrder('cryptosteroid', 'batch-b'), a, { ...a, amount: '1.00' }, { provider: 'nope' }],
    });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.results.map((r: { outcome: string }) => r.outcome),
      ['accepted', 'accepted', 'existing', 'conflict', 'invalid'],
    );
    assert.deepEqual(res.body.counts, { accepted: 2, existing: 1, conflict: 1, invalid: 1 });
    assert.equal(res.body.results[4].issues[0].field, 'provider');
    await createdResult(t, 'alphapo', 'batch-a');
    await createdResult(t, 'cryptosteroid', 'batch-b');
    assert.equal((await t.post('/v1/invoices/batch', { orders: [] })).status, 400);
    assert.equal((await t.post('/v1/invoices/batch', { orders: Array.from({ length: 1001 }, () => a) })).status, 400);
  });

  it('an order recorded whose job was never added (crash between the two writes) is picked up by the sweeper', async () => {
    const order = sampleOrder('cryptoprocessing', 'orphan-1');
    const { OrderSchema, orderHash } = await import('../../src/invoice/order.ts');
    const parsed = OrderSchema.parse(order);
    assert.equal(await t.system.store.accept(parsed, orderHash(parsed), 'secret-x', new Date(Date.now() - 60_000)), 'accepted');
    assert.equal(await t.createJob('cryptoprocessing', 'orphan-1'), undefined);
    await createdResult(t, 'cryptoprocessing', 'orphan-1');
    assert.equal(t.sandbox.count('cryptoprocessing', 'orphan-1'), 1);
  });
});

describe('create pipeline under provider faults', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ env: { CREATE_ATTEMPTS: '4' } });
  });
  after(async () => {
    await t.close();
  });

  it('5xx twice, then success: one invoice, created', async () => {
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', count: 2 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'f-5xx'))).status, 202);
    await createdResult(t, 'alphapo', 'f-5xx');
    assert.equal(t.sandbox.count('alphapo', 'f-5xx'), 1);
    assert.equal(t.sandbox.stats().alphapo.received, 3);
    const job = await t.createJob('alphapo', 'f-5xx');
    assert.equal(job?.attemptsMade, 3);
  });

  it('429 (the non-JSON throttle body) slows the queue without spending attempts', async () => {
    // 4 attempts allowed, 6 throttled answers: if 429 spent attempts, the job would fail.
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: '429', count: 6 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'f-429'))).status, 202);
    await createdResult(t, 'cryptoprocessing', 'f-429');
    assert.equal(t.sandbox.stats().cryptoprocessing.byStatus['429'], 6);
    const job = await t.createJob('cryptoprocessing', 'f-429');
    assert.equal(await job?.getState(), 'completed');
    assert.ok((job?.attemptsMade ?? 99) <= 1, `attempts spent: ${job?.attemptsMade}`);
  });

  for (const provider of ['cryptoprocessing', 'alphapo'] as const) {
    it(`${provider}: response lost after commit: the orphan is cancelled and the order created again, one payable invoice, no operator`, async () => {
      const id = `f-lost-${provider}`;
      t.sandbox.addFault({ provider, fault: 'commit-then-drop', count: 1 });
      assert.equal((await t.post('/v1/invoices', sampleOrder(provider, id))).status, 202);
      const rec = await t
        .waitFor(async () => {
          const r = await t.system.store.get(provider, id);
          return r?.payment_url || r?.reconcile ? r : null;
        }, 'the order to settle')
        .catch(async (e) => {
          console.error(JSON.stringify(await t.system.store.get(provider, id)), JSON.stringify(t.sandbox.stats()[provider]), t.logs.slice(-15).join(''));
          throw e;
        });
      assert.equal(rec.status, 'created');
      assert.equal(rec.reconcile, null, 'no operator needed');
      assert.equal(rec.provider_foreign_id, `${id}~r1`);
      assert.deepEqual(rec.replaced_foreign_ids, [id]);
      assert.equal(t.sandbox.count(provider, id), 1, 'the orphan');
      assert.equal(t.sandbox.invoice(provider, id)?.status, 'failed', 'cancelled at the provider');
      assert.equal(t.sandbox.count(provider, `${id}~r1`), 1);
      assert.equal(t.sandbox.stats()[provider].byStatus['400'] ?? 0, 1, 'the re-send was refused as a duplicate, once');
      // The order system hears `created` once, with the payable invoice's URL; nothing rejected or failed.
      const results = await t.waitFor(
        async () => {
          const mine = (await t.results()).filter((r) => r.foreign_id === id);
          return mine.some((r) => r.status === 'created') ? mine : null;
        },
        'the created result',
        10_000,
      );
      assert.deepEqual(
        results.map((r) => r.status),
        ['created'],
      );
      assert.equal(results[0]?.payment_url, t.sandbox.invoice(provider, `${id}~r1`)?.paymentUrl);
      const job = await t.createJob(provider, id);
      assert.equal(await job?.getState(), 'completed', 'not reported as a failure');
      // The provider's word on the cancelled orphan changes nothing.
      const history = await t.system.store.history(rec.id);
      assert.ok(history.some((h) => /is cancelled at the provider and the order goes again as/.test(h.reason ?? '')));
    });
  }

  it('cryptosteroid: response lost after commit is parked, never re-sent (externalId is not unique there)', async () => {
    t.sandbox.addFault({ provider: 'cryptosteroid', fault: 'commit-then-drop', count: 1 });
    const before = t.sandbox.stats().cryptosteroid.received;
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptosteroid', 'f-lost-cs'))).status, 202);
    const rec = await t.waitFor(async () => {
      const r = await t.system.store.get('cryptosteroid', 'f-lost-cs');
      return r?.reconcile ? r : null;
    }, 'reconciliation');
    assert.match(rec.reconcile ?? '', /outcome unknown/);
    // The job's end is the last moment a second request could go out: a parked order gets no new job.
    await t.waitFor(async () => (await (await t.createJob('cryptosteroid', 'f-lost-cs'))?.getState()) === 'completed', 'the create job to end');
    assert.equal(t.sandbox.stats().cryptosteroid.received - before, 1, 'sent exactly once');
    assert.equal(t.sandbox.count('cryptosteroid', 'f-lost-cs'), 1);
    const parked = await t.waitFor(
      async () => {
        const mine = (await t.results()).filter((r) => r.foreign_id === 'f-lost-cs');
        return mine.length ? mine : null;
      },
      'the parked result',
      10_000,
    );
    assert.deepEqual(
      parked.map((r) => [r.event, r.status]),
      [['parked', 'queued']],
      'announced as parked, nothing else',
    );
    assert.match(parked[0]!.parked?.next ?? '', /not re-sent/);
  });

  it('a connection reset before the provider committed: the platform re-send creates exactly one invoice', async () => {
    t.sandbox.addFault({ provider: 'cryptoprocessing', kind: 'payment_request', fault: 'reset', count: 1 });
    assert.equal((await t.post('/v1/invoices', samplePaymentRequest('cryptoprocessing', 'f-reset'))).status, 202);
    await createdResult(t, 'cryptoprocessing', 'f-reset');
    assert.equal(t.sandbox.count('cryptoprocessing', 'f-reset', 'payment_request'), 1);
  });

  it('provider validation refusal ends rejected at once with the provider reason, in the failed set', async () => {
    // Below the sandbox's per-currency minimum (10 EUR): valid for us, refused by the provider.
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'f-min', { amount: '1.00' }))).status, 202);
    const result = await t.waitFor(async () => (await t.results()).find((r) => r.foreign_id === 'f-min'), 'rejected result');
    assert.equal(result.status, 'rejected');
    assert.match(result.reason ?? '', /amount/);
    const job = await t.createJob('alphapo', 'f-min');
    assert.equal(await job?.getState(), 'failed');
    assert.equal(job?.attemptsMade, 1, 'no retries for a refusal');
  });
});

describe('create pipeline with bad credentials', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ port: 0 });
  });
  after(async () => {
    await sandbox.close();
  });

  it('a wrong API secret ends rejected, once, without retries', async () => {
    const bad = await startTestSystem({
      useSandbox: sandbox,
      credentials: {
        cryptoprocessing: { baseUrl: sandbox.baseUrls.cryptoprocessing, apiKey: sandbox.credentials.cryptoprocessing.apiKey, apiSecret: 'wrong-secret' },
        cryptosteroid: { baseUrl: sandbox.baseUrls.cryptosteroid, apiKey: 'wrong-key', merchantId: sandbox.credentials.cryptosteroid.merchantId },
      },
    });
    try {
      assert.equal((await bad.post('/v1/invoices', sampleOrder('cryptoprocessing', 'auth-1'))).status, 202);
      assert.equal((await bad.post('/v1/invoices', sampleOrder('cryptosteroid', 'auth-2'))).status, 202);
      for (const [provider, id] of [
        ['cryptoprocessing', 'auth-1'],
        ['cryptosteroid', 'auth-2'],
      ] as const) {
        const result = await bad.waitFor(async () => (await bad.results()).find((r) => r.foreign_id === id), `rejected ${id}`);
        assert.equal(result.status, 'rejected');
        assert.match(result.reason ?? '', /ProviderAuth/);
        assert.equal(sandbox.count(provider, id), 0);
        const job = await bad.createJob(provider, id);
        assert.equal(job?.attemptsMade, 1);
      }
      assert.equal(
        bad.logs.some((l) => l.includes('wrong-secret') || l.includes('wrong-key')),
        false,
        'credentials never reach the logs',
      );
    } finally {
      await bad.close();
    }
  });
});

describe('producer API edges', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ env: { API_TOKEN: 'edge-test-token-0123456789' } });
  });
  after(async () => {
    await t.close();
  });
  const auth = { authorization: 'Bearer edge-test-token-0123456789' };

  it('refuses calls without the bearer token, and with a wrong one, before reading the body', async () => {
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'edge-1'))).status, 401);
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'edge-1'), { authorization: 'Bearer edge-test-token-0123456788' })).status, 401);
    assert.equal(await t.system.store.get('alphapo', 'edge-1'), null);
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'edge-1'), auth)).status, 202);
  });

  it('a body that is not declared JSON gets 415 and changes nothing', async () => {
    const res = await t.post('/v1/invoices', JSON.stringify(sampleOrder('alphapo', 'edge-2')), { ...auth, 'content-type': 'text/plain' });
    assert.equal(res.status, 415);
    assert.equal(await t.system.store.get('alphapo', 'edge-2'), null);
  });

  it('a body over the size limit gets 413', async () => {
    const res = await t.post('/v1/invoices/batch', { orders: [{ description: 'x'.repeat(6 * 1024 * 1024) }] }, auth);
    assert.equal(res.status, 413);
  });

  it('a reserved key such as __proto__ is named, not silently dropped', async () => {
    const res = await t.post('/v1/invoices', `{"provider":"alphapo","foreign_id":"edge-3","amount":"10","currency":"EUR","provider_options":{"__proto__":{"x":1}}}`, auth);
    assert.equal(res.status, 400);
    assert.deepEqual(
      res.body.issues.map((i: { field: string }) => i.field),
      ['provider_options.__proto__'],
    );
  });
});
