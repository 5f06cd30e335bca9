/**
 * The lane circuit breaker on real Redis, with a clock the test moves: closed -> open after N
 * failures in a row -> one probe at a time -> open again for twice as long -> closed on success.
 * Two breakers on one key stand for two worker processes.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Breaker } from '../../src/lanes/breaker.ts';
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts';

describe('lane circuit breaker', () => {
  const prefix = uniquePrefix('breaker');
  const redis = new Redis(REDIS_URL);
  let now = 1_000_000;
  const clock = (): number => now;
  const settings = { failures: 3, openMs: 1000, maxMs: 3000, probeStaleMs: 30_000 };
  after(async () => {
    await deleteByPrefix(prefix);
    redis.disconnect();
  });

  it('opens after failures in a row, probes one at a time, backs off, and closes on success', async () => {
    const key = `${prefix}:b1`;
    const a = new Breaker(redis, key, settings, clock);
    const b = new Breaker(redis, key, settings, clock);

    assert.deepEqual(await a.gate(), { kind: 'pass', failures: 0 });
    assert.deepEqual(await a.failure(false), { kind: 'counted', failures: 1 });
    // An answer in between resets the count: only failures in a row open it.
    assert.equal(await b.success(false), 'closed');
    assert.deepEqual(await a.gate(), { kind: 'pass', failures: 0 });
    await a.failure(false);
    await b.failure(false);
    assert.deepEqual(await a.failure(false), { kind: 'open', ms: 1000, opened: true });
    assert.equal((await a.status()).state, 'open');

    // Open: nothing passes, in either process, until the interval is over.
    now += 400;
    assert.deepEqual(await b.gate(), { kind: 'wait', ms: 600 });
    // A request that was in flight when it opened neither closes nor reopens it.
    assert.equal((await a.failure(false)).kind, 'open');
    assert.equal(await a.success(false), 'ignored');
    assert.equal((await a.status()).state, 'open');

    // Then exactly one probe; the other process waits.
    now += 600;
    assert.deepEqual(await a.gate(), { kind: 'probe' });
    assert.equal((await b.gate()).kind, 'wait');
    // The probe fails: open again, twice as long.
    assert.deepEqual(await a.failure(true), { kind: 'open', ms: 2000, opened: false });
    now += 1999;
    assert.equal((await b.gate()).kind, 'wait');
    now += 1;
    assert.deepEqual(await b.gate(), { kind: 'probe' });
    // Failing again: capped at maxMs.
    assert.deepEqual(await b.failure(true), { kind: 'open', ms: 3000, opened: false });
    now += 3000;
    assert.deepEqual(await a.gate(), { kind: 'probe' });
    assert.equal(await a.success(true), 'half-open');
    assert.deepEqual(await b.gate(), { kind: 'pass', failures: 0 });
    assert.equal((await a.status()).state, 'closed');
  });

  it('a process takes a closed breaker as closed for 250 ms without asking again; its own failure asks at once', async () => {
    const key = `${prefix}:b-cache`;
    const a = new Breaker(redis, key, settings, clock);
    const b = new Breaker(redis, key, settings, clock);
    assert.deepEqual(await a.gate(), { kind: 'pass', failures: 0 });
    // Another process opens it.
    for (let i = 0; i < 3; i++) await b.failure(false);
    assert.equal((await b.status()).state, 'open');
    now += 249;
    assert.deepEqual(await a.gate(), { kind: 'pass', failures: 0 }, 'within 250 ms of finding it closed');
    now += 1;
    assert.equal((await a.gate()).kind, 'wait', 'seen open once that is over');
    // Closed again; a failure this process sees drops what it remembered.
    now += 1000;
    assert.deepEqual(await a.gate(), { kind: 'probe' });
    assert.equal(await a.success(true), 'half-open');
    assert.deepEqual(await a.gate(), { kind: 'pass', failures: 0 });
    assert.deepEqual(await a.failure(false), { kind: 'counted', failures: 1 });
    for (let i = 0; i < 2; i++) await b.failure(false);
    assert.equal((await a.gate()).kind, 'wait', 'asked again at once after its own failure');
  });

  it('a probe that dies with its worker is replaced; a probe that sent nothing hands on at once', async () => {
    const key = `${prefix}:b2`;
    const a = new Breaker(redis, key, settings, clock);
    for (let i = 0; i < 3; i++) await a.failure(false);
    now += 1000;
    assert.deepEqual(await a.gate(), { kind: 'probe' });
    assert.equal((await a.gate()).kind, 'wait');
    await a.release();
    assert.deepEqual(await a.gate(), { kind: 'probe' }, 'released: the next order probes');
    // This probe never reports back: after probeStaleMs another takes its place.
    now += settings.probeStaleMs;
    assert.equal((await a.gate()).kind, 'wait');
    now += 1;
    assert.deepEqual(await a.gate(), { kind: 'probe' });
  });

  it('concurrent gates on an expired open breaker hand out one probe', async () => {
    const key = `${prefix}:b3`;
    const breakers = Array.from({ length: 20 }, () => new Breaker(redis, key, settings, clock));
    for (let i = 0; i < 3; i++) await breakers[0]!.failure(false);
    now += 1000;
    const gates = await Promise.all(breakers.map((x) => x.gate()));
    assert.equal(gates.filter((g) => g.kind === 'probe').length, 1);
    assert.equal(gates.filter((g) => g.kind === 'wait').length, 19);
  });
});
