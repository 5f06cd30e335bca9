/**
 * Listing's cost and export speed, on the real store and the Redis at REDIS_URL (default
 * 127.0.0.1:6379), under a fresh prefix deleted afterwards:
 * - Redis commands run per accept and per status change, read from INFO commandstats (scripts'
 *   inner commands included) with the listing indexes as they are: the listing adds 2 ZADD to an
 *   accept, 1 ZADD to any change and a ZREM + ZADD to a change of status;
 * - export: N records (BENCH_LISTING_N, default 10,000) read page by page (1,000) through
 *   `listPage` and turned into CSV as GET /v1/invoices/export does, in rows per second.
 * - the same N through `GET /v1/invoices/export` over HTTP on loopback (CSV and NDJSON), the
 *   body read to its end by the client.
 * Run: `node --import tsx bench/listing.ts`.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { stringify } from 'csv-stringify/sync';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { listingRoutes } from '../src/http/listing.ts';
import type { Lanes } from '../src/lanes/lane.ts';
import { orderHash, type Order } from '../src/invoice/order.ts';
import type { ListPosition } from '../src/invoice/listing.ts';
import { InvoiceStore } from '../src/invoice/store.ts';

const N = Number(process.env.BENCH_LISTING_N ?? 10_000);
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3 });
const prefix = `bench-listing-${randomUUID().slice(0, 8)}`;
const store = new InvoiceStore({ redis, prefix, resultId: (lane, fid, s) => `result.${lane}.${fid}.${s}` });

async function calls(): Promise<Record<string, number>> {
  const info = await redis.info('commandstats');
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}
function delta(a: Record<string, number>, b: Record<string, number>, per: number): Record<string, number> {
  const d: Record<string, number> = {};
  for (const k of Object.keys(b)) if ((b[k] ?? 0) - (a[k] ?? 0) > 0 && k !== 'info') d[k] = Math.round((((b[k] ?? 0) - (a[k] ?? 0)) / per) * 100) / 100;
  return d;
}
const order = (i: number): Order => ({ provider: 'cryptoprocessing', kind: 'invoice', foreign_id: `b-${i}`, amount: '100.50', currency: 'EUR', title: 'Order', timer: false });

try {
  const c0 = await calls();
  for (let i = 0; i < N; i += 500) await Promise.all(Array.from({ length: Math.min(500, N - i) }, (_x, j) => store.accept(order(i + j), orderHash(order(i + j)), 's')));
  const c1 = await calls();
  for (let i = 0; i < N; i += 500)
    await Promise.all(
      Array.from({ length: Math.min(500, N - i) }, (_x, j) =>
        store.apply('cryptoprocessing', `b-${i + j}`, {
          status: 'created',
          fields: { provider_invoice_id: String(i + j), payment_url: `https://pay.example/${i + j}` },
          source: 'bench',
        }),
      ),
    );
  const c2 = await calls();
  console.log('per accept', delta(c0, c1, N));
  console.log('per change of status (queued -> created)', delta(c1, c2, N));
  const usage = async (key: string): Promise<number> => Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  const indexBytes = (await usage(store.listingIndex('cryptoprocessing'))) + (await usage(store.statusIndex('cryptoprocessing', 'created')));
  console.log(`listing indexes: ${Math.round(indexBytes / N)} B per invoice (its listing entry and its status entry)`);
  const started = performance.now();
  let rows = 0;
  let bytes = 0;
  let after: ListPosition | undefined;
  for (;;) {
    const page = await store.listPage(['cryptoprocessing'], { limit: 1000, ...(after ? { after } : {}) });
    const text = stringify(page.records.map((r) => [r.provider, r.account, r.foreign_id, r.status, r.amount, r.currency, r.payment_url ?? '', r.updated_at]));
    rows += page.records.length;
    bytes += text.length;
    if (!page.next) break;
    after = page.next;
  }
  const s = (performance.now() - started) / 1000;
  console.log(`export: ${rows} rows in ${s.toFixed(2)} s = ${Math.round(rows / s)} rows/s (${(bytes / 1e6).toFixed(1)} MB CSV)`);
  // The export route itself, over HTTP, read to the end.
  const app = express();
  const lanes = new Map([['cryptoprocessing', { key: 'cryptoprocessing', provider: 'cryptoprocessing', account: 'default' }]]) as unknown as Lanes;
  app.use(listingRoutes({ store, lanes }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    for (const format of ['ndjson', 'csv', 'ndjson', 'csv'] as const) {
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/invoices/export?format=${format}`);
      const body = await res.text();
      const secs = (performance.now() - t0) / 1000;
      const lines = body.trimEnd().split('\n').length - (format === 'csv' ? 1 : 0);
      console.log(`HTTP export ${format}: ${lines} rows in ${secs.toFixed(2)} s = ${Math.round(lines / secs)} rows/s (${(body.length / 1e6).toFixed(1)} MB)`);
    }
  } finally {
    server.close();
  }
} finally {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}
