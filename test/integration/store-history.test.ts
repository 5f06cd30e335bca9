/**
 * The invoice store on a real Redis. The history: one JSON line per transition in the record
 * itself, read back in order; a record whose history began in the older list of its own reads as
 * one history. What it promises its callers: every result it builds matches the published contract
 * (ResultSchema) and one that would not is never written; the index upkeep's idea of a terminal status
 * is state.ts's; a counter changed through the compare-and-set loses no increment when two race.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { ResultSchema, resultJobId } from '../../queues/results.ts';
import { invoiceId } from '../../src/ids.ts';
import { OrderSchema, orderHash } from '../../src/invoice/order.ts';
import { STATUSES, TERMINAL } from '../../src/invoice/state.ts';
import { InvoiceStore } from '../../src/invoice/store.ts';
import { sampleOrder } from '../helpers/system.ts';
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts';

describe('invoice store', () => {
  const prefix = uniquePrefix('hist');
  let redis: Redis;
  let store: InvoiceStore;
  before(() => {
    redis = new Redis(REDIS_URL);
    store = new InvoiceStore({ redis, prefix, resultId: resultJobId });
  });
  after(async () => {
    redis.disconnect();
    await deleteByPrefix(prefix);
  });

  async function accepted(foreignId: string): Promise<string> {
    const order = OrderSchema.parse(sampleOrder('cryptoprocessing', foreignId));
    assert.equal(await store.accept(order, orderHash(order), 'not-a-real-secret'), 'accepted');
    return invoiceId('cryptoprocessing', foreignId);
  }

  it('is a field of the record, one line per transition, in order; nothing else is keyed by the invoice', async () => {
    const id = await accepted('h-1');
    await store.apply('cryptoprocessing', 'h-1', { status: 'created', source: 'create', fields: { provider_invoice_id: '7' } });
    await store.apply('cryptoprocessing', 'h-1', { status: 'paid', source: 'callback', reason: 'paid in full\nby two transactions' });
    const history = await store.history(id);
    assert.deepEqual(
      history.map((h) => [h.from, h.to, h.source]),
      [
        [null, 'queued', 'api'],
        ['queued', 'created', 'create'],
        ['created', 'paid', 'callback'],
      ],
    );
    assert.equal(history[2]?.reason, 'paid in full\nby two transactions');
    assert.equal((await redis.hget(store.recordKey(id), 'history'))?.split('\n').length, 3);
    assert.deepEqual(await redis.keys(`${prefix}:*${id}*`), [store.recordKey(id)]);
  });

  it('an accepted order comes back as the record Redis holds, without reading it; existing and conflict come back without one', async () => {
    const order = OrderSchema.parse(sampleOrder('cryptoprocessing', 'h-accept', { account: 'eu' }));
    const first = await store.acceptRecord(order, orderHash(order), 'not-a-real-secret', new Date(), '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(first.outcome, 'accepted');
    assert.deepEqual(first.record, await store.get('cryptoprocessing@eu', 'h-accept'));
    assert.deepEqual(await store.acceptRecord(order, orderHash(order), 'other'), { outcome: 'existing', record: null });
    const changed = OrderSchema.parse({ ...sampleOrder('cryptoprocessing', 'h-accept', { account: 'eu' }), amount: '99.00' });
    assert.deepEqual(await store.acceptRecord(changed, orderHash(changed), 'other'), { outcome: 'conflict', record: null });
  });

  it('the change that opens an invoice schedules its first poll in the same step, from the record as it leaves it; an earlier schedule stands', async () => {
    const id = await accepted('h-first-poll');
    const seen: Array<{ status: string; opened: number | null }> = [];
    const res = await store.apply('cryptoprocessing', 'h-first-poll', {
      status: 'created',
      source: 'create',
      fields: { provider_invoice_id: '11' },
      firstPoll: (r) => (seen.push({ status: r.status, opened: r.opened_at }), 5_000_000_000_000),
    });
    assert.equal(res.kind, 'applied');
    assert.deepEqual(
      seen.map((x) => x.status),
      ['created'],
    );
    assert.ok(seen[0]!.opened, 'decided on the record as the change leaves it (opened_at set)');
    const index = store.pollIndex('cryptoprocessing');
    assert.equal(await redis.zscore(index, id), '5000000000000');
    await store.apply('cryptoprocessing', 'h-first-poll', { status: 'pending', source: 'create', firstPoll: () => 6_000_000_000_000 });
    assert.equal(await redis.zscore(index, id), '5000000000000', 'a later time does not push the poll back');
    await store.apply('cryptoprocessing', 'h-first-poll', { status: 'paid', source: 'callback' });
    assert.equal(await redis.zscore(index, id), null, 'finished: out of the index');
  });

  it('the record an apply returns is the record Redis holds, field by field, and the indexes follow status and parking', async () => {
    const id = await accepted('h-merge');
    const keys = store.allKeys()[0]!;
    const member = async (key: string): Promise<boolean> => (await redis.zscore(key, id)) !== null;
    const steps: Array<Parameters<InvoiceStore['apply']>[2]> = [
      { source: 'create', fields: { submitting: 1_700_000_000_000, submit_attempts: 1 } },
      { source: 'create', fields: { reconcile: 'outcome unknown' } },
      { source: 'operator', fields: { reconcile: null, submitting: null } },
      {
        status: 'created',
        source: 'create',
        fields: { submitting: null, provider_invoice_id: 'inv-9', payment_url: 'https://pay.example/9', expires_at: '2030-01-01T00:00:00.000Z' },
      },
      { source: 'poll', fields: { last_error: 'lookup failed: 503' } },
      { source: 'operator', fields: { reconcile: 'check at the provider' } },
      { source: 'operator', fields: { reconcile: null, last_error: null } },
      { source: 'callback', event: { kind: 'payment', id: 'tx-1', detail: { provider_status: 'partially', received_amount: '1.5' } } },
      { status: 'paid', source: 'callback', fields: { received_amount: '10.00', received_currency: 'USDT' } },
      {
        source: 'callback',
        event: { kind: 'exception', id: 'late-1', detail: { type: 'payment_after_end', provider_status: 'paid' } },
        fields: { reconcile: 'money after the end' },
      },
    ];
    for (const change of steps) {
      const res = await store.apply('cryptoprocessing', 'h-merge', change);
      assert.equal(res.kind, 'applied', JSON.stringify(change));
      const held = await store.getById(id);
      assert.deepEqual(res.kind === 'applied' ? res.record : null, held, `after ${JSON.stringify(change)}`);
      // The indexes say what the record says, whether or not the change moved the status.
      const parked = held!.reconcile !== null;
      assert.equal(await member(keys.queued), held!.status === 'queued' && !parked, `queued index after ${JSON.stringify(change)}`);
      assert.equal(await member(keys.open), held!.status !== 'queued' && !TERMINAL.has(held!.status), `open index after ${JSON.stringify(change)}`);
      assert.equal(await member(keys.reconcile), parked, `reconcile index after ${JSON.stringify(change)}`);
    }
  });

  it('a record whose history began in the older list reads as one history', async () => {
    const id = await accepted('h-2');
    const early = { at: '2026-01-01T00:00:00.000Z', from: null, to: 'queued', source: 'api' };
    await redis.hdel(store.recordKey(id), 'history');
    await redis.rpush(`${prefix}:store:hist:${id}`, JSON.stringify(early));
    await store.apply('cryptoprocessing', 'h-2', { status: 'created', source: 'create' });
    assert.deepEqual(
      (await store.history(id)).map((h) => h.to),
      ['queued', 'created'],
    );
  });

  it('builds results that match ResultSchema, and writes nothing for one that would not', async () => {
    await accepted('c-1');
    await store.apply('cryptoprocessing', 'c-1', { status: 'created', source: 'create', fields: { provider_invoice_id: '7', payment_url: 'https://pay.example/7' } });
    await store.apply('cryptoprocessing', 'c-1', { status: 'paid', source: 'callback', fields: { received_amount: '100.50', received_currency: 'EUR' } });
    const exception = { kind: 'exception' as const, id: 'p1', detail: { type: 'payment_after_end', provider_status: 'confirmed', received_amount: '1.00' } };
    await store.apply('cryptoprocessing', 'c-1', { source: 'callback', event: exception });
    const ofC1 = async () => (await store.outboxEntries()).filter((e) => e.data.foreign_id === 'c-1');
    const built = await ofC1();
    assert.deepEqual(
      built.map((e) => e.name),
      ['created', 'paid', 'paid'],
    );
    for (const e of built) assert.deepEqual(ResultSchema.parse(e.data), e.data, `${e.jobId} matches the contract as built`);

    // An exception without the provider status the contract requires is refused before anything is written.
    const before = await store.get('cryptoprocessing', 'c-1');
    const broken = { kind: 'exception' as const, id: 'p2', detail: { type: 'payment_after_end' } };
    await assert.rejects(store.apply('cryptoprocessing', 'c-1', { source: 'callback', event: broken }), /ResultSchema: exception\.provider_status/);
    assert.equal((await store.get('cryptoprocessing', 'c-1'))?.version, before?.version, 'record unchanged');
    assert.equal((await ofC1()).length, 3, 'nothing queued for publication');
  });

  it('takes an invoice out of the open index exactly at the statuses state.ts calls terminal', async () => {
    for (const status of STATUSES.filter((s) => s !== 'queued')) {
      const id = `t-${status}`;
      await accepted(id);
      if (status !== 'created' && status !== 'rejected') await store.apply('cryptoprocessing', id, { status: 'created', source: 'test' });
      const applied = await store.apply('cryptoprocessing', id, { status, source: 'test' });
      assert.equal(applied.kind, 'applied', status);
    }
    const open = new Set((await store.openPage(0, 1000)).ids);
    for (const status of STATUSES.filter((s) => s !== 'queued')) {
      assert.equal(open.has(`cryptoprocessing.r.t-${status}`), !TERMINAL.has(status), `${status}: open index agrees with TERMINAL`);
    }
  });

  it('counts under the compare-and-set: two racing increments from one stale copy both count', async () => {
    await accepted('r-1');
    const known = (await store.get('cryptoprocessing', 'r-1'))!;
    const bump = () => store.apply('cryptoprocessing', 'r-1', { source: 'create', fields: (r) => ({ rate_limited_hits: r.rate_limited_hits + 1 }) }, { known });
    await Promise.all([bump(), bump()]);
    assert.equal((await store.get('cryptoprocessing', 'r-1'))?.rate_limited_hits, 2);
  });
});
