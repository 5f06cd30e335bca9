/**
 * Where Redis comes from: REDIS_URL, else a Redis already answering on 127.0.0.1:6379, else an
 * embedded one started here (redis-memory-server on a `redis-server` found on the machine). The
 * embedded one is for a local start only; production always sets REDIS_URL.
 *
 * A Redis Cluster is named by `redis+cluster://[user:password@]host:port[,host:port...]`
 * (`rediss+cluster://` for TLS): any reachable nodes as seeds, the rest is discovered. Every key
 * the worker writes must then share one slot, which a `{hash tag}` QUEUE_PREFIX guarantees
 * (the config refuses a cluster URL without one).
 *
 * A primary with replicas under Redis Sentinel is named by
 * `redis+sentinel://[user:password@]host:port[,host:port...]/master-name[?sentinelPassword=...]`
 * (`rediss+sentinel://` for TLS to the data nodes and the sentinels): the hosts are sentinels, the
 * path is the monitored master's name, the credentials are the data nodes'. ioredis asks the
 * sentinels for the current primary on every (re)connect and checks the node's role, so after a
 * failover every connection (BullMQ's duplicates too) moves to the promoted replica; it also
 * subscribes to the sentinels' `+switch-master` to drop a connection to a demoted primary at once.
 */
import { execFileSync } from 'node:child_process';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.ts';

export interface RedisHandle {
  url: string;
  source: 'env' | 'local' | 'embedded';
  stop(): Promise<void>;
}

/** A single Redis or a Redis Cluster: both speak every command the store, relay and BullMQ use. */
export type RedisClient = Redis | Cluster;

/** BullMQ needs `maxRetriesPerRequest: null` on the connections its workers block on. */
export const REDIS_OPTIONS: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };

export interface ClusterTarget {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  tls: boolean;
}

export interface SentinelTarget {
  sentinels: Array<{ host: string; port: number }>;
  /** The master group name the sentinels monitor. */
  name: string;
  username?: string;
  password?: string;
  sentinelPassword?: string;
  tls: boolean;
}

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\/(.*)$/i;
const SENTINEL_SCHEME = /^(rediss?)\+sentinel:\/\/(.*)$/i;

/**
 * Parses a `redis+cluster://` URL; undefined for any other URL. Throws a TypeError naming the
 * problem when it is a cluster URL but malformed (no nodes, a node without a port...).
 */
export function parseClusterUrl(url: string): ClusterTarget | undefined {
  const m = CLUSTER_SCHEME.exec(url.trim());
  if (!m) return undefined;
  const tls = m[1]!.toLowerCase() === 'rediss';
  const { nodes, username, password } = parseHosts((m[2] ?? '').replace(/[/?#].*$/, ''), 'cluster');
  return { nodes, tls, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

/**
 * Parses a `redis+sentinel://` URL; undefined for any other URL. Throws a TypeError naming the
 * problem when it is a sentinel URL but malformed (no sentinels, no master name...).
 */
export function parseSentinelUrl(url: string): SentinelTarget | undefined {
  const m = SENTINEL_SCHEME.exec(url.trim());
  if (!m) return undefined;
  const tls = m[1]!.toLowerCase() === 'rediss';
  const body = (m[2] ?? '').replace(/#.*$/, '');
  const q = body.indexOf('?');
  const query = new URLSearchParams(q >= 0 ? body.slice(q + 1) : '');
  const beforeQuery = q >= 0 ? body.slice(0, q) : body;
  // The authority ends at the first `/` after the credentials (a `/` in a password must be escaped).
  const at = beforeQuery.lastIndexOf('@');
  const slash = beforeQuery.indexOf('/', at + 1);
  const authority = slash >= 0 ? beforeQuery.slice(0, slash) : beforeQuery;
  const path = slash >= 0 ? beforeQuery.slice(slash + 1) : '';
  const { nodes, username, password } = parseHosts(authority, 'sentinel');
  const name = decodeURIComponent(path.replace(/\/+$/, ''));
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(name)) throw new TypeError('a sentinel URL needs the master name as its path, e.g. redis+sentinel://host:26379/mymaster');
  for (const key of query.keys()) if (key !== 'sentinelPassword') throw new TypeError(`unknown sentinel URL option "${key}" (only sentinelPassword)`);
  const sentinelPassword = query.get('sentinelPassword') || undefined;
  return { sentinels: nodes, name, tls, ...(username ? { username } : {}), ...(password ? { password } : {}), ...(sentinelPassword ? { sentinelPassword } : {}) };
}

/** `[user:password@]host:port[,host:port...]`, shared by the cluster and sentinel forms. */
function parseHosts(authority: string, what: 'cluster' | 'sentinel'): { nodes: Array<{ host: string; port: number }>; username?: string; password?: string } {
  let rest = authority;
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    const user = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth);
    const pass = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : undefined;
    // `redis://:secret@host` means a password with the default user, as in redis:// URLs.
    if (user) username = user;
    if (pass) password = pass;
  }
  const nodes = rest
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((spec) => {
      const node = /^\s*(\[[0-9a-f:.]+\]|[^:\s[\]]+):(\d{1,5})\s*$/i.exec(spec);
      const port = Number(node?.[2]);
      if (!node || port < 1 || port > 65535) throw new TypeError(`${what} node "${spec}" must be host:port`);
      return { host: node[1]!.replace(/^\[|\]$/g, ''), port };
    });
  if (!nodes.length) throw new TypeError(`a ${what} URL needs at least one host:port`);
  return { nodes, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEME.test(url.trim());
}

export function isSentinelUrl(url: string): boolean {
  return SENTINEL_SCHEME.test(url.trim());
}

/** The part of a key Redis Cluster hashes when it has one: the first non-empty `{...}`. */
export function hashTag(key: string): string | undefined {
  const start = key.indexOf('{');
  if (start < 0) return undefined;
  const end = key.indexOf('}', start + 1);
  return end > start + 1 ? key.slice(start + 1, end) : undefined;
}

export function connect(url: string, options: RedisOptions = {}, clusterOptions: ClusterOptions = {}): RedisClient {
  const sentinel = parseSentinelUrl(url);
  if (sentinel) {
    return new Redis({
      sentinels: sentinel.sentinels,
      name: sentinel.name,
      ...(sentinel.username ? { username: sentinel.username } : {}),
      ...(sentinel.password ? { password: sentinel.password } : {}),
      ...(sentinel.sentinelPassword ? { sentinelPassword: sentinel.sentinelPassword } : {}),
      ...(sentinel.tls ? { tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
      // No `failoverDetector`: its disconnect on +switch-master races a reconnect already under way
      // (the primary died): the reconnect then fails with "Connection is closed." and the client
      // ends for good, every command refused until the process restarts (seen in the sentinel
      // failover test, mostly on Node 24). A primary that is demoted closes its clients itself;
      // should one still answer READONLY, reconnect (asking the sentinels again) and resend.
      reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
      ...REDIS_OPTIONS,
      ...options,
    });
  }
  const cluster = parseClusterUrl(url);
  if (!cluster) return new Redis(url, { ...REDIS_OPTIONS, ...options });
  return new Cluster(cluster.nodes, {
    // Per-node options; BullMQ reads `maxRetriesPerRequest` from here on a Cluster.
    redisOptions: {
      ...REDIS_OPTIONS,
      ...(cluster.username ? { username: cluster.username } : {}),
      ...(cluster.password ? { password: cluster.password } : {}),
      ...(cluster.tls ? { tls: {} } : {}),
      ...options,
    },
    // Managed clusters announce nodes by address while TLS certificates name the host: keep the
    // address as given instead of resolving it again (ioredis' documented setting for this).
    ...(cluster.tls ? { dnsLookup: (address: string, done: (err: null, address: string) => void) => done(null, address) } : {}),
    enableReadyCheck: true,
    ...clusterOptions,
  });
}

/**
 * A gate for lines about an outage: the first goes through, then at most one per `everyMs`, told
 * how many were held back since the one before. A Redis that is down makes every connection fail
 * each reconnect attempt and every request fail: an outage should read as a few lines, not thousands.
 */
export function oncePerInterval(everyMs = 10_000): () => number | undefined {
  let last = 0;
  let held = 0;
  return () => {
    const now = Date.now();
    if (last && now - last < everyMs) {
      held++;
      return undefined;
    }
    const since = held;
    last = now;
    held = 0;
    return since;
  };
}

/** A connection's error listener, through {@link oncePerInterval}. */
export function connectionErrorLog(log: Logger, msg: string, everyMs = 10_000): (err: Error) => void {
  const gate = oncePerInterval(everyMs);
  return (err) => {
    const held = gate();
    if (held !== undefined) log.warn({ err: err.message, ...(held ? { moreSinceLastLine: held } : {}) }, msg);
  };
}

/** True when a Redis at `url` answers PING (a LOADING reply, e.g. while an AOF loads, is false). */
export async function redisAnswers(url: string, timeoutMs = 500): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function systemRedisServer(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function resolveRedis(redisUrl: string | undefined, log: Logger): Promise<RedisHandle> {
  if (redisUrl) return { url: redisUrl, source: 'env', stop: async () => {} };
  const local = 'redis://127.0.0.1:6379';
  if (await redisAnswers(local)) return { url: local, source: 'local', stop: async () => {} };
  // A development dependency: a production install (`npm ci --omit=dev`, the image) must name its Redis.
  const { RedisMemoryServer } = await import('redis-memory-server').catch(() => {
    throw new ConfigError([
      { field: 'REDIS_URL', message: `not set, no Redis answers on ${local}, and the embedded Redis of a local start is not installed (a development dependency)` },
    ]);
  });
  const systemBinary = systemRedisServer();
  log.info({ systemBinary: systemBinary ?? null }, 'no Redis found; starting an embedded one');
  const server = await RedisMemoryServer.create(systemBinary ? { binary: { systemBinary } } : {});
  const url = `redis://${await server.getHost()}:${await server.getPort()}`;
  return {
    url,
    source: 'embedded',
    stop: async () => {
      await server.stop();
    },
  };
}
