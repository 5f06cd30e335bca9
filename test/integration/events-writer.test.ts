/**
 * The webhook's event writer on a real Redis: callbacks that arrive together are stored in one
 * pipelined round trip, each caller gets its own job id, the same message twice is one job, and
 * when Redis refuses the batch every caller in it learns so: the webhook answers 503 and nothing
 * is acknowledged that was not stored (DESIGN guarantee: a callback answered 200 is stored).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createEventsQueue, eventJobId, type EventJob, type EventsQueue } from '../../queues/events.ts';
import { EventWriter } from '../../src/http/event-writer.ts';
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts';
import { missingOnPath, startRedisServer, type LocalRedis } from '../helpers/redis-server.ts';
import { startTestSystem, type TestSystem } from '../helpers/system.ts';
import { invoiceCallback, platformHeaders, postRaw } from './track-helpers.ts';

function event(i: number, status: 'pending' | 'paid' = 'pending'): EventJob {
  return {
    v: 1,
    provider: 'cryptoprocessing',
    update: { foreignId: `ew-${i}`, providerInvoiceId: String(1000 + i), providerStatus: status, status, dedupeKey: `invoice:${1000 + i}:${status}:1` },
    received_at: new Date().toISOString(),
  };
}

/** Counts the real addBulk calls (each one pipelined write) without changing what they do. */
function countBulk(queue: EventsQueue): { calls: number[] } {
  const seen = { calls: [] as number[] };
  const real = queue.addBulk.bind(queue);
  queue.addBulk = (jobs) => {
    seen.calls.push(jobs.length);
    return real(jobs);
  };
  return seen;
}

describe('event writer', () => {
  const prefix = uniquePrefix('ew');
  let redis: Redis;
  let queue: EventsQueue;
  before(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = createEventsQueue(redis, prefix);
  });
  after(async () => {
    await queue.close();
    redis.disconnect();
    await deleteByPrefix(prefix);
  });

  it('a burst of callbacks is one pipelined addBulk; each caller gets its own job, stored with its data', async () => {
    const writer = new EventWriter(queue);
    const bulk = countBulk(queue);
    const events = Array.from({ length: 100 }, (_, i) => event(i));
    const ids = await Promise.all(events.map((e) => writer.add(e)));
    assert.deepEqual(bulk.calls, [100]);
    assert.deepEqual(
      ids,
      events.map((e) => eventJobId(e.provider, e.update.dedupeKey)),
    );
    for (const [i, id] of ids.entries()) {
      const job = await queue.getJob(id);
      assert.deepEqual(job?.data, events[i], `job ${id}`);
      assert.equal(job?.name, 'pending');
    }
  });

  it('never more than maxBatch per round trip; the same message twice in a burst is one job', async () => {
    const writer = new EventWriter(queue, 8);
    const bulk = countBulk(queue);
    const events = Array.from({ length: 20 }, (_, i) => event(200 + i, 'paid'));
    const ids = await Promise.all([...events, events[0]!].map((e) => writer.add(e)));
    assert.deepEqual(bulk.calls, [8, 8, 5]);
    assert.equal(ids[20], ids[0]);
    const counts = await queue.getJobCounts('wait');
    assert.equal(counts.wait, 120, 'the 100 above and 20 new, the duplicate not again');
  });

  it('callbacks in different turns of the event loop do not wait for each other', async () => {
    const writer = new EventWriter(queue);
    const bulk = countBulk(queue);
    const first = await writer.add(event(300));
    const second = await writer.add(event(301));
    assert.deepEqual(bulk.calls, [1, 1]);
    assert.notEqual(first, second);
  });
});

describe('Redis refusing writes (out of memory)', { skip: missingOnPath('redis-server') }, () => {
  let server: LocalRedis;
  let redis: Redis;
  let queue: EventsQueue;
  let t: TestSystem;
  before(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
    queue = createEventsQueue(redis, 'ew-oom');
    await queue.waitUntilReady();
    // The API alone, on this Redis: a callback answered 200 must be a stored job.
    t = await startTestSystem({ redisUrl: server.url, role: 'api', prefix: 'ew-api' });
  });
  after(async () => {
    await t.close();
    await queue.close();
    redis.disconnect();
    await server.stop();
  });
  const refuseWrites = (on: boolean) => server.client.config('SET', 'maxmemory', on ? '1' : '0');

  it('every caller in the batch is refused and nothing is stored', async () => {
    const writer = new EventWriter(queue);
    await refuseWrites(true);
    const results = await Promise.allSettled([event(1), event(2), event(3)].map((e) => writer.add(e)));
    await refuseWrites(false);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected', 'rejected'],
    );
    assert.match(String((results[0] as PromiseRejectedResult).reason), /OOM|maxmemory/);
    assert.equal((await redis.keys('ew-oom:invoice-events:*')).filter((k) => !k.endsWith(':meta')).length, 0);
    // Redis has room again: the provider's redelivery is stored.
    assert.equal(await writer.add(event(1)), eventJobId('cryptoprocessing', event(1).update.dedupeKey));
  });

  it('the webhook answers 503 (not 200) for a callback it could not store; the redelivery is stored', async () => {
    const body = invoiceCallback('4711', 'ew-hook', 'processing');
    const headers = platformHeaders('cryptoprocessing', body);
    await refuseWrites(true);
    const refused = await postRaw(`${t.api}/webhooks/cryptoprocessing`, body, headers);
    await refuseWrites(false);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(await t.system.eventsQueue.count(), 0);
    const again = await postRaw(`${t.api}/webhooks/cryptoprocessing`, body, headers);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const jobs = await t.system.eventsQueue.getJobs(['wait']);
    assert.deepEqual(
      jobs.map((j) => j.data.update.foreignId),
      ['ew-hook'],
    );
  });
});
