/**
 * Found by the chaos run: paid invoices left on the operators' reconciliation list. A create
 * request is committed at the provider but its answer is lost; while the worker's re-send is on
 * its way, the provider's callbacks arrive and adopt the invoice (queued -> processing -> paid).
 * The re-send is then refused as a duplicate foreign_id, and the create path parked the order
 * "for reconciliation" although the invoice had already been followed to its end. Parking is for
 * orders still waiting at `queued`; a record that moved on must not be parked by a late answer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

describe('a late duplicate answer does not park an invoice callbacks already followed', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ callbacks: true, env: { CREATE_BACKOFF_MS: '1500', POLL_IDLE_MS: '3600000', POLL_PLATFORM_MS: '3600000' } });
  });
  after(async () => {
    await t.close();
  });

  it('commit, answer lost, callbacks adopt and finish it, then the re-send is refused as duplicate', async () => {
    const id = 'race-park-1';
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'commit-then-drop', count: 1 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', id))).status, 202);
    await t.waitFor(async () => (t.sandbox.stats().cryptoprocessing.byStatus.dropped ?? 0) >= 1, 'the first answer to be lost');
    // The re-send (after the backoff) is slow to come back; meanwhile the payer pays.
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'latency', count: 1, ms: 3000 });
    await t.waitFor(async () => t.sandbox.stats().cryptoprocessing.received >= 2, 'the re-send to be on its way');
    t.sandbox.pay('cryptoprocessing', id);
    await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', id))?.status === 'paid', 'callbacks to adopt and finish the invoice');
    await t.waitFor(async () => (t.sandbox.stats().cryptoprocessing.byStatus['400'] ?? 0) >= 1, 'the re-send to be refused as a duplicate', 20_000);
    await t.waitFor(async () => (await (await t.createJob('cryptoprocessing', id))?.getState()) === 'completed', 'the create job to finish');

    const rec = await t.system.store.get('cryptoprocessing', id);
    assert.equal(rec?.status, 'paid');
    assert.equal(rec?.reconcile, null, `not parked after it was paid: ${rec?.reconcile}`);
    assert.equal((await t.system.store.parked()).includes(rec.id), false, 'not on the reconciliation list');
    assert.equal(t.sandbox.count('cryptoprocessing', id), 1);
  });
});
