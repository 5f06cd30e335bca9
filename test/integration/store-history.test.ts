/**
 * The invoice history on a real Redis: one JSON line per transition in the record itself, read
 * back in order; a record whose history began in the older list of its own reads as one history.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { resultJobId } from '../../queues/results.ts';
import { invoiceId } from '../../src/ids.ts';
import { OrderSchema, orderHash } from '../../src/invoice/order.ts';
import { InvoiceStore } from '../../src/invoice/store.ts';
import { sampleOrder } from '../helpers/system.ts';
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts';

describe('invoice history', () => {
  const prefix = uniquePrefix('hist');
  let redis: Redis;
  let store: InvoiceStore;
  before(() => {
    redis = new Redis(REDIS_URL);
    store = new InvoiceStore(redis, prefix, resultJobId);
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
});
