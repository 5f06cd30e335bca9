/**
 * Real Redis for tests: REDIS_URL, else 127.0.0.1:6379. Every test run gets its own queue prefix
 * and deletes its keys afterwards.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(tag = 't'): string {
  return `test-${tag}-${randomUUID().slice(0, 8)}`;
}

/** Client names of the connections open on Redis whose name starts with `<prefix>:` (the system's and BullMQ's are named so). */
export async function openConnections(prefix: string): Promise<string[]> {
  const redis = new Redis(REDIS_URL);
  try {
    const list = (await redis.client('LIST')) as string;
    return list
      .split('\n')
      .map((line) => / name=(\S*)/.exec(line)?.[1] ?? '')
      .filter((name) => name.startsWith(`${prefix}:`));
  } finally {
    redis.disconnect();
  }
}

/**
 * Fails when connections of `prefix` are still open `withinMs` after whoever held them was
 * stopped: a worker, queue or Redis client nobody closed. Closing is asynchronous on the server's
 * side, so it waits for the list to empty, and names what is left when it does not.
 */
export async function assertNoLeakedConnections(prefix: string, withinMs = 3000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const open = await openConnections(prefix);
    if (!open.length) return;
    if (Date.now() > deadline) throw new Error(`connections of ${prefix} left open after it was stopped: ${open.join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function deleteByPrefix(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL);
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return removed;
}
