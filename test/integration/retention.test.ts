/**
 * Bounded retention on a real Redis: finished invoice records expire (open and parked ones never),
 * leave no index entry behind, and free their foreign_id; completed jobs go by age and by count
 * while failed ones stay for an operator; the configuration reaches every queue.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createResultsQueue, resultJobId, type InvoiceResult, type ResultsQueue } from '../../queues/results.ts';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { invoiceId } from '../../src/ids.ts';
import { OrderSchema, orderHash } from '../../src/invoice/order.ts';
import { storeKeys } from '../../src/invoice/keys.ts';
import { InvoiceStore } from '../../src/invoice/store.ts';
import { sampleOrder, startTestSystem } from '../helpers/system.ts';
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

const LANE = 'cryptoprocessing';

describe('invoice record retention', () => {
  const prefix = uniquePrefix('ret');
  const DAY_MS = 86_400_000;
  let redis: Redis;
  let store: InvoiceStore;
  before(() => {
    redis = new Redis(REDIS_URL);
    store = new InvoiceStore({ redis, prefix, resultId: resultJobId, recordRetentionMs: DAY_MS });
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

  it('an open record is kept; once terminal it expires the retention window after its last change', async () => {
    const id = await accepted(store, 'r-1');
    const key = store.recordKey(id);
    assert.equal(await redis.pttl(key), -1, 'queued: no expiry');
    await store.apply(LANE, 'r-1', { status: 'created', source: 'create', fields: { provider_invoice_id: '7' } });
    await store.apply(LANE, 'r-1', { status: 'pending', source: 'callback' });
    assert.equal(await redis.pttl(key), -1, 'open at the provider: no expiry');
    await store.apply(LANE, 'r-1', { status: 'paid', source: 'callback', fields: { received_amount: '10.00' } });
    const ttl = await redis.pttl(key);
    assert.ok(ttl > DAY_MS - 60_000 && ttl <= DAY_MS, `paid: expires in about a day (${ttl} ms)`);
    // The indexes no longer name it, so nothing is left behind when the hash goes.
    for (const idx of [storeKeys(prefix).queued, storeKeys(prefix).open, storeKeys(prefix).reconcile]) assert.equal(await redis.zscore(idx, id), null, idx);
  });

  it('a parked record never expires, also when it is parked after it ended; released, it expires again', async () => {
    const id = await accepted(store, 'r-2');
    const key = store.recordKey(id);
    await store.apply(LANE, 'r-2', { status: 'created', source: 'create' });
    await store.apply(LANE, 'r-2', { status: 'expired', source: 'deadline', fields: { inferred: 'deadline' } });
    assert.ok((await redis.pttl(key)) > 0, 'expired: has an expiry');
    // Paid after the inferred end: the record is parked for an operator (track.ts does this with an exception).
    await store.apply(LANE, 'r-2', { source: 'callback', fields: { reconcile: 'paid after an inferred end' } });
    assert.equal(await redis.pttl(key), -1, 'parked: the expiry is removed');
    assert.notEqual(await redis.zscore(storeKeys(prefix).reconcile, id), null);
    await store.apply(LANE, 'r-2', { source: 'operator', fields: { reconcile: null } });
    assert.ok((await redis.pttl(key)) > 0, 'released by an operator: expires again');
    assert.equal(await redis.zscore(storeKeys(prefix).reconcile, id), null);
  });

  it('a record parked before it was sent keeps no expiry when it ends parked', async () => {
    const id = await accepted(store, 'r-3');
    await store.apply(LANE, 'r-3', { source: 'submit', fields: { reconcile: 'outcome unknown' } });
    await store.apply(LANE, 'r-3', { status: 'failed', source: 'operator' });
    assert.equal(await redis.pttl(store.recordKey(id)), -1, 'terminal but still parked');
  });

  it('RECORD_RETENTION=0 keeps finished records for ever', async () => {
    const forever = new InvoiceStore({ redis, prefix, resultId: resultJobId });
    const id = await accepted(forever, 'r-4');
    await forever.apply(LANE, 'r-4', { status: 'rejected', source: 'create', reason: 'invalid amount' });
    assert.equal(await redis.pttl(forever.recordKey(id)), -1);
  });

  it('once expired, nothing under the store prefix names the record and its foreign_id is a new order', async () => {
    const short = new InvoiceStore({ redis, prefix, resultId: resultJobId, recordRetentionMs: 150 });
    const id = await accepted(short, 'r-5');
    await short.apply(LANE, 'r-5', { status: 'created', source: 'create' });
    await short.apply(LANE, 'r-5', { status: 'paid', source: 'callback' });
    await waitFor(async () => (await redis.exists(short.recordKey(id))) === 0, 'the record to expire');
    // The listing indexes lose the entry on the sweeper's next round (store.ts `trimListing`).
    assert.equal((await redis.zscore(short.listingIndex(LANE), id)) !== null, true, 'listed until the sweeper trims');
    assert.equal(await short.trimListing([LANE]), 2, 'its listing entry and its `paid` entry');
    const left: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:store:*`, 'COUNT', 1000);
      cursor = next;
      left.push(...keys);
    } while (cursor !== '0');
    for (const k of left) {
      const type = await redis.type(k);
      // The outbox (a list) still holds the results: no relay runs here; the relay empties it.
      if (type === 'zset') assert.equal(await redis.zscore(k, id), null, `${k} still names ${id}`);
      else if (k !== storeKeys(prefix).outbox) assert.ok(!k.includes(id), `${k} left behind`);
    }
    // The same order again: a new order (documented: like an expired idempotency key).
    await accepted(short, 'r-5');
    assert.equal((await short.get(LANE, 'r-5'))?.status, 'queued');
  });
});

describe('job retention', () => {
  const prefix = uniquePrefix('jret');
  let redis: Redis;
  let queue: ResultsQueue;
  before(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = createResultsQueue(redis, prefix, { age: 3600, count: 3 });
  });
  after(async () => {
    await queue.close();
    redis.disconnect();
    await deleteByPrefix(prefix);
  });

  it('completed results are capped by count whatever the consumer says; a failed one stays', async () => {
    const data = (n: number): InvoiceResult => ({
      v: 1,
      event_id: `e-${n}`,
      provider: 'cryptoprocessing',
      kind: 'invoice',
      foreign_id: `f-${n}`,
      status: 'created',
      previous_status: 'queued',
      provider_invoice_id: null,
      payment_url: null,
      amount: '1.00',
      currency: 'USD',
      occurred_at: new Date().toISOString(),
    });
    await queue.addBulk(Array.from({ length: 10 }, (_, n) => ({ name: 'created', data: data(n), opts: { jobId: `r-${n}` } })));
    let done = 0;
    // A consumer that would keep everything: the job's own option wins.
    const consumer = redis.duplicate();
    const worker = new Worker<InvoiceResult>(
      queue.name,
      async (job) => {
        if (job.id === 'r-4') throw new Error('consumer refused it');
      },
      { connection: consumer, prefix, removeOnComplete: { count: 1000 } },
    );
    worker.on('completed', () => done++);
    worker.on('failed', () => done++);
    try {
      await waitFor(() => Promise.resolve(done === 10), 'every result consumed');
    } finally {
      await worker.close();
      consumer.disconnect();
    }
    const counts = await queue.getJobCounts('completed', 'failed', 'wait');
    assert.deepEqual(counts, { completed: 3, failed: 1, wait: 0 });
    assert.ok(await queue.getJob('r-4'), 'the failed result stays for someone to look at');
  });

  it('the configuration reaches every queue; failed create, events and poll jobs are never removed', async () => {
    const t = await startTestSystem({
      role: 'api',
      env: {
        RESULTS_RETENTION: '2h',
        RESULTS_RETENTION_COUNT: '500',
        CREATE_RETENTION: '10m',
        CREATE_RETENTION_COUNT: '50',
        EVENTS_RETENTION: '90s',
        EVENTS_RETENTION_COUNT: '70',
        WEBHOOK_RETENTION: '3h',
        WEBHOOK_RETENTION_COUNT: '80',
        RECORD_RETENTION: '3h',
      },
    });
    try {
      const s = t.system;
      assert.deepEqual(s.resultsQueue.defaultJobOptions.removeOnComplete, { age: 7200, count: 500 });
      assert.deepEqual(s.eventsQueue.defaultJobOptions.removeOnComplete, { age: 90, count: 70 });
      assert.deepEqual(s.webhooksQueue.defaultJobOptions.removeOnComplete, { age: 10_800, count: 80 });
      for (const lane of s.lanes.values()) {
        assert.deepEqual(lane.createQueue.defaultJobOptions.removeOnComplete, { age: 600, count: 50 });
        assert.equal(lane.createQueue.defaultJobOptions.removeOnFail, false);
        assert.equal(lane.pollQueue.defaultJobOptions.removeOnFail, undefined, 'BullMQ keeps failed jobs unless told otherwise');
      }
      assert.equal(s.eventsQueue.defaultJobOptions.removeOnFail, false);
      // The record expiry reaches the store: an order taken through the API ends with a 3 h TTL.
      const res = await t.post('/v1/invoices', sampleOrder(LANE, 'cfg-1'));
      assert.equal(res.status, 202);
      await s.store.apply(LANE, 'cfg-1', { status: 'cancelled', source: 'test' });
      const ttl = await s.redis.pttl(s.store.recordKey(invoiceId(LANE, 'cfg-1')));
      assert.ok(ttl > 10_700_000 && ttl <= 10_800_000, `ttl ${ttl}`);
    } finally {
      await t.close();
    }
  });
});

describe('retention settings', () => {
  it('are durations with a unit; 0 keeps records for ever, never jobs', () => {
    const c = loadConfig({ RESULTS_RETENTION: '90s', CREATE_RETENTION: '15m', EVENTS_RETENTION: '1h', RECORD_RETENTION: '0' });
    assert.equal(c.RESULTS_RETENTION, 90);
    assert.equal(c.CREATE_RETENTION, 900);
    assert.equal(c.EVENTS_RETENTION, 3600);
    assert.equal(c.RECORD_RETENTION, 0);
    const d = loadConfig({});
    assert.deepEqual(
      [d.RESULTS_RETENTION, d.RESULTS_RETENTION_COUNT, d.CREATE_RETENTION, d.EVENTS_RETENTION, d.WEBHOOK_RETENTION, d.RECORD_RETENTION],
      [604_800, 100_000, 3600, 86_400, 691_200, 2_592_000],
    );
    for (const [name, value] of [
      ['RECORD_RETENTION', '30 days'],
      ['RECORD_RETENTION', '-1d'],
      ['RESULTS_RETENTION', '0'],
      ['RESULTS_RETENTION', '7w'],
      ['EVENTS_RETENTION_COUNT', '0'],
      ['RECORD_RETENTION', '99999d'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.field === name),
        `${name}=${value}`,
      );
    }
  });

  it('a record must outlive the jobs whose ids it derives', () => {
    assert.throws(
      () => loadConfig({ RECORD_RETENTION: '1d' }),
      (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.field === 'RECORD_RETENTION' && i.message.includes('691200')),
    );
    assert.equal(loadConfig({ RECORD_RETENTION: '5m', RESULTS_RETENTION: '3m', CREATE_RETENTION: '3m', EVENTS_RETENTION: '3m', WEBHOOK_RETENTION: '5m' }).RECORD_RETENTION, 300);
  });
});
