/**
 * A Redis that cannot serve for now (a replica after a failover, memory full, a connection down)
 * is a 503 with Retry-After from the API, never a 500: nothing was acknowledged and the same order
 * again is safe. The errors are the real ones, from real Redis servers and ioredis clients.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, connect as connectTcp, type Server as NetServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { redisUnavailable } from '../../src/errors.ts';
import { freePort } from '../helpers/ports.ts';
import { missingOnPath, startRedisServer, type LocalRedis } from '../helpers/redis-server.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

const skip = missingOnPath('redis-server');

/** The error a promise rejects with. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

describe('Redis unavailable: 503 with Retry-After, never 500', { skip }, () => {
  let redis: LocalRedis;
  let other: LocalRedis;
  let t: TestSystem;
  before(async () => {
    redis = await startRedisServer();
    other = await startRedisServer();
    t = await startTestSystem({ redisUrl: redis.url, role: 'api' });
  });
  after(async () => {
    await t?.close();
    await redis?.stop();
    await other?.stop();
  });

  async function refusedFor(what: string, foreignId: string): Promise<void> {
    const res = await fetch(`${t.api}/v1/invoices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sampleOrder('cryptoprocessing', foreignId)),
    });
    const body = (await res.json()) as { error: string };
    assert.equal(res.status, 503, `${what}: ${res.status} ${JSON.stringify(body)}`);
    assert.equal(res.headers.get('retry-after'), '1', `${what}: Retry-After`);
    assert.equal(body.error, 'unavailable');
    const batch = await t.post('/v1/invoices/batch', { orders: [sampleOrder('alphapo', `${foreignId}-b`)] });
    assert.equal(batch.status, 503, `${what}, batch: ${batch.status}`);
  }

  it('a primary turned replica (READONLY, as after a failover) and back', async () => {
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'ro-0'))).status, 202);
    await redis.client.replicaof('127.0.0.1', other.port);
    await refusedFor('READONLY', 'ro-1');
    assert.ok(
      t.logs.some((l) => l.includes('Redis unavailable') && l.includes('READONLY')),
      'logged as unavailable, with the reply',
    );
    assert.ok(!t.logs.some((l) => l.includes('"request failed"')), 'no internal error logged');
    await redis.client.replicaof('NO', 'ONE');
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'ro-1'))).status, 202, 'promoted again: accepted');
  });

  it('memory full (OOM under noeviction)', async () => {
    await redis.client.config('SET', 'maxmemory', '1');
    try {
      await refusedFor('OOM', 'oom-1');
    } finally {
      await redis.client.config('SET', 'maxmemory', '0');
    }
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'oom-1'))).status, 202);
  });
});

describe('Redis frozen (SIGSTOP): 503 with Retry-After within REDIS_UNAVAILABLE_MS, nothing accepted lost', { skip, timeout: 120_000 }, () => {
  let redis: LocalRedis;
  let t: TestSystem;
  before(async () => {
    redis = await startRedisServer();
    t = await startTestSystem({ redisUrl: redis.url });
  });
  after(async () => {
    if (redis) process.kill(redis.pid, 'SIGCONT');
    await t?.close();
    await redis?.stop();
  });

  /** POST an order; never waits past 15 s (a hang fails the test instead of stalling it). */
  async function order(foreignId: string): Promise<{ id: string; status: number; retryAfter: string | null; ms: number }> {
    const started = performance.now();
    const res = await fetch(`${t.api}/v1/invoices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sampleOrder('cryptoprocessing', foreignId)),
      signal: AbortSignal.timeout(15_000),
    });
    await res.arrayBuffer();
    return { id: foreignId, status: res.status, retryAfter: res.headers.get('retry-after'), ms: Math.round(performance.now() - started) };
  }

  it('orders and callbacks get 503 with Retry-After while it is frozen; after SIGCONT it recovers and every 202 order exists and is created', async () => {
    assert.equal((await order('frz-0')).status, 202);
    process.kill(redis.pid, 'SIGSTOP');
    const answers = [];
    try {
      // Orders through the outage: the first wait on Redis and are cut at the deadline, later ones are refused at once.
      const pending = [];
      for (let i = 1; i <= 8; i++) {
        pending.push(order(`frz-${i}`));
        await new Promise((r) => setTimeout(r, 150));
      }
      answers.push(...(await Promise.all(pending)));
      answers.push(await order('frz-9'));
      const callback = await fetch(`${t.api}/webhooks/cryptoprocessing`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"id":"x"}',
        signal: AbortSignal.timeout(15_000),
      });
      assert.equal(callback.status, 503, 'a provider callback is refused too (the provider sends it again)');
      assert.equal(callback.headers.get('retry-after'), '1');
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
    console.log(`# answers while frozen: ${answers.map((a) => `${a.status} in ${a.ms} ms`).join(', ')}`);
    for (const a of answers) {
      assert.ok(a.status === 503 || a.status === 202, `${a.id}: ${a.status}`);
      if (a.status === 503) assert.equal(a.retryAfter, '1', `${a.id}: Retry-After`);
      // Generous: the point is that nothing waits for the outage to end.
      assert.ok(a.ms < 10_000, `${a.id} answered in ${a.ms} ms`);
    }
    assert.ok(answers.filter((a) => a.status === 503).length >= answers.length - 1, 'refused while frozen');

    // Back: accepted again, and every order that got a 202 exists and is worked on.
    await t.waitFor(async () => (await order('frz-10')).status === 202, 'accepting again', 30_000);
    const accepted = ['frz-0', 'frz-10', ...answers.filter((a) => a.status === 202).map((a) => a.id)];
    for (const id of accepted) {
      await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', id))?.status === 'created', `${id} created`, 30_000);
    }
    // A request cut at the deadline may still have been applied once Redis was back: then whole
    // (its create job too), never half: every record there is gets created.
    for (const a of answers) {
      const rec = await t.system.store.get('cryptoprocessing', a.id);
      if (rec) await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', a.id))?.status === 'created', `${a.id} (late) created`, 30_000);
    }
    const lines = t.logs.filter((l) => l.includes('Redis is not answering'));
    assert.equal(lines.length, 1, 'the outage is logged once (then once per interval), not once per request');
    assert.ok(
      t.logs.some((l) => l.includes('Redis answering again')),
      'and its end',
    );
    assert.ok(!t.logs.some((l) => l.includes('"request failed"')), 'no internal error');
  });
});

describe('Redis unreachable (connections refused, then back): 503 with Retry-After, nothing accepted lost', { skip, timeout: 120_000 }, () => {
  let redis: LocalRedis;
  let t: TestSystem;
  // A TCP relay between the system and Redis: closing it is Redis going away (every connection
  // reset, new ones refused) without losing Redis' data; listening again is Redis back.
  let relay: NetServer;
  let relayPort: number;
  const sockets = new Set<Socket>();
  const listen = () => new Promise<void>((resolve) => relay.listen(relayPort, '127.0.0.1', resolve));
  before(async () => {
    redis = await startRedisServer();
    relayPort = await freePort();
    relay = createNetServer((client) => {
      const upstream = connectTcp(redis.port, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await listen();
    // A job whose move to active lost its answer in the cut stays active until its lock runs out and
    // the stalled check puts it back (nothing is lost, it is late): short locks here, so it is seconds.
    t = await startTestSystem({ redisUrl: `redis://127.0.0.1:${relayPort}`, env: { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000' } });
  });
  after(async () => {
    await t?.close();
    relay?.close();
    for (const s of sockets) s.destroy();
    await redis?.stop();
  });

  it('while no connection gets through, orders get 503 within about 2 s; once it is back every 202 order is created', async () => {
    const post = async (foreignId: string) => {
      const started = performance.now();
      const res = await fetch(`${t.api}/v1/invoices`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(sampleOrder('alphapo', foreignId)),
        signal: AbortSignal.timeout(15_000),
      });
      await res.arrayBuffer();
      return { id: foreignId, status: res.status, retryAfter: res.headers.get('retry-after'), ms: Math.round(performance.now() - started) };
    };
    assert.equal((await post('down-0')).status, 202);
    await new Promise<void>((resolve) => {
      relay.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    const answers = [];
    try {
      for (let i = 1; i <= 4; i++) answers.push(await post(`down-${i}`));
    } finally {
      await listen();
    }
    console.log(`# answers while unreachable: ${answers.map((a) => `${a.status} in ${a.ms} ms`).join(', ')}`);
    for (const a of answers) {
      assert.equal(a.status, 503, `${a.id}`);
      assert.equal(a.retryAfter, '1');
      assert.ok(a.ms < 10_000, `${a.id} answered in ${a.ms} ms`);
    }
    await t.waitFor(async () => (await post('down-5')).status === 202, 'accepting again', 30_000);
    for (const id of ['down-0', 'down-5']) {
      await t.waitFor(async () => (await t.system.store.get('alphapo', id))?.status === 'created', `${id} created`, 30_000);
    }
    // Cut at the deadline while their commands waited for a connection: applied whole once it was back, or not at all.
    for (const a of answers) {
      if (await t.system.store.get('alphapo', a.id)) {
        await t.waitFor(async () => (await t.system.store.get('alphapo', a.id))?.status === 'created', `${a.id} (late) created`, 30_000);
      }
    }
    assert.ok(!t.logs.some((l) => l.includes('"request failed"')), 'no internal error');
  });
});

describe('which errors mean "Redis unavailable"', { skip }, () => {
  let redis: LocalRedis;
  before(async () => {
    // DEBUG ERROR makes the server answer with exactly the error reply it is given.
    redis = await startRedisServer({ args: ['--enable-debug-command', 'yes'] });
  });
  after(async () => {
    await redis?.stop();
  });

  it('ioredis errors of a connection that is down, closed or retrying; not our bugs or bad commands', async () => {
    const dead = await freePort();
    const retrying = new Redis({ port: dead, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    retrying.on('error', () => undefined);
    const offline = new Redis({ port: dead, host: '127.0.0.1', enableOfflineQueue: false, retryStrategy: () => 50 });
    offline.on('error', () => undefined);
    const closed = new Redis(redis.url);
    await closed.ping();
    closed.disconnect();
    const live = new Redis(redis.url);
    try {
      const errors = {
        maxRetries: await rejection(retrying.get('k')),
        offline: await rejection(offline.get('k')),
        closed: await rejection(closed.get('k')),
        busyLoading: await rejection(live.call('DEBUG', 'ERROR', 'LOADING Redis is loading the dataset in memory')),
        masterDown: await rejection(live.call('DEBUG', 'ERROR', 'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no')),
        wrapped: new Error('job failed', { cause: await rejection(retrying.get('k')) }),
      };
      for (const [what, err] of Object.entries(errors)) assert.ok(redisUnavailable(err), `${what}: ${String(err)}`);
      await live.set('a-string', 'x');
      const notUnavailable = {
        wrongType: await rejection(live.lpush('a-string', 'x')),
        unknownCommand: await rejection(live.call('NO-SUCH-COMMAND')),
        bug: new TypeError("Cannot read properties of undefined (reading 'status')"),
        notAnError: 'READONLY',
      };
      for (const [what, err] of Object.entries(notUnavailable)) assert.equal(redisUnavailable(err), false, `${what}: ${String(err)}`);
    } finally {
      await live.del('a-string');
      for (const c of [retrying, offline, closed, live]) c.disconnect();
    }
  });
});
