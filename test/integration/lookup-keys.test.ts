/**
 * The operator lookup keys on a real Redis (src/invoice/store.ts `writeLookup`): a provider invoice
 * id and each txid name their record once a change sets them; they carry the record's retention
 * (no expiry while it is kept, the same window once it is finished, none again when it is parked
 * again) and are gone when it is.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { resultJobId } from '../../queues/results.ts';
import { invoiceId } from '../../src/ids.ts';
import { OrderSchema, orderHash } from '../../src/invoice/order.ts';
import { lookupKey, storeKeys } from '../../src/invoice/keys.ts';
import { InvoiceStore } from '../../src/invoice/store.ts';
import { sampleOrder } from '../helpers/system.ts';
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

const LANE = 'cryptoprocessing';
const DAY_MS = 86_400_000;

describe('operator lookup keys', () => {
  const prefix = uniquePrefix('find');
  const keys = storeKeys(prefix);
  let redis: Redis;
  before(() => {
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    redis.disconnect();
    await deleteByPrefix(prefix);
  });

  async function accepted(s: InvoiceStore, foreignId: string): Promise<string> {
    const order = OrderSchema.parse(sampleOrder(LANE, foreignId));
    assert.equal(await s.accept(order, orderHash(order), 'not-a-real-secret'), 'accepted');
    return invoiceId(LANE, foreignId);
  }
  const tx = (txid: string) => JSON.stringify([{ txid, amount: '0.01', currency: 'BTC', confirmations: 1 }]);

  it('name the record once known, and follow its retention: none while kept, the same window once finished, none when parked again', async () => {
    const store = new InvoiceStore({ redis, prefix, resultId: resultJobId, recordRetentionMs: DAY_MS });
    const id = await accepted(store, 'f-1');
    assert.deepEqual(await store.lookup('pid-f-1'), [], 'nothing before the provider answered');
    await store.apply(LANE, 'f-1', { status: 'created', source: 'create', fields: { provider_invoice_id: 'pid-f-1' } });
    assert.deepEqual(await store.lookup('pid-f-1'), [id]);
    assert.equal(await redis.pttl(lookupKey(keys, 'pid', 'pid-f-1')), -1, 'open: kept');
    await store.apply(LANE, 'f-1', { status: 'pending', source: 'callback', fields: { transactions: tx('tx-f-1'), received_amount: '0.01', received_currency: 'BTC' } });
    assert.deepEqual(await store.lookup('tx-f-1'), [id]);

    await store.apply(LANE, 'f-1', { status: 'paid', source: 'callback' });
    const recordTtl = await redis.pttl(store.recordKey(id));
    for (const k of [lookupKey(keys, 'pid', 'pid-f-1'), lookupKey(keys, 'tx', 'tx-f-1')]) {
      const ttl = await redis.pttl(k);
      assert.ok(ttl > DAY_MS - 60_000 && ttl <= DAY_MS && recordTtl > DAY_MS - 60_000, `${k} expires with the record (${ttl} / ${recordTtl} ms)`);
    }

    // News after the end parks it again: the record is kept, and so are its lookup keys.
    await store.apply(LANE, 'f-1', { source: 'callback', fields: { reconcile: 'paid_after_end: more money' } });
    assert.equal(await redis.pttl(store.recordKey(id)), -1);
    assert.equal(await redis.pttl(lookupKey(keys, 'pid', 'pid-f-1')), -1);
    assert.equal(await redis.pttl(lookupKey(keys, 'tx', 'tx-f-1')), -1);
  });

  it('are gone when the finished record is', async () => {
    const store = new InvoiceStore({ redis, prefix, resultId: resultJobId, recordRetentionMs: 300 });
    const id = await accepted(store, 'f-2');
    await store.apply(LANE, 'f-2', { status: 'created', source: 'create', fields: { provider_invoice_id: 'pid-f-2' } });
    await store.apply(LANE, 'f-2', { status: 'paid', source: 'callback', fields: { transactions: tx('tx-f-2'), received_amount: '0.01', received_currency: 'BTC' } });
    assert.deepEqual(await store.lookup('tx-f-2'), [id]);
    await waitFor(async () => (await redis.exists(store.recordKey(id))) === 0, 'the record to expire');
    await waitFor(async () => (await store.lookup('pid-f-2')).length === 0 && (await store.lookup('tx-f-2')).length === 0, 'its lookup keys to go too');
  });

  it('without retention, a finished record and its keys are kept for ever', async () => {
    const store = new InvoiceStore({ redis, prefix, resultId: resultJobId });
    await accepted(store, 'f-3');
    await store.apply(LANE, 'f-3', { status: 'created', source: 'create', fields: { provider_invoice_id: 'pid-f-3' } });
    await store.apply(LANE, 'f-3', { status: 'expired', source: 'poll' });
    assert.equal(await redis.pttl(lookupKey(keys, 'pid', 'pid-f-3')), -1);
  });
});
