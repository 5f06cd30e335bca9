/**
 * Durability mode (`DURABILITY=replica`, src/redis/durability.ts) across a primary crash: a primary and a
 * replica on loopback ports, the API and a worker as processes of their own on the primary; many
 * orders posted (one at a time and in batches), the primary SIGKILLed right after the last answer,
 * the replica promoted. Every order answered 202 must be on the promoted replica, and a system
 * started on it must create each at the provider once, never twice.
 *
 * Then what WAIT is for, made deterministic: the replica's link is held (a proxy stops passing the
 * primary's stream on), so nothing written after that reaches the replica. Without durability the
 * API still answers 202 and those orders are gone after the crash; with it, the API refuses them
 * (no 202) instead. Without the held link the loss would be a race on loopback (replication takes
 * microseconds), hence no "fails without durability" run of the first test.
 *
 * Last, Sentinel: API and workers on a `redis+sentinel://` URL keep working across a failover the
 * sentinels carry out (primary SIGKILLed, a replica promoted, the other re-pointed at it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { resultJobId } from '../../queues/results.ts';
import { loadConfig } from '../../src/config.ts';
import { Durability, DurabilityShortfall } from '../../src/redis/durability.ts';
import { ConfigError } from '../../src/errors.ts';
import type { InvoiceRecord } from '../../src/invoice/record.ts';
import { InvoiceStore } from '../../src/invoice/store.ts';
import { parseSentinelUrl } from '../../src/redis/connect.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { freePort } from '../helpers/ports.ts';
import { inSync, promote, redisGroup, replicaUnavailable, sentinelPrimary, startLinkProxy, startReplicated, startSentinels, type RedisGroup } from '../helpers/redis-replica.ts';
import { uniquePrefix } from '../helpers/redis.ts';
import { sampleOrder, samplePaymentRequest, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { startWorkerProcess, workerEnv, type WorkerProcess } from '../helpers/worker-process.ts';

type Provider = 'cryptoprocessing' | 'alphapo' | 'cryptosteroid';
interface Sent {
  provider: Provider;
  kind: 'invoice' | 'payment_request';
  foreign_id: string;
}

function orderFor(tag: string, i: number): { body: Record<string, unknown>; sent: Sent } {
  const id = `${tag}-${i}`;
  switch (i % 4) {
    case 0:
      return { body: sampleOrder('cryptoprocessing', id), sent: { provider: 'cryptoprocessing', kind: 'invoice', foreign_id: id } };
    case 1:
      return { body: samplePaymentRequest('cryptoprocessing', id), sent: { provider: 'cryptoprocessing', kind: 'payment_request', foreign_id: id } };
    case 2:
      return { body: sampleOrder('alphapo', id), sent: { provider: 'alphapo', kind: 'invoice', foreign_id: id } };
    default:
      return { body: sampleOrder('cryptosteroid', id), sent: { provider: 'cryptosteroid', kind: 'invoice', foreign_id: id } };
  }
}

async function postJson(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/**
 * Posts `count` orders: half one at a time (8 in flight), half in batches of 20 (2 in flight), all
 * at once. Returns the orders acknowledged: answered 202, or `accepted` in a batch's 200.
 */
async function load(api: string, tag: string, count: number): Promise<{ acked: Sent[]; refused: number }> {
  const acked: Sent[] = [];
  let refused = 0;
  const singles = Array.from({ length: Math.ceil(count / 2) }, (_, i) => orderFor(tag, i));
  const batched = Array.from({ length: Math.floor(count / 2) }, (_, i) => orderFor(tag, singles.length + i));
  const batches: Array<typeof batched> = [];
  for (let i = 0; i < batched.length; i += 20) batches.push(batched.slice(i, i + 20));
  const single = async (): Promise<void> => {
    for (let o = singles.shift(); o; o = singles.shift()) {
      const res = await postJson(`${api}/v1/invoices`, o.body);
      if (res.status === 202) acked.push(o.sent);
      else refused++;
    }
  };
  const batch = async (): Promise<void> => {
    for (let b = batches.shift(); b; b = batches.shift()) {
      const res = await postJson(`${api}/v1/invoices/batch`, { orders: b.map((o) => o.body) });
      if (res.status !== 200) {
        refused += b.length;
        continue;
      }
      for (const r of res.body.results as Array<{ index: number; outcome: string }>) {
        if (r.outcome === 'accepted') acked.push(b[r.index]!.sent);
        else refused++;
      }
    }
  };
  await Promise.all([...Array.from({ length: 8 }, () => single()), batch(), batch()]);
  return { acked, refused };
}

async function ready(url: string, what: string, proc?: WorkerProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc && proc.child.exitCode !== null) throw new Error(`${what} exited:\n${proc.output().slice(-3000)}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${proc ? `:\n${proc.output().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The records of `orders` under `prefix` on `client` (null where there is none). */
async function records(client: Redis, prefix: string, orders: Sent[]): Promise<Array<InvoiceRecord | null>> {
  const store = new InvoiceStore({ redis: client, prefix, resultId: resultJobId });
  return Promise.all(orders.map((o) => store.get(o.provider, o.foreign_id)));
}

/** Waits until every order has left `queued` (or is parked), then checks: at most one invoice at the provider each, exactly one unless parked. */
async function createdOnce(t: TestSystem, sandbox: Sandbox, orders: Sent[], timeoutMs = 30_000): Promise<{ created: number; parked: number }> {
  const settled = await t.waitFor(
    async () => {
      const recs = await Promise.all(orders.map((o) => t.system.store.get(o.provider, o.foreign_id)));
      return recs.every((r) => r && (r.status !== 'queued' || r.reconcile)) ? recs : null;
    },
    `${orders.length} orders to be created (or parked)`,
    timeoutMs,
  );
  let parked = 0;
  orders.forEach((o, i) => {
    const n = sandbox.count(o.provider, o.foreign_id, o.kind);
    const rec = settled[i]!;
    assert.ok(n <= 1, `${o.provider}/${o.foreign_id}: ${n} invoices at the provider`);
    if (rec.reconcile) parked++;
    // Only an order parked for reconciliation may lack its invoice (its request may or may not have gone out).
    else assert.equal(n, 1, `${o.provider}/${o.foreign_id} (${rec.status}) is at the provider once`);
  });
  return { created: orders.length - parked, parked };
}

describe('durability mode: the primary SIGKILLed right after the last 202', { skip: replicaUnavailable() }, () => {
  let group: RedisGroup | undefined;
  let sandbox: Sandbox;
  let recovered: TestSystem | undefined;
  const procs: WorkerProcess[] = [];
  before(async () => {
    sandbox = await startSandbox({ port: 0, latencyMs: 20, cryptosteroidNewCap: 100_000 });
  });
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) await p.kill('SIGKILL');
    await recovered?.close();
    await group?.stop();
    await sandbox?.close();
  });

  it('every order answered 202 is on the promoted replica, and each is created once at the provider, none twice', async (t) => {
    const set = await startReplicated(1);
    group = set.group;
    const { primary } = set;
    const replica = set.replicas[0]!;
    const prefix = uniquePrefix('durable');
    const apiPort = await freePort();
    const env = workerEnv(sandbox, prefix, {
      REDIS_URL: primary.url,
      DURABILITY: 'replica',
      DURABILITY_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'warn',
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`,
      CREATE_CONCURRENCY: '20',
    });
    const api = startWorkerProcess(env, 'api');
    const opsPort = await freePort();
    const worker = startWorkerProcess({ ...env, OPS_PORT: String(opsPort) }, 'worker');
    procs.push(api, worker);
    await ready(`http://127.0.0.1:${apiPort}`, 'the API', api);
    await ready(`http://127.0.0.1:${opsPort}`, 'the worker', worker);

    // The worker creates invoices while the orders come in: at the crash some are at the provider,
    // some have their request in flight, some wait.
    const { acked, refused } = await load(`http://127.0.0.1:${apiPort}`, 'dur', 200);
    primary.proc.kill('SIGKILL');
    // The app processes cannot do anything without their Redis; they crash with it.
    await Promise.all([api.kill('SIGKILL'), worker.kill('SIGKILL')]);
    await primary.kill('SIGKILL');
    const atCrash = sandbox.stats();
    assert.ok(acked.length >= 190, `most orders answered 202 (${acked.length}; ${refused} refused)`);

    await promote(replica);
    const onReplica = await records(replica.client, prefix, acked);
    const missing = acked.filter((_, i) => !onReplica[i]);
    assert.deepEqual(missing, [], 'every order answered 202 is on the promoted replica');
    const states: Record<string, number> = {};
    for (const r of onReplica) {
      const k = r!.status === 'queued' ? (r!.submitting ? 'queued, marker set' : 'queued') : r!.status;
      states[k] = (states[k] ?? 0) + 1;
    }
    t.diagnostic(
      `at the crash: ${acked.length} answered 202; on the replica: ${JSON.stringify(states)}; create requests received by the provider: ${JSON.stringify(Object.fromEntries(Object.entries(atCrash).map(([p, s]) => [p, s.received])))}`,
    );

    // A new system on the promoted replica finishes the work: stalled jobs return, the sweeper
    // re-adds lost ones, a marker left by the crash means "maybe sent" (never a blind second create).
    recovered = await startTestSystem({
      redisUrl: replica.url,
      prefix,
      useSandbox: sandbox,
      env: { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000' },
    });
    const { created, parked } = await createdOnce(recovered, sandbox, acked);
    t.diagnostic(`after recovery: ${created} created once, ${parked} parked for reconciliation, 0 created twice`);
  });
});

describe('Durability: one WAIT for many confirmations, none across a reconnect', { skip: replicaUnavailable() }, () => {
  let group: RedisGroup | undefined;
  let client: Redis | undefined;
  after(async () => {
    client?.disconnect();
    await group?.stop();
  });

  it('100 concurrent write-then-confirm share a WAIT or two; a confirmation whose connection closed under it is refused', async () => {
    const set = await startReplicated(1);
    group = set.group;
    const waits = async (): Promise<number> => Number(/cmdstat_wait:calls=(\d+)/.exec(await set.primary.client.info('commandstats'))?.[1] ?? 0);
    client = new Redis(set.primary.url, { enableAutoPipelining: true, maxRetriesPerRequest: null });
    const d = new Durability(client, { replicas: 1, timeoutMs: 1000, fenceKey: 'dur-unit:fence' });
    const before = await waits();
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const mark = d.mark();
        await client!.set(`dur-unit:${i}`, String(i));
        await d.confirm('accept', mark);
      }),
    );
    assert.ok((await waits()) - before <= 2, `${(await waits()) - before} WAITs for 100 confirmations`);
    assert.equal(await set.replicas[0]!.client.get('dur-unit:99'), '99', 'confirmed means on the replica');

    // The connection closes between the write and the WAIT: ioredis would run the WAIT on the new
    // connection, which wrote nothing; the confirmation must not count.
    const mark = d.mark();
    await client.set('dur-unit:late', 'x');
    const closed = new Promise<void>((r) => client!.once('close', () => r()));
    client.disconnect(true);
    await closed;
    await assert.rejects(d.confirm('accept', mark), (err: unknown) => err instanceof DurabilityShortfall && err.reason === 'reconnected');
    await d.confirm('accept', d.mark());
    assert.deepEqual(d.shortfallsAt, { accept: 1, submit: 0, created: 0, terminal: 0, settle: 0 }, 'the refused confirmation is counted, at its point');
  });
});

describe('what WAIT prevents: the replica link held, then the primary crashes', { skip: replicaUnavailable() }, () => {
  let group: RedisGroup | undefined;
  let sandbox: Sandbox;
  const systems: TestSystem[] = [];
  before(async () => {
    sandbox = await startSandbox({ port: 0 });
  });
  after(async () => {
    for (const s of systems) await s.close().catch(() => undefined);
    await group?.stop();
    await sandbox?.close();
  });

  it('without durability the 202 orders are lost; with it they are refused (5xx) instead of answered', async () => {
    group = await redisGroup();
    const primary = await group.start([]);
    const proxy = await startLinkProxy(primary.port);
    const replica = await group.start(['--replicaof', '127.0.0.1', String(proxy.port)]);
    await inSync(primary, replica);
    const offPrefix = uniquePrefix('dur-off');
    const onPrefix = uniquePrefix('dur-on');
    const off = await startTestSystem({ redisUrl: primary.url, prefix: offPrefix, role: 'api', useSandbox: sandbox });
    systems.push(off);
    const on = await startTestSystem({ redisUrl: primary.url, prefix: onPrefix, role: 'api', useSandbox: sandbox, env: { DURABILITY: 'replica', DURABILITY_TIMEOUT_MS: '300' } });
    systems.push(on);

    // Link up: durability mode answers as usual.
    assert.equal((await on.post('/v1/invoices', sampleOrder('alphapo', 'before'))).status, 202);
    await inSync(primary, replica);

    proxy.hold();
    const offIds = Array.from({ length: 10 }, (_, i) => `off-${i}`);
    for (const id of offIds) assert.equal((await off.post('/v1/invoices', sampleOrder('alphapo', id))).status, 202, 'off: answered 202');
    const single = await on.post('/v1/invoices', sampleOrder('alphapo', 'on-0'));
    const batch = await on.post('/v1/invoices/batch', { orders: [sampleOrder('alphapo', 'on-1'), sampleOrder('cryptoprocessing', 'on-2')] });
    // Not acknowledged: 503 with Retry-After, a refusal the producer retries.
    assert.equal(single.status, 503, `on: not answered 202 but ${single.status}`);
    assert.equal(batch.status, 503, `on: batch not answered but ${batch.status}`);
    assert.ok(
      on.logs.some((l) => l.includes('durability: WAIT fell short')),
      'the shortfall is logged',
    );
    // An existing order is confirmed too before it is answered: it may be the unreplicated write of a moment ago.
    assert.equal((await on.post('/v1/invoices', sampleOrder('alphapo', 'on-0'))).status, 503, 'on: the retry of an unconfirmed order is refused as well');
    // On /metrics: each order refused counted once at `accept` (the single, the batch's two, the retry).
    const scraped = await fetch(`${on.api}/metrics`).then((r) => r.text());
    assert.match(
      scraped,
      /^invoice_worker_durability_shortfall_total\{point="accept"\} 4$/m,
      scraped
        .split('\n')
        .filter((l) => l.includes('durability'))
        .join('\n'),
    );
    assert.match(scraped, /^invoice_worker_durability_shortfall_total\{point="submit"\} 0$/m);
    const offMetrics = await fetch(`${off.api}/metrics`).then((r) => r.text());
    assert.ok(!offMetrics.includes('durability_shortfall'), 'without durability mode there is no such metric');

    for (const s of systems.splice(0)) await s.close();
    await primary.kill('SIGKILL');
    await proxy.close();
    await promote(replica);
    const lost = (
      await records(
        replica.client,
        offPrefix,
        offIds.map((id) => ({ provider: 'alphapo' as const, kind: 'invoice' as const, foreign_id: id })),
      )
    ).filter((r) => !r);
    assert.equal(lost.length, offIds.length, 'without durability: every order answered 202 after the link was held is gone');
    const [kept] = await records(replica.client, onPrefix, [{ provider: 'alphapo', kind: 'invoice', foreign_id: 'before' }]);
    assert.ok(kept, 'with durability: the order answered 202 is there');
  });

  it('the configuration refuses durability on a Redis Cluster, and takes a sentinel URL', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'redis+cluster://127.0.0.1:7000', QUEUE_PREFIX: '{iw}', DURABILITY: 'replica' }),
      (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.field === 'DURABILITY'),
    );
    const c = loadConfig({ REDIS_URL: 'redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26380/mymaster', DURABILITY: 'replica' });
    assert.equal(c.DURABILITY, 'replica');
    assert.equal(c.DURABILITY_REPLICAS, 1);
    assert.throws(() => loadConfig({ REDIS_URL: 'redis+sentinel://10.0.0.1:26379' }), ConfigError, 'a sentinel URL without a master name');
    assert.deepEqual(parseSentinelUrl('rediss+sentinel://app:p%40ss@[::1]:26379,h2:26380/mymaster?sentinelPassword=sp'), {
      sentinels: [
        { host: '::1', port: 26379 },
        { host: 'h2', port: 26380 },
      ],
      name: 'mymaster',
      tls: true,
      username: 'app',
      password: 'p@ss',
      sentinelPassword: 'sp',
    });
    assert.equal(parseSentinelUrl('redis://127.0.0.1:6379'), undefined);
    assert.throws(() => parseSentinelUrl('redis+sentinel://h:26379/m?db=2'), /unknown sentinel URL option/);
  });
});

// Found here, on Node 24 mostly: ioredis' failoverDetector disconnected a connection whose
// reconnect was already under way, which then ended for good ("Connection is closed." on every
// command, 500s until a restart). src/redis/connect.ts no longer uses it; and whatever Redis says while it
// fails over is a 503 with Retry-After, never a 500.
describe('Sentinel: API and workers follow a failover', { skip: replicaUnavailable() }, () => {
  let group: RedisGroup | undefined;
  let sandbox: Sandbox;
  let t: TestSystem | undefined;
  before(async () => {
    sandbox = await startSandbox({ port: 0, latencyMs: 20, cryptosteroidNewCap: 100_000 });
  });
  after(async () => {
    await t?.close();
    await group?.stop();
    await sandbox?.close();
  });

  it('the primary SIGKILLed: sentinels promote a replica, the same API and worker move to it, keep every 202 order and create each once', async (ctx) => {
    const set = await startReplicated(2);
    group = set.group;
    const sentinels = await startSentinels(group, set.primary, 2);
    const url = `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/iwmaster`;
    const prefix = uniquePrefix('sentinel');
    t = await startTestSystem({
      redisUrl: url,
      prefix,
      useSandbox: sandbox,
      env: { REDIS_URL: url, DURABILITY: 'replica', DURABILITY_TIMEOUT_MS: '500', WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000' },
    });
    const first = await load(t.api, 'sen-a', 60);
    const killedAt = Date.now();
    await set.primary.kill('SIGKILL');
    const promoted = await t.waitFor(
      async () => {
        const port = await sentinelPrimary(sentinels[0]!).catch(() => 0);
        return port && port !== set.primary.port ? port : null;
      },
      'the sentinels to promote a replica',
      20_000,
    );
    const failoverMs = Date.now() - killedAt;

    // The same processes, no restart: orders are refused (503 with Retry-After, never a 500) until
    // the new primary has a replica again, then answered 202. Each is retried until acknowledged,
    // as a producer does.
    const second: Sent[] = [];
    const refusals = new Map<string, number>();
    const deadline = Date.now() + 20_000;
    for (let i = 0; i < 20; i++) {
      const o = orderFor('sen-b', i);
      for (;;) {
        const res = await fetch(`${t.api}/v1/invoices`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(o.body) });
        await res.arrayBuffer();
        if (res.status === 202 || res.status === 200) break;
        const what = `${res.status} Retry-After ${res.headers.get('retry-after')}`;
        refusals.set(what, (refusals.get(what) ?? 0) + 1);
        if (Date.now() > deadline) assert.fail(`order ${i} after the failover: still ${res.status}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      second.push(o.sent);
    }
    for (const what of refusals.keys()) assert.equal(what, '503 Retry-After 1', `refused during the failover with ${what}`);
    const recoveredMs = Date.now() - killedAt;
    const node = set.replicas.find((r) => r.port === promoted)!;
    const onPromoted = await records(node.client, prefix, first.acked);
    assert.deepEqual(
      first.acked.filter((_, i) => !onPromoted[i]),
      [],
      'every order answered 202 before the crash is on the promoted replica',
    );
    const { created, parked } = await createdOnce(t, sandbox, [...first.acked, ...second]);
    ctx.diagnostic(
      `${first.acked.length} + ${second.length} orders; failover by the sentinels in ${failoverMs} ms, 202s again after ${recoveredMs} ms (refused meanwhile: ${[...refusals].map(([w, n]) => `${n} x ${w}`).join(', ') || 'none'}); ${created} created once, ${parked} parked, 0 twice`,
    );
  });
});
