/**
 * Found by the chaos run: after a Redis crash, results owed to order systems vanished from the
 * outbox without being published (guarantee 3). The relay removed "the first N entries" after
 * publishing N; that trim is not safe to run twice or late: a trim resent after its reply was
 * lost (the client resends unanswered commands on reconnect), or one that runs after its lock
 * expired and another relay already published and trimmed, removed entries nobody published.
 * The relay must remove only the entries it published, and only while they are still there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createResultsQueue, resultJobId, type ResultsQueue } from '../../queues/results.ts';
import { OutboxRelay } from '../../src/invoice/relay.ts';
import { storeKeys } from '../../src/invoice/keys.ts';
import { InvoiceStore } from '../../src/invoice/store.ts';
import { connect, type RedisClient } from '../../src/redis/connect.ts';
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts';

const log = pino({ level: 'silent' });

function entry(foreignId: string, status: string): string {
  const jobId = resultJobId('cryptoprocessing', foreignId, status);
  return JSON.stringify({ jobId, name: status, data: { v: 1, event_id: jobId, provider: 'cryptoprocessing', foreign_id: foreignId, status } });
}

/**
 * The results queue seen through a publish step that can get stuck: the first
 * `addBulk` resolves `entered` and waits for `release()`. Counts every batch it is given.
 */
function publishStep(results: ResultsQueue): { sink: ResultsQueue; entered: Promise<void>; release: () => void; batches: number[] } {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let entered: () => void = () => {};
  const step = { entered: new Promise<void>((r) => (entered = r)), release: () => release(), batches: [] as number[] };
  const sink = new Proxy(results, {
    get(target, prop, receiver) {
      if (prop === 'addBulk') {
        return async (...args: Parameters<ResultsQueue['addBulk']>) => {
          step.batches.push(args[0].length);
          if (step.batches.length === 1) {
            entered();
            await gate;
          }
          return target.addBulk(...args);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return { ...step, sink };
}

describe('outbox relay', () => {
  let redis: RedisClient;
  let prefix: string;
  let store: InvoiceStore;
  let results: ResultsQueue;
  before(() => {
    redis = connect(REDIS_URL);
    prefix = uniquePrefix('relay');
    store = new InvoiceStore({ redis, prefix, resultId: resultJobId });
    results = createResultsQueue(redis, prefix);
  });
  after(async () => {
    await results.close();
    redis.disconnect();
    await deleteByPrefix(prefix);
  });

  describe('removes only what it published', () => {
    it('a relay that trims late (its lock ran out while it published) leaves newer entries alone', async () => {
      // Relay A gets stuck inside its publish step (a GC pause, a slow network, Redis away).
      const { sink: stuck, entered: publishing, release } = publishStep(results);
      const a = new OutboxRelay(store, stuck, log, { lockMs: 150 });
      const b = new OutboxRelay(store, results, log, { lockMs: 150 });

      await redis.rpush(storeKeys(prefix).outbox, entry('o1', 'created'), entry('o2', 'created'));
      const aDone = a.flush();
      await publishing;
      // A's lock runs out: A renews it on a timer while it publishes, so let it run out the way a
      // freeze longer than the lock would (no renewal could run), by removing it.
      await redis.del(`${storeKeys(prefix).outbox}:lock`);
      assert.equal(await b.flush(), 2, 'B publishes and removes the two entries');
      await redis.rpush(storeKeys(prefix).outbox, entry('o3', 'created'), entry('o4', 'created'));
      release();
      await aDone;

      const left = await redis.lrange(storeKeys(prefix).outbox, 0, -1);
      const published = new Set((await results.getJobs(['wait'], 0, -1)).map((j) => j.id));
      for (const id of ['o3', 'o4']) {
        const jobId = resultJobId('cryptoprocessing', id, 'created');
        assert.ok(published.has(jobId) || left.some((s) => s.includes(jobId)), `${id}: neither published nor still in the outbox (lost)`);
      }
      // And the next pass publishes them.
      await b.flush();
      const all = new Set((await results.getJobs(['wait'], 0, -1)).map((j) => j.id));
      for (const id of ['o1', 'o2', 'o3', 'o4']) assert.ok(all.has(resultJobId('cryptoprocessing', id, 'created')), `${id} published`);
      assert.equal(await redis.llen(storeKeys(prefix).outbox), 0);
    });
  });

  describe('its lock under a slow publish step', () => {
    const lockKey = (): string => `${storeKeys(prefix).outbox}:lock`;

    it('a batch slower than the lock keeps it: no second relay publishes meanwhile', async () => {
      // Under load a batch waited behind every job's commands for longer than the whole lock; the
      // lock ran out mid-pass and the relay went on without it.
      const step = publishStep(results);
      const a = new OutboxRelay(store, step.sink, log, { lockMs: 300 });
      const b = new OutboxRelay(store, results, log, { lockMs: 300 });
      await redis.rpush(storeKeys(prefix).outbox, entry('s1', 'created'), entry('s2', 'created'));
      const aDone = a.flush();
      await step.entered;
      // The lock is time-based: what is tested is that three lock-lengths later A still holds it.
      await new Promise((r) => setTimeout(r, 900));
      assert.ok((await redis.pttl(lockKey())) > 0, 'the lock is still held');
      assert.equal(await b.flush(), 0, 'B finds the lock held and publishes nothing');
      step.release();
      assert.equal(await aDone, 2);
      assert.equal(await redis.llen(storeKeys(prefix).outbox), 0);
      assert.equal(await redis.exists(lockKey()), 0, 'released at the end of the pass');
    });

    it('a relay that finds its lock taken stops after the batch in hand', async () => {
      const step = publishStep(results);
      const a = new OutboxRelay(store, step.sink, log, { batch: 10, lockMs: 5000 });
      await redis.rpush(storeKeys(prefix).outbox, ...Array.from({ length: 30 }, (_, i) => entry(`t${i}`, 'created')));
      const aDone = a.flush();
      await step.entered;
      // A's lock ran out (a freeze) and another relay holds it now.
      await redis.set(lockKey(), 'another-relay', 'PX', 5000);
      step.release();
      assert.equal(await aDone, 10, 'only the batch in hand');
      assert.equal(await redis.llen(storeKeys(prefix).outbox), 20, 'the rest is left to the lock holder');
      assert.equal(await redis.get(lockKey()), 'another-relay', "the other relay's lock is not released");
      await redis.del(lockKey());
      assert.equal(await new OutboxRelay(store, results, log).flush(), 20);
    });

    it('a backlog drains in growing batches, in order', async () => {
      const step = publishStep(results);
      step.release();
      const relay = new OutboxRelay(store, step.sink, log, { batch: 50, maxBatch: 800 });
      const ids = Array.from({ length: 2000 }, (_, i) => `g${i}`);
      await redis.rpush(storeKeys(prefix).outbox, ...ids.map((id) => entry(id, 'created')));
      assert.equal(await relay.flush(), 2000);
      // 50, 100, 200, 400, 800 and the last 450 (at a fixed 50 it would be 40 batches).
      assert.ok(step.batches.length <= 8, `batches: ${step.batches.join(', ')}`);
      assert.equal(step.batches[0], 50);
      assert.ok(Math.max(...step.batches) <= 800);
      const jobs = await results.getJobs(['wait'], 0, -1, true);
      const order = jobs.map((j) => String(j.data.foreign_id)).filter((f) => f.startsWith('g'));
      assert.deepEqual(order, ids, 'published in outbox order');
    });
  });
});
