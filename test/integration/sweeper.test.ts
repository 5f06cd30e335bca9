/**
 * Guarantee 2's safety nets: an open invoice that lost its poll job (or its first poll, before it
 * has one) is scheduled again, and the open index forgets invoices once they are terminal. The
 * poll scheduler: first polls become poll jobs when due, once, and never for an invoice that ended.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pollJobId } from '../../queues/poll.ts';
import { OrderSchema, orderHash } from '../../src/invoice/order.ts';
import { LostJobSweeper } from '../../src/background/sweeper.ts';
import { PollScheduler } from '../../src/background/poll-scheduler.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

describe('sweepers', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem();
  });
  after(async () => {
    await t.close();
  });

  it('an open invoice that lost its first poll or its poll job is scheduled again; a terminal one leaves the open index', async () => {
    const ids = ['sw-1', 'sw-2', 'sw-3'];
    const store = t.system.store;
    for (const id of ids) assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', id))).status, 202);
    const pollQueue = t.system.lane('alphapo').pollQueue;
    const scheduled = async (): Promise<boolean[]> => store.inPollIndex('alphapo', ids);
    // Created, each waits in the poll index for its first poll (minutes away), with no job yet.
    await t.waitFor(async () => (await scheduled()).every(Boolean), 'every first poll scheduled');
    for (const id of ids) assert.equal(await pollQueue.getJob(pollJobId('alphapo', id)), undefined, `${id} has no poll job before its first poll`);
    const { sweeper, polls } = t.system.workers!;
    await sweeper.stop(); // drive both by hand from here (a round in flight finishes first)
    await polls.stop();

    // Lost before the first poll (its index entry gone): scheduled again.
    await store.pollsScheduled('alphapo', ['alphapo.r.sw-1', 'alphapo.r.sw-2']);
    assert.deepEqual(await scheduled(), [false, false, true]);
    assert.equal(await sweeper.sweepOpen(), 2);
    assert.deepEqual(await scheduled(), [true, true, true]);
    assert.equal(await sweeper.sweepOpen(), 0, 'nothing to repair the second time');

    // The first polls fall due: each gets its poll job and leaves the index.
    assert.equal(await polls.schedule(Date.now() + 86_400_000), 3);
    assert.deepEqual(await scheduled(), [false, false, false]);
    // Each is polled at once and waits, delayed, for its next poll.
    for (const id of ids) await t.waitFor(async () => (await pollQueue.getJobState(pollJobId('alphapo', id))) === 'delayed', `${id} polled, its job delayed`);

    // Lost after it (its poll job removed): scheduled again, and given its job when due.
    for (const id of ids.slice(0, 2)) await (await pollQueue.getJob(pollJobId('alphapo', id)))!.remove();
    assert.equal(await sweeper.sweepOpen(), 2);
    assert.equal(await sweeper.sweepOpen(), 0, 'scheduled in the index: not lost');
    assert.equal(await polls.schedule(Date.now() + 86_400_000), 2);
    for (const id of ids) assert.ok(await pollQueue.getJob(pollJobId('alphapo', id)), `${id} has a poll job again`);

    const open = (await store.openPage(0, 1000)).ids;
    assert.deepEqual(open.sort(), ids.map((id) => `alphapo.r.${id}`).sort());
    await store.apply('alphapo', 'sw-3', { status: 'paid', source: 'test' });
    assert.deepEqual((await store.openPage(0, 1000)).ids.sort(), ['alphapo.r.sw-1', 'alphapo.r.sw-2']);
  });
});

describe('poll scheduler', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ callbacks: true });
    await t.system.workers!.polls.stop(); // driven by hand, with a clock of the test's
    // And no sweeper: the first poll must come from the change to created itself, not a repair.
    await t.system.workers!.sweeper.stop();
  });
  after(async () => {
    await t.close();
  });

  /** Created, and its first poll already in the index when the created result is out (same script). */
  const created = async (id: string): Promise<void> => {
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptosteroid', id))).status, 202);
    await t.waitFor(async () => (await t.system.store.get('cryptosteroid', id))?.status !== 'queued', `${id} created`);
    assert.deepEqual(await t.system.store.inPollIndex('cryptosteroid', [id]), [true], `${id}'s first poll scheduled with its creation`);
  };

  it('an invoice paid before its first poll never gets a poll job, and leaves the index when paid', async () => {
    await created('ps-paid');
    t.sandbox.pay('cryptosteroid', (await t.system.store.get('cryptosteroid', 'ps-paid'))!.provider_invoice_id!);
    await t.waitFor(async () => (await t.system.store.get('cryptosteroid', 'ps-paid'))?.status === 'paid', 'paid by its callback');
    assert.deepEqual(await t.system.store.inPollIndex('cryptosteroid', ['ps-paid']), [false], 'the change to paid took it out of the index');
    await t.system.workers!.polls.schedule(Date.now() + 86_400_000);
    assert.equal(await t.system.lane('cryptosteroid').pollQueue.getJob(pollJobId('cryptosteroid', 'ps-paid')), undefined);
  });

  it('the first poll is not due before its time; once due it becomes a poll job, exactly once, whoever else schedules', async () => {
    await created('ps-due');
    const polls = t.system.workers!.polls;
    const now = Date.now();
    assert.equal(await polls.schedule(now), 0, 'a minute early: nothing due');
    // Two schedulers (two worker processes) at the same moment: the claim gives each entry to one.
    const other = new PollScheduler({ store: t.system.store, lanes: t.system.lanes, log: createLogger('silent') });
    const later = now + 86_400_000;
    const [a, b] = await Promise.all([polls.schedule(later), other.schedule(later)]);
    assert.equal(a + b, 1);
    const job = await t.system.lane('cryptosteroid').pollQueue.getJob(pollJobId('cryptosteroid', 'ps-due'));
    assert.ok(job, 'its poll job');
    assert.deepEqual(job.data, { v: 1, provider: 'cryptosteroid', kind: 'invoice', foreign_id: 'ps-due' });
    assert.deepEqual(await t.system.store.inPollIndex('cryptosteroid', ['ps-due']), [false]);
  });

  it('entries claimed by a scheduler that died are claimed again once the lease runs out', async () => {
    await created('ps-lease');
    const store = t.system.store;
    const later = Date.now() + 86_400_000;
    // A scheduler claims the entry and dies before adding its job.
    assert.deepEqual(await store.claimDuePolls('cryptosteroid', later, 500, 30_000), ['cryptosteroid.r.ps-lease']);
    const polls = t.system.workers!.polls;
    assert.equal(await polls.schedule(later + 29_000), 0, 'held by the lease');
    assert.equal(await polls.schedule(later + 31_000), 1, 'claimed again after it');
    assert.ok(await t.system.lane('cryptosteroid').pollQueue.getJob(pollJobId('cryptosteroid', 'ps-lease')));
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
