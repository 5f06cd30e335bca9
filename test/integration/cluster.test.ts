/**
 * The create pipeline on a real Redis Cluster (three masters from `redis-server`, started here on
 * free loopback ports): API, store Lua scripts, BullMQ and the outbox relay, all through a
 * `redis+cluster://` URL and a hash-tagged queue prefix.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from 'ioredis';
import { ResultSchema } from '../../queues/results.ts';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { connect } from '../../src/redis/connect.ts';
import { clusterUnavailable, startRedisCluster, type LocalCluster } from '../helpers/redis-cluster.ts';
import { uniquePrefix } from '../helpers/redis.ts';
import { sampleOrder, samplePaymentRequest, startTestSystem, type TestSystem } from '../helpers/system.ts';

const PER_CONNECTOR = 25;

function orders(tag: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < PER_CONNECTOR; i++) {
    out.push(sampleOrder('cryptoprocessing', `${tag}-cp-${i}`));
    out.push(samplePaymentRequest('cryptoprocessing', `${tag}-pr-${i}`));
    out.push(sampleOrder('alphapo', `${tag}-ap-${i}`));
    out.push(sampleOrder('cryptosteroid', `${tag}-cs-${i}`));
  }
  return out;
}

describe('create pipeline on a Redis Cluster', { skip: clusterUnavailable() }, () => {
  let cluster: LocalCluster;
  let t: TestSystem;
  const prefix = `{${uniquePrefix('cluster')}}`;

  before(async () => {
    cluster = await startRedisCluster(3);
    t = await startTestSystem({ redisUrl: cluster.url, prefix });
  });
  after(async () => {
    await t?.close();
    await cluster?.stop();
  });

  it('connects through a redis+cluster:// URL, and the config refuses a prefix without a {hash tag} there', () => {
    assert.ok(t.system.redis instanceof Cluster);
    assert.throws(
      () => loadConfig({ REDIS_URL: cluster.url, QUEUE_PREFIX: 'iw' }),
      (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.field === 'QUEUE_PREFIX'),
    );
    assert.equal(loadConfig({ REDIS_URL: cluster.url, QUEUE_PREFIX: '{iw}' }).REDIS_URL, cluster.url);
  });

  it('a batch across all four connectors: one created result per order, each invoice created once', async () => {
    const batch = orders('c1');
    const res = await t.post('/v1/invoices/batch', { orders: batch });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
    assert.equal(res.body.counts.accepted, batch.length);

    // Created results only: a transition after `created` (e.g. CryptoSteroid's `pending` once a
    // payment method is set) is a result of its own.
    const created = async () => (await t.results()).filter((r) => r.status === 'created');
    const results = await t.waitFor(
      async () => {
        const all = await created();
        return all.length >= batch.length ? all : null;
      },
      `${batch.length} created results`,
      25_000,
    );
    assert.equal(results.length, batch.length, 'one created result per order, no more');
    const seen = new Map<string, number>();
    for (const r of results) {
      ResultSchema.parse(r);
      const key = `${r.provider}/${r.kind}/${r.foreign_id}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    for (const o of batch) {
      const provider = o.provider as 'cryptoprocessing' | 'alphapo' | 'cryptosteroid';
      const kind = (o.kind as 'invoice' | 'payment_request' | undefined) ?? 'invoice';
      assert.equal(seen.get(`${provider}/${kind}/${o.foreign_id as string}`), 1, `one created result for ${String(o.foreign_id)}`);
      assert.equal(t.sandbox.count(provider, o.foreign_id as string, kind), 1, `one invoice at the provider for ${String(o.foreign_id)}`);
    }

    const view = await t.get('/v1/invoices/alphapo/c1-ap-0');
    assert.equal(view.status, 200);
    assert.deepEqual(
      view.body.history.map((h: { to: string }) => h.to),
      ['queued', 'created'],
    );
  });

  it('the same batch again is answered as existing: no new create job, no second created result', async () => {
    const batch = orders('c1');
    const jobsBefore = await t.system.lane('alphapo').createQueue.getJobCountByTypes('completed', 'wait', 'active', 'delayed', 'failed');
    const res = await t.post('/v1/invoices/batch', { orders: batch });
    assert.equal(res.status, 200);
    assert.equal(res.body.counts.existing, batch.length);
    assert.equal(await t.system.lane('alphapo').createQueue.getJobCountByTypes('completed', 'wait', 'active', 'delayed', 'failed'), jobsBefore);
    assert.equal((await t.results()).filter((r) => r.status === 'created').length, batch.length);
  });

  it('every key of the prefix lives in one slot, on one master (what the multi-key scripts need)', async () => {
    const admin = connect(cluster.url);
    assert.ok(admin instanceof Cluster);
    try {
      await new Promise<void>((resolve, reject) => {
        admin.once('ready', resolve);
        admin.once('error', reject);
      });
      const slots = new Set<number>();
      const holders: string[] = [];
      for (const node of admin.nodes('master')) {
        let cursor = '0';
        let found = 0;
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          cursor = next;
          found += keys.length;
          for (const k of keys.slice(0, 20)) slots.add(Number(await node.call('CLUSTER', 'KEYSLOT', k)));
        } while (cursor !== '0');
        if (found) holders.push(`${node.options.host}:${node.options.port}`);
      }
      assert.equal(holders.length, 1, `keys on ${holders.join(', ')}`);
      assert.equal(slots.size, 1);
    } finally {
      admin.disconnect();
    }
  });

  it("with a hash tag per lane, each lane's keys sit in a slot of their own and lanes spread over the masters", async () => {
    // The shipped prefix: with it the three default lanes' tags ({iw.cryptoprocessing}, {iw.alphapo},
    // {iw.cryptosteroid}) hash to slots 2872, 13900 and 10241, one on each master of an even split.
    // (A random prefix would land them on one master one time in nine.) The cluster is this test's own.
    const lanePrefix = '{iw}';
    const tagged = await startTestSystem({ redisUrl: cluster.url, prefix: lanePrefix, env: { LANE_HASH_TAGS: 'true' } });
    const admin = connect(cluster.url);
    assert.ok(admin instanceof Cluster);
    try {
      const batch = orders('lanes').filter((_, i) => i % 4 !== 1);
      assert.equal((await tagged.post('/v1/invoices/batch', { orders: batch })).body.counts.accepted, batch.length);
      await tagged.waitFor(async () => (await tagged.results()).filter((r) => r.status === 'created').length >= batch.length, 'every order created', 25_000);
      await new Promise<void>((resolve, reject) => {
        if (admin.status === 'ready') resolve();
        admin.once('ready', resolve);
        admin.once('error', reject);
      });
      // Which master serves each slot.
      const ranges = (await admin.cluster('SLOTS')) as unknown as Array<[number, number, [string, number]]>;
      const masterOf = (slot: number): string => {
        const r = ranges.find(([from, to]) => slot >= from && slot <= to);
        return r ? `${r[2][0]}:${r[2][1]}` : 'none';
      };
      const where = new Map<string, string>();
      for (const lane of tagged.system.lanes.values()) {
        assert.notEqual(lane.prefix, lanePrefix, `${lane.key} has a prefix of its own`);
        const record = tagged.system.store.recordKey(`${lane.key}.r.lanes-x`);
        const keys = [record, lane.createQueue.toKey('wait'), lane.pollQueue.toKey('delayed'), `${lane.prefix}:store:outbox`];
        const slotOf = async (k: string): Promise<number> => Number(await admin.nodes('master')[0]!.call('CLUSTER', 'KEYSLOT', k));
        const slots: Set<number> = new Set(await Promise.all(keys.map(slotOf)));
        assert.equal(slots.size, 1, `${lane.key}: record, queues and outbox share one slot`);
        where.set(lane.key, masterOf([...slots][0]!));
        // Its records really are there.
        const node = admin.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === where.get(lane.key));
        assert.ok(node, `the master of ${lane.key}`);
        const [, found] = await node.scan('0', 'MATCH', `${lane.prefix}:store:inv:*`, 'COUNT', 10_000);
        assert.ok(found.length > 0, `${lane.key}'s records are on ${where.get(lane.key)}`);
      }
      assert.equal(new Set(where.values()).size, 3, `lanes on ${JSON.stringify(Object.fromEntries(where))}`);
    } finally {
      admin.disconnect();
      await tagged.close();
    }
  });
});
