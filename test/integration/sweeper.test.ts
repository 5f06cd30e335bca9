/**
 * Guarantee 2's safety nets: an open invoice that lost its poll job gets a new one, and the open
 * index forgets invoices once they are terminal.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pollJobId } from '../../queues/poll.ts';
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
    const pollQueue = t.system.pollQueue;
    assert.ok(pollQueue, 'the system has a poll queue');
    for (const id of ids) await t.waitFor(async () => pollQueue.getJob(pollJobId('alphapo', id)), `poll job of ${id}`);
    const sweeper = t.system.workers!.sweeper;
    sweeper.stop(); // drive it by hand from here

    for (const id of ids.slice(0, 2)) await (await pollQueue.getJob(pollJobId('alphapo', id)))!.remove();
    assert.equal(await pollQueue.getJob(pollJobId('alphapo', 'sw-1')), undefined);
    const repaired = await sweeper.sweepOpen();
    assert.equal(repaired, 2);
    for (const id of ids) assert.ok(await pollQueue.getJob(pollJobId('alphapo', id)), `${id} has a poll job again`);
    assert.equal(await sweeper.sweepOpen(), 0, 'nothing to repair the second time');

    const open = await t.system.redis.zrange(t.system.store.keys.open, 0, -1);
    assert.deepEqual(open.sort(), ids.map((id) => `alphapo.r.${id}`).sort());
    await t.system.store.apply('alphapo', 'sw-3', { status: 'paid', source: 'test' });
    assert.deepEqual((await t.system.redis.zrange(t.system.store.keys.open, 0, -1)).sort(), ['alphapo.r.sw-1', 'alphapo.r.sw-2']);
  });
});
