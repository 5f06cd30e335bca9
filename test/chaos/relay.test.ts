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
import { InvoiceStore, storeKeys } from '../../src/invoice/store.ts';
import { connect, type RedisClient } from '../../src/redis.ts';
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts';

const log = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function entry(foreignId: string, status: string): string {
  const jobId = resultJobId('cryptoprocessing', foreignId, status);
  return JSON.stringify({ jobId, name: status, data: { v: 1, event_id: jobId, provider: 'cryptoprocessing', foreign_id: foreignId, status } });
}

describe('outbox relay removes only what it published', () => {
  let redis: RedisClient;
  let prefix: string;
  let store: InvoiceStore;
  let results: ResultsQueue;
  before(() => {
    redis = connect(REDIS_URL);
    prefix = uniquePrefix('relay');
    store = new InvoiceStore(redis, prefix, resultJobId);
    results = createResultsQueue(redis, prefix);
  });
  after(async () => {
    await results.close();
    redis.disconnect();
    await deleteByPrefix(prefix);
  });

  it('a relay that trims late (its lock ran out while it published) leaves newer entries alone', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let entered: () => void = () => {};
    const publishing = new Promise<void>((r) => (entered = r));
    // Relay A gets stuck inside its publish step (a GC pause, a slow network, Redis away).
    const stuck = new Proxy(results, {
      get(target, prop, receiver) {
        if (prop === 'addBulk') {
          return async (...args: Parameters<ResultsQueue['addBulk']>) => {
            entered();
            await gate;
            return target.addBulk(...args);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const a = new OutboxRelay(store, stuck, log, { lockMs: 150 });
    const b = new OutboxRelay(store, results, log, { lockMs: 150 });

    await redis.rpush(storeKeys(prefix).outbox, entry('o1', 'created'), entry('o2', 'created'));
    const aDone = a.flush();
    await publishing;
    await sleep(300); // A's lock has expired
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
