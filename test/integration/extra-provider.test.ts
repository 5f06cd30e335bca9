/**
 * The provider boundary holds: a provider written inside this test, registered with the system
 * and changing nothing outside it, takes an order through the API, its lane's queue and worker,
 * the sandbox (its stand-in is one file of its own, test/fixtures/providers/testpay-sandbox.ts,
 * registered with the sandbox beside the built-in ones), its own signed callback route, and the
 * results queue: create -> the sandbox's signed callback -> paid, over real HTTP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ProviderUnavailable, ResponseShape, ValidationError } from '../../src/errors.ts';
import type { Status } from '../../src/invoice/state.ts';
import { DEFAULT_ACCOUNT } from '../../src/lanes/key.ts';
import { signBody, verifyBody } from '../../src/signing.ts';
import type { ProviderModule } from '../../src/providers/types.ts';
import { testPaySandbox } from '../fixtures/providers/testpay-sandbox.ts';
import { startTestSystem, type TestSystem } from '../helpers/system.ts';

interface TestPaySettings {
  baseUrl: string;
  token: string;
}

const STATES: Record<string, Status> = { open: 'created', paid: 'paid', gone: 'expired' };

/** A whole provider in one object: settings schema, callback style, tracking, adapter. */
const testPay: ProviderModule<TestPaySettings> = {
  id: 'testpay',
  kinds: ['invoice'],
  callbacks: 'merchant',
  settings: z.strictObject({ base_url: z.url(), token: z.string().min(8) }).transform((s) => ({ baseUrl: s.base_url, token: s.token })),
  env: {},
  defaultAccount: () => ({ names: {}, problems: [] }),
  // Its default account when it runs against the sandbox (whose stand-in the test registers there).
  sandbox(box) {
    const url = box.baseUrls.testpay;
    const creds = box.credentials.testpay;
    return url && creds ? { base_url: url, token: creds.token } : undefined;
  },
  create(settings, deps) {
    const lane = deps.lane ?? { provider: 'testpay', account: DEFAULT_ACCOUNT };
    return {
      id: 'testpay',
      lane,
      kinds: ['invoice'],
      callbacks: 'merchant',
      uniqueForeignId: true,
      tracking: { pollMs: 60_000, deadline: (inv) => (inv.opened_at ?? 0) + 3_600_000 },
      validate: (order) => (order.title ? [] : [{ field: 'title', message: 'required for testpay' }]),
      async create(order) {
        const body = JSON.stringify({ ref: order.foreign_id, amount: order.amount, currency: order.currency });
        const res = await deps.http.request({
          provider: 'testpay',
          baseUrl: settings.baseUrl,
          method: 'POST',
          path: '/invoices',
          headers: { authorization: `Bearer ${settings.token}`, 'content-type': 'application/json' },
          body,
        });
        if (res.status >= 500) throw new ProviderUnavailable(`HTTP ${res.status}`, 'testpay', res.status);
        const parsed = z.object({ id: z.string(), url: z.url() }).safeParse(JSON.parse(res.text));
        if (!parsed.success) throw new ResponseShape('testpay', res.status, [{ field: '(body)', message: 'unexpected' }]);
        return { providerInvoiceId: parsed.data.id, paymentUrl: parsed.data.url, status: 'created', providerStatus: 'open', amount: order.amount, currency: order.currency };
      },
      verifyCallback: (raw, headers) => verifyBody(raw, typeof headers['x-testpay-signature'] === 'string' ? headers['x-testpay-signature'] : undefined, settings.token),
      parseCallback(raw) {
        const cb = z
          .object({ id: z.string(), ref: z.string(), state: z.string(), paid: z.string().optional(), currency: z.string().optional() })
          .safeParse(JSON.parse(raw.toString('utf8')));
        if (!cb.success) throw new ValidationError([{ field: '(body)', message: 'not a testpay callback' }]);
        return {
          foreignId: cb.data.ref,
          providerInvoiceId: cb.data.id,
          providerStatus: cb.data.state,
          status: STATES[cb.data.state] ?? 'unresolved',
          dedupeKey: `${cb.data.id}:${cb.data.state}`,
          // What the payment is worth, as the provider states it: `paid` is published only when it covers the order.
          ...(cb.data.paid && cb.data.currency ? { paid: { value: { amount: cb.data.paid, currency: cb.data.currency } } } : {}),
        };
      },
      lookup: async () => null,
    };
  },
};

describe('a provider registered by a test, through every layer', () => {
  let t: TestSystem;
  const seen: Array<{ auth?: string; body: string }> = [];
  const TOKEN = 'testpay-token-1234';

  before(async () => {
    t = await startTestSystem({
      providers: [testPay],
      sandbox: { providers: [testPaySandbox({ token: TOKEN, onCreate: (req) => seen.push(req) })] },
    });
    // A merchant account's callback URL, set at the provider (here: the sandbox) like the platform's.
    t.sandbox.setCallbackUrl('testpay', `${t.api}/webhooks/testpay`);
  });
  after(async () => {
    await t.close();
  });

  it('is validated by its own rules, created through its lane, followed by its own callback route, and published', async () => {
    const order = { provider: 'testpay', foreign_id: 'tp-1', amount: '12.30', currency: 'EUR' };
    const invalid = await t.post('/v1/invoices', order);
    assert.equal(invalid.status, 400);
    assert.deepEqual(invalid.body.issues, [{ field: 'title', message: 'required for testpay' }]);

    assert.equal((await t.post('/v1/invoices', { ...order, title: 'Test order' })).status, 202);
    assert.ok(t.system.lanes.get('testpay')?.createQueue.name === 'invoice-create.testpay', 'a lane of its own');
    await t.waitFor(async () => (await t.system.store.get('testpay', 'tp-1'))?.status === 'created', 'created');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.auth, `Bearer ${TOKEN}`);
    assert.deepEqual(JSON.parse(seen[0].body), { ref: 'tp-1', amount: '12.30', currency: 'EUR' });
    const view = await t.get('/v1/invoices/testpay/tp-1');
    assert.equal(view.body.payment_url, 'https://pay.testpay.example/tp-1');

    // The payer pays: the sandbox's TestPay calls back, signed, to the account's URL.
    assert.equal(t.sandbox.pay('testpay', 'tp-1').status, 'paid');
    const delivered = await t.waitFor(async () => t.sandbox.deliveries().find((d) => d.provider === 'testpay' && d.result === 200), 'the paid callback delivered');
    await t.waitFor(async () => (await t.system.store.get('testpay', 'tp-1'))?.status === 'paid', "paid by the sandbox's callback");

    // Its callback: the route comes from its callback style, the check from its adapter.
    const cb = JSON.stringify({ id: 'tp-tp-1', ref: 'tp-1', state: 'paid', paid: '12.30', currency: 'EUR' });
    assert.equal(delivered.body, cb);
    const forged = await fetch(`${t.api}/webhooks/testpay`, { method: 'POST', headers: { 'x-testpay-signature': signBody(cb, 'wrong-token-0000') }, body: cb });
    assert.equal(forged.status, 401);
    // The same callback again (a redelivery) is taken, and is the same event.
    const ok = await fetch(`${t.api}/webhooks/testpay`, { method: 'POST', headers: { 'x-testpay-signature': signBody(cb, TOKEN) }, body: cb });
    assert.equal(ok.status, 200);

    const results = await t.waitFor(async () => {
      const mine = (await t.results()).filter((r) => r.provider === 'testpay');
      return mine.some((r) => r.status === 'paid') ? mine : null;
    }, 'the paid result');
    assert.deepEqual(results.map((r) => r.status).sort(), ['created', 'paid']);
    assert.equal(results.find((r) => r.status === 'paid')?.provider_invoice_id, 'tp-tp-1');
  });
});
