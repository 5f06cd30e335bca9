/**
 * Shared by the hostile-input properties: a fingerprint of everything a request could change
 * (job counts of every queue, the store's keys and each record's contents), a raw POST, and
 * arbitraries for header values, invalid JSON and deep nesting.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { TestSystem } from '../helpers/system.ts';

/** Every queue's job counts plus a digest of every store key and value under the test's prefix. */
export async function fingerprint(t: TestSystem): Promise<string> {
  const counts = await Promise.all(t.system.queues.map(async (q) => [q.name, await q.getJobCounts()] as const));
  const redis = t.system.redis;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${t.prefix}:store:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  keys.sort();
  const hash = createHash('sha256');
  for (const k of keys) {
    const type = await redis.type(k);
    hash.update(`${k}\u0000${type}\u0000`);
    if (type === 'hash') hash.update(JSON.stringify(Object.entries(await redis.hgetall(k)).sort()));
    else if (type === 'list') hash.update(JSON.stringify(await redis.lrange(k, 0, -1)));
    else if (type === 'zset') hash.update(JSON.stringify(await redis.zrange(k, 0, -1, 'WITHSCORES')));
    else if (type === 'string') hash.update(String(await redis.get(k)));
  }
  return JSON.stringify({ counts, keys: keys.length, store: hash.digest('hex') });
}

export async function raw(url: string, body: string | Buffer | undefined, headers: Record<string, string> = {}, method = 'POST'): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

export async function healthy(t: TestSystem): Promise<boolean> {
  const res = await fetch(`${t.api}/healthz`);
  return res.status === 200 && ((await res.json()) as { ok?: boolean }).ok === true;
}

/** Printable ASCII, what an HTTP header value can carry. */
export const headerValue = (maxLength = 200): fc.Arbitrary<string> => fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

export const hex128 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 128, maxLength: 128 });

/** Text that JSON.parse refuses. */
export const invalidJson = fc
  .oneof(fc.string({ maxLength: 300 }), fc.constantFrom('{', '{"a":}', "{'a':1}", '{"a":1,}', '[1,2', 'NaN', 'undefined', '{"a":"\u0000"', '\uFEFF{"a":1}x', '{"a":1}{"b":2}'))
  .filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  });

/** `{"a":{"a":...}}` or `[[[...]]]` as JSON text, `depth` levels deep. */
export function deepJson(depth: number, kind: 'object' | 'array'): string {
  return kind === 'object' ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Strings with the characters that break naive code: controls, bidi overrides, emoji, NUL, surrogates. */
export const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.constantFrom('\u0000', '\u202e\u0041', '\ud83d\ude00', '\r\n', '\u001b[31m', '<script>', '${x}', '../../etc', '\ud800'),
);

/** Nothing a hostile request did changed the system (`before`: a fingerprint taken first), and it still answers. */
export async function assertUnchanged(t: TestSystem, before: string, what = 'nothing enqueued, nothing stored'): Promise<void> {
  assert.equal(await fingerprint(t), before, what);
  assert.ok(await healthy(t), '/healthz still answers');
}
