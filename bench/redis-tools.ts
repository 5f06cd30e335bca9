/**
 * What the benchmark asks Redis directly: keys under a prefix (on every master of a cluster),
 * their memory, INFO fields, and a MONITOR tap that counts the commands carrying our prefix.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Cluster, Redis } from 'ioredis';
import { isClusterUrl, type RedisClient } from '../src/redis/connect.ts';

function nodesOf(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

export async function ready(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    redis.once('ready', () => resolve());
    redis.once('error', reject);
  });
}

export async function scanKeys(redis: RedisClient, prefix: string, onBatch: (node: Redis, keys: string[]) => Promise<void>): Promise<void> {
  for (const node of nodesOf(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
      cursor = next;
      if (keys.length) await onBatch(node, keys);
    } while (cursor !== '0');
  }
}

export async function deletePrefix(redis: RedisClient, prefix: string): Promise<number> {
  let removed = 0;
  await scanKeys(redis, prefix, async (node, keys) => {
    // One key a call: on a cluster, keys of one batch may belong to different slots.
    const pipe = node.pipeline();
    for (const k of keys) pipe.unlink(k);
    const res = await pipe.exec();
    removed += (res ?? []).reduce((n, [, v]) => n + Number(v ?? 0), 0);
  });
  return removed;
}

/** Key families, so memory can be reported per kind of thing stored. */
export function keyFamily(prefix: string, key: string): string {
  const rest = key.slice(prefix.length + 1);
  if (rest.startsWith('store:inv:')) return 'store record with its history (hash)';
  if (rest.startsWith('store:')) return 'store indexes and outbox';
  const [name, part] = rest.split(':');
  // One queue per lane (`invoice-create.<lane>`): counted together per kind of queue.
  const queue = name?.replace(/^(invoice-[a-z]+)\..*$/, '$1');
  if (queue === 'lane') return 'lane breakers';
  if (part === undefined) return `${queue}: other`;
  // BullMQ: one hash per job under `<queue>:<jobId>`; the rest are per-queue structures.
  const structures = new Set([
    'wait',
    'active',
    'completed',
    'failed',
    'delayed',
    'prioritized',
    'paused',
    'meta',
    'events',
    'id',
    'marker',
    'stalled',
    'stalled-check',
    'limiter',
    'pc',
    'de',
    'repeat',
  ]);
  if (structures.has(part)) return `${queue}: ${part === 'events' ? 'event stream (capped)' : 'sets and lists'}`;
  if (rest.endsWith(':lock')) return `${queue}: locks`;
  return `${queue}: job hashes`;
}

export async function memoryByFamily(redis: RedisClient, prefix: string): Promise<{ total: number; keys: number; families: Record<string, { keys: number; bytes: number }> }> {
  const families: Record<string, { keys: number; bytes: number }> = {};
  let total = 0;
  let count = 0;
  await scanKeys(redis, prefix, async (node, keys) => {
    const pipe = node.pipeline();
    for (const k of keys) pipe.memory('USAGE', k, 'SAMPLES', '0');
    const res = (await pipe.exec()) ?? [];
    keys.forEach((k, i) => {
      const bytes = Number(res[i]?.[1] ?? 0);
      const f = keyFamily(prefix, k);
      const slot = (families[f] ??= { keys: 0, bytes: 0 });
      slot.keys += 1;
      slot.bytes += bytes;
      total += bytes;
      count += 1;
    });
  });
  return { total, keys: count, families };
}

export async function info(redis: Redis, section: string): Promise<Record<string, string>> {
  const text = await redis.info(section);
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

export async function redisCpuMs(redis: Redis): Promise<number> {
  const cpu = await info(redis, 'cpu');
  return (Number(cpu.used_cpu_user ?? 0) + Number(cpu.used_cpu_sys ?? 0)) * 1000;
}

/** sha1 of every BullMQ script, so EVALSHA lines can be named. */
function bullmqScripts(): Map<string, string> {
  const require = createRequire(import.meta.url);
  const scripts = require('bullmq/dist/cjs/scripts/index.js') as Record<string, { name: string; content: string }>;
  const out = new Map<string, string>();
  for (const s of Object.values(scripts)) {
    if (s && typeof s.content === 'string') out.set(createHash('sha1').update(s.content).digest('hex'), `bullmq ${s.name}`);
  }
  return out;
}

export interface CommandCounts {
  /** Commands our processes sent (each one a request on the wire). */
  sent: Record<string, number>;
  /** Commands run inside Lua scripts (Redis work, no round trip). */
  inLua: Record<string, number>;
  /** The same, by the script that ran them (its label in `sent`). */
  inLuaByScript: Record<string, number>;
}

/**
 * Counts commands that name a key under `prefix` (or run inside a script that does), by name;
 * EVALSHA by script. MONITOR slows Redis down a lot: only for small counting runs, never timed.
 */
export class MonitorTap {
  private monitor: Redis | undefined;
  private counts: CommandCounts = { sent: {}, inLua: {}, inLuaByScript: {} };
  private lastWasOurs = false;
  private lastLabel = '';
  private readonly shas = bullmqScripts();
  private mark: { key: string; seen: () => void } | undefined;

  constructor(
    private readonly url: string,
    private readonly prefix: string,
  ) {}

  async start(): Promise<void> {
    if (isClusterUrl(this.url)) throw new Error('MONITOR counting needs a single Redis');
    // A plain connection of its own: MONITOR takes it over.
    const client = new Redis(this.url);
    this.monitor = await client.monitor();
    client.disconnect();
    // A tap that breaks only loses counts; it must not take the benchmark (and its cleanup) down.
    this.monitor.on('error', () => undefined);
    this.monitor.on('monitor', (_time: string, args: string[], source: string) => this.record(args, source));
  }

  reset(): CommandCounts {
    const c = this.counts;
    this.counts = { sent: {}, inLua: {}, inLuaByScript: {} };
    return c;
  }

  /**
   * Resolves once the tap has seen every command Redis ran before this call: it reads a marker
   * key through `client` and waits for that read to come through MONITOR, which lags behind
   * under load. The marker itself is not counted. Then `reset()` holds a whole stretch of work.
   */
  async flush(client: Redis, timeoutMs = 30_000): Promise<void> {
    const key = `${this.prefix}:monitor-mark:${Math.random().toString(36).slice(2)}`;
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<void>((resolve, reject) => {
      this.mark = { key, seen: resolve };
      timer = setTimeout(() => reject(new Error('MONITOR did not show the marker in time')), timeoutMs);
    });
    try {
      await client.exists(key);
      await seen;
    } finally {
      clearTimeout(timer);
      this.mark = undefined;
    }
  }

  private record(args: string[], source: string): void {
    const lua = source.includes('lua');
    const name = (args[0] ?? '').toLowerCase();
    if (!lua && this.mark && args[1] === this.mark.key) {
      this.lastWasOurs = false;
      this.mark.seen();
      return;
    }
    if (lua) {
      // Lua lines follow the EVALSHA that ran them; keep those of our scripts only.
      if (!this.lastWasOurs) return;
      this.counts.inLua[name] = (this.counts.inLua[name] ?? 0) + 1;
      this.counts.inLuaByScript[this.lastLabel] = (this.counts.inLuaByScript[this.lastLabel] ?? 0) + 1;
      return;
    }
    const ours = args.some((a) => a.startsWith(`${this.prefix}:`));
    this.lastWasOurs = ours;
    if (!ours) return;
    let label = name;
    if (name === 'evalsha') label = this.shas.get(args[1] ?? '') ?? this.ourScript(args);
    else if (name === 'eval') label = `eval on ${this.keyShape(args[3] ?? '')}`;
    this.counts.sent[label] = (this.counts.sent[label] ?? 0) + 1;
    this.lastLabel = label;
  }

  /** Our scripts, by the keys they take (see store.ts): reserve only the record, apply the outbox too, accept not. */
  private ourScript(args: string[]): string {
    const keys = Number(args[2]);
    const first = args[3] ?? '';
    if (first.includes(':store:inv:')) {
      if (keys === 1) return 'store reserve (lua)';
      return args.slice(4, 3 + keys).some((k) => k.endsWith(':store:outbox')) ? 'store apply (lua)' : 'store accept (lua)';
    }
    return `script on ${this.keyShape(first)}`;
  }

  /** A key without the prefix and ids: `store:outbox:lock`, `invoice-create:<id>`. */
  private keyShape(key: string): string {
    const rest = key.startsWith(`${this.prefix}:`) ? key.slice(this.prefix.length + 1) : key;
    return rest
      .replace(/^(store:(?:inv|hist)):.*$/, '$1:<id>')
      .replace(/^(invoice-[a-z]+)(?:\.[^:]+)?:(?:create|result|poll|event)\..*$/, '$1:<job>')
      .replace(/^(invoice-[a-z]+)\.[^:]+:/, '$1:');
  }

  async stop(): Promise<void> {
    this.monitor?.disconnect();
  }
}

/** One master of a cluster at a moment: its CPU and its commands by name (from INFO commandstats, commands run by scripts included). */
export interface MasterSnapshot {
  node: string;
  cpuMs: number;
  calls: Record<string, number>;
}

export async function masterSnapshots(cluster: Cluster): Promise<MasterSnapshot[]> {
  return Promise.all(
    cluster.nodes('master').map(async (node) => {
      const stats = await info(node, 'commandstats');
      const calls: Record<string, number> = {};
      for (const [k, v] of Object.entries(stats)) {
        const m = /calls=(\d+)/.exec(v);
        if (k.startsWith('cmdstat_') && m) calls[k.slice('cmdstat_'.length)] = Number(m[1]);
      }
      return { node: `${node.options.host}:${node.options.port}`, cpuMs: await redisCpuMs(node), calls };
    }),
  );
}

/** The master (host:port) holding the slot of `key`. */
export async function masterOfKey(cluster: Cluster, key: string): Promise<string> {
  const slot = Number(await cluster.cluster('KEYSLOT', key));
  const ranges = await cluster.cluster('SLOTS');
  const hit = ranges.find(([from, to]) => slot >= from && slot <= to);
  const master = hit?.[2];
  return master ? `${master[0]}:${master[1]}` : 'unknown';
}
