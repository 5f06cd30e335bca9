/**
 * Where Redis comes from: REDIS_URL, else a Redis already answering on 127.0.0.1:6379, else an
 * embedded one started here (redis-memory-server on a `redis-server` found on the machine). The
 * embedded one is for a local start only; production always sets REDIS_URL.
 */
import { execFileSync } from 'node:child_process';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisHandle {
  url: string;
  source: 'env' | 'local' | 'embedded';
  stop(): Promise<void>;
}

/** BullMQ needs `maxRetriesPerRequest: null` on the connections its workers block on. */
export const REDIS_OPTIONS: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };

export function connect(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { ...REDIS_OPTIONS, ...options });
}

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
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
  if (await answers(local)) return { url: local, source: 'local', stop: async () => {} };
  const { RedisMemoryServer } = await import('redis-memory-server');
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
