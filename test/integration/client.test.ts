import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvoiceApiError, InvoiceClient } from '../../src/client.ts';
import type { OrderInput } from '../../src/invoice/order.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

describe('producer client', () => {
  let t: TestSystem;
  let client: InvoiceClient;
  const token = 'client-test-token-0123456789';
  before(async () => {
    t = await startTestSystem({ env: { API_TOKEN: token } });
    client = new InvoiceClient({ baseUrl: t.api, token });
  });
  after(async () => {
    await t.close();
  });

  it('creates, reads, and answers existing and conflict like the API', async () => {
    const order = sampleOrder('alphapo', 'client-1') as OrderInput;
    assert.equal((await client.create(order)).outcome, 'accepted');
    assert.equal((await client.create(order)).outcome, 'existing');
    await assert.rejects(client.create({ ...order, amount: '1.00' }), (e: unknown) => e instanceof InvoiceApiError && e.status === 409);
    const view = await t.waitFor(async () => {
      const v = await client.get('alphapo', 'client-1');
      return v?.status === 'created' ? v : null;
    }, 'created');
    assert.ok(view.payment_url);
    assert.equal(await client.get('alphapo', 'nope'), null);
  });

  it('throws the server field issues on invalid input, and 401 without the token', async () => {
    await assert.rejects(client.create({ provider: 'alphapo', foreign_id: '', amount: '0', currency: 'EUR' }), (e: unknown) => {
      assert.ok(e instanceof InvoiceApiError);
      assert.equal(e.status, 400);
      assert.deepEqual(e.issues.map((i) => i.field).sort(), ['amount', 'foreign_id']);
      return true;
    });
    const anonymous = new InvoiceClient({ baseUrl: t.api });
    await assert.rejects(anonymous.get('alphapo', 'client-1'), (e: unknown) => e instanceof InvoiceApiError && e.status === 401);
  });

  it('sends a batch and gets each outcome in order', async () => {
    const a = sampleOrder('cryptosteroid', 'client-b1') as OrderInput;
    const answer = await client.createBatch([a, a, { ...a, foreign_id: '' }]);
    assert.deepEqual(
      answer.results.map((r) => r.outcome),
      ['accepted', 'existing', 'invalid'],
    );
  });
});
