/**
 * Guarantee 2's safety nets: an open invoice that lost its poll job gets a new one, and the open
 * index forgets invoices once they are terminal.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pollJobId } from '../../queues/poll.ts';
import { OrderSchema, orderHash } from '../../src/invoice/order.ts';
import { LostJobSweeper } from '../../src/lost-jobs.ts';
import { createLogger } from '../../src/logger.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

describe('sweepers', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem();
  });
  after(async () => {
    await t.close();
  });

  it('an open invoice whose poll job was removed gets it back; a terminal one leaves the open index', async () => {
    const ids = ['sw-1', 'sw-2', 'sw-3'];
    for (const id of ids) assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', id))).status, 202);
    const pollQueue = t.system.lane('alphapo').pollQueue;
    assert.ok(pollQueue, 'the system has a poll queue');
    for (const id of ids) await t.waitFor(async () => pollQueue.getJob(pollJobId('alphapo', id)), `poll job of ${id}`);
    const sweeper = t.system.workers!.sweeper;
    await sweeper.stop(); // drive it by hand from here (a sweep in flight finishes first)

    for (const id of ids.slice(0, 2)) await (await pollQueue.getJob(pollJobId('alphapo', id)))!.remove();
    assert.equal(await pollQueue.getJob(pollJobId('alphapo', 'sw-1')), undefined);
    const repaired = await sweeper.sweepOpen();
    assert.equal(repaired, 2);
    for (const id of ids) assert.ok(await pollQueue.getJob(pollJobId('alphapo', id)), `${id} has a poll job again`);
    assert.equal(await sweeper.sweepOpen(), 0, 'nothing to repair the second time');

    const open = (await t.system.store.openPage(0, 1000)).ids;
    assert.deepEqual(open.sort(), ids.map((id) => `alphapo.r.${id}`).sort());
    await t.system.store.apply('alphapo', 'sw-3', { status: 'paid', source: 'test' });
    assert.deepEqual((await t.system.store.openPage(0, 1000)).ids.sort(), ['alphapo.r.sw-1', 'alphapo.r.sw-2']);
  });
});

describe('queued sweeper, rolling', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ role: 'api' }); // no workers: nothing leaves `queued` by itself
  });
  after(async () => {
    await t.close();
  });

  it('pages through every orphaned order, not only the oldest page, and skips parked ones', async () => {
    const ids = ['q-1', 'q-2', 'q-3', 'q-4', 'q-5'];
    for (const [i, id] of ids.entries()) {
      const order = OrderSchema.parse(sampleOrder('cryptoprocessing', id));
      assert.equal(await t.system.store.accept(order, orderHash(order), 's', new Date(Date.now() - 120_000 + i)), 'accepted');
    }
    // Parked orders leave the queued index: they wait for an operator, not for a job.
    await t.system.store.apply('cryptoprocessing', 'q-5', { source: 'test', fields: { reconcile: 'outcome unknown' } });
    assert.equal((await t.system.store.queuedBefore(Date.now(), 1000)).includes('cryptoprocessing.r.q-5'), false);

    const sweeper = new LostJobSweeper({ store: t.system.store, lanes: t.system.lanes, log: createLogger('silent'), queuedPageSize: 2 });
    for (let i = 0; i < 3; i++) await sweeper.sweep();
    for (const id of ids.slice(0, 4)) assert.ok(await t.createJob('cryptoprocessing', id), `${id} got its job`);
    assert.equal(await t.createJob('cryptoprocessing', 'q-5'), undefined, 'a parked order is not re-sent');

    // Un-parking it (an operator confirmed nothing was created) puts it back in the index.
    await t.system.store.apply('cryptoprocessing', 'q-5', { source: 'test', fields: { reconcile: null } });
    assert.equal((await t.system.store.queuedBefore(Date.now(), 1000)).includes('cryptoprocessing.r.q-5'), true);
  });
});
