/**
 * Listing, export and pay-to details against the real app, real Redis and the real sandbox:
 * - paging `status=created&limit=2` reaches every created invoice exactly once while new ones are
 *   created between the pages;
 * - the CSV export holds them, with the money fields of a paid one;
 * - a key limited to a lane lists and exports only that lane;
 * - bad query parameters are a 400 naming the parameter;
 * - choosing BTC on a CryptoSteroid invoice answers `pay_to` with an address and an amount; a
 *   connector without the choice is a 409 saying why, a bad body a 400 naming `payment_method`.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import { Redis } from 'ioredis';
import { resultJobId } from '../../queues/results.ts';
import { sha256Hex } from '../../src/access/api-keys.ts';
import { listingRoutes } from '../../src/http/listing.ts';
import { OrderSchema, orderHash } from '../../src/invoice/order.ts';
import { InvoiceStore } from '../../src/invoice/store.ts';
import type { Lanes } from '../../src/lanes/lane.ts';
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

const ALL = 'tok-listing-everything-4Qz9';
const EU = 'tok-listing-alphapo-read-8Jm2';

describe('listing and export', () => {
  let t: TestSystem;
  let dir: string;

  const call = async (method: string, path: string, token = ALL, body?: unknown): Promise<{ status: number; text: string; body: any; type: string }> => {
    const res = await fetch(t.api + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* CSV or NDJSON */
    }
    return { status: res.status, text, body: parsed, type: res.headers.get('content-type') ?? '' };
  };

  const createAndWait = async (order: Record<string, unknown>, status = 'created'): Promise<any> => {
    const res = await call('POST', '/v1/invoices', ALL, order);
    assert.ok(res.status === 202 || res.status === 200, `create answered ${res.status}: ${res.text}`);
    const path = `/v1/invoices/${order.provider as string}/${encodeURIComponent(order.foreign_id as string)}`;
    return t.waitFor(
      async () => {
        const r = await call('GET', path);
        return r.body?.status === status ? r.body : null;
      },
      `${order.foreign_id as string} ${status}`,
    );
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'listing-'));
    const keysFile = join(dir, 'keys.json');
    writeFileSync(
      keysFile,
      JSON.stringify([
        { id: 'all', token_sha256: sha256Hex(ALL), scopes: ['orders:write', 'orders:read', 'repairs', 'webhooks'] },
        { id: 'eu', token_sha256: sha256Hex(EU), scopes: ['orders:read'], lanes: ['alphapo'] },
      ]),
    );
    t = await startTestSystem({ env: { API_KEYS_FILE: keysFile }, callbacks: true });
  });

  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pages status=created two at a time and meets every created invoice once while more are created', async () => {
    const first = ['l-a', 'l-b', 'l-c', 'l-d', 'l-e'];
    for (const id of first) await createAndWait(sampleOrder('cryptoprocessing', id));
    const expected = new Set(first);
    const seen: string[] = [];
    let cursor: string | null = null;
    let extra = 0;
    for (let pages = 0; pages < 50; pages++) {
      const q: string = `/v1/invoices?status=created&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await call('GET', q);
      assert.equal(page.status, 200, page.text);
      assert.ok(page.body.items.length <= 2);
      for (const item of page.body.items) {
        assert.equal(item.status, 'created');
        seen.push(item.foreign_id);
      }
      cursor = page.body.next_cursor;
      // While pages remain, another invoice enters `created`, and one that was
      // already served changes (a fields-only change), which must not serve it again.
      if (extra < 4 && cursor) {
        const id = `l-new-${extra++}`;
        await createAndWait(sampleOrder('cryptoprocessing', id));
        expected.add(id);
        await t.system.store.apply('cryptoprocessing', seen[0] as string, { fields: { last_error: `touched ${extra}` }, source: 'test' });
      }
      if (!cursor) break;
    }
    assert.equal(cursor, null, 'paging ended');
    assert.deepEqual([...seen].sort(), [...expected].sort(), 'every created invoice once');
    assert.equal(new Set(seen).size, seen.length, 'none twice');
  });

  it('while orders are created concurrently, paging status=created meets each invoice that was created before the last page exactly once', async () => {
    const ids = Array.from({ length: 16 }, (_x, i) => `l-con-${i}`);
    // The creator runs beside the pager, not between its pages.
    const creating = (async () => {
      for (const id of ids) {
        const res = await call('POST', '/v1/invoices', ALL, sampleOrder('cryptoprocessing', id));
        assert.equal(res.status, 202);
      }
    })();
    await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', 'l-con-1'))?.status === 'created', 'the first ones created');
    const seen: string[] = [];
    let cursor: string | null = null;
    // Which of them were in `created` (written, as read from Redis) just before each page was asked for.
    let createdBefore: string[] = [];
    for (let pages = 0; pages < 500; pages++) {
      const statuses = await Promise.all(ids.map((id) => t.system.store.statusOf('cryptoprocessing', id)));
      createdBefore = ids.filter((_id, i) => statuses[i] === 'created');
      const page = await call('GET', `/v1/invoices?status=created&provider=cryptoprocessing&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(page.status, 200, page.text);
      seen.push(...page.body.items.map((i: { foreign_id: string }) => i.foreign_id));
      cursor = page.body.next_cursor;
      if (!cursor) break;
    }
    await creating;
    assert.equal(cursor, null, 'paging ended');
    assert.equal(new Set(seen).size, seen.length, 'none twice');
    // Every invoice already in `created` when the last page was asked for is in the pages.
    for (const id of createdBefore) assert.ok(seen.includes(id), `${id}, created before the last page, is listed`);
    assert.ok(
      ids.some((id) => seen.includes(id)),
      'some concurrently created ones were met',
    );
  });

  it('lists by last change without a status, and exports CSV with the money fields of a paid invoice', async () => {
    const paid = await createAndWait(sampleOrder('cryptoprocessing', 'l-paid'));
    const pay = await fetch(`${t.sandbox.url}/_sandbox/invoices/cryptoprocessing/${paid.provider_invoice_id as string}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(pay.status, 200, await pay.text());
    const done = await t.waitFor(async () => {
      const r = await call('GET', '/v1/invoices/cryptoprocessing/l-paid');
      return r.body?.status === 'paid' ? r.body : null;
    }, 'l-paid paid');
    assert.ok(done.received_amount, 'paid invoice has a received amount');

    // Newest change last: the paid invoice ends the listing.
    const all = await call('GET', '/v1/invoices?provider=cryptoprocessing&limit=1000');
    assert.equal(all.status, 200);
    assert.equal(all.body.next_cursor, null);
    assert.equal(all.body.items.at(-1).foreign_id, 'l-paid');
    const stamps = all.body.items.map((i: { updated_at: string }) => Date.parse(i.updated_at));
    assert.deepEqual(
      stamps,
      [...stamps].sort((a: number, b: number) => a - b),
      'ordered by last change',
    );

    const csv = await call('GET', '/v1/invoices/export?format=csv&provider=cryptoprocessing');
    assert.equal(csv.status, 200);
    assert.match(csv.type, /^text\/csv/);
    const lines = csv.text.trimEnd().split('\n');
    const header = (lines[0] as string).split(',');
    assert.ok(header.includes('foreign_id') && header.includes('received_amount') && header.includes('settled_amount') && header.includes('txids'));
    assert.equal(lines.length - 1, all.body.items.length, 'one row per invoice');
    const row = lines.find((l) => l.includes('l-paid')) as string;
    const cells = row.split(',');
    assert.equal(cells[header.indexOf('status')], 'paid');
    assert.equal(cells[header.indexOf('amount')], '100.50');
    assert.equal(cells[header.indexOf('received_amount')], done.received_amount);
    assert.equal(cells[header.indexOf('txids')], done.transactions.map((x: { txid: string }) => x.txid).join(' '));
    // The order's title has no comma; a description-free export has no quoting surprises, but a
    // comma inside a field is quoted (csv-stringify): checked on the fees column's separator.
    const nd = await call('GET', '/v1/invoices/export?format=ndjson&status=paid');
    assert.equal(nd.status, 200);
    const rows = nd.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { foreign_id: string; received_amount: string });
    assert.deepEqual(
      rows.map((r) => r.foreign_id),
      ['l-paid'],
    );
  });

  it('a key limited to a lane lists and exports only that lane', async () => {
    await createAndWait(sampleOrder('alphapo', 'l-eu-1'));
    const mine = await call('GET', '/v1/invoices', EU);
    assert.equal(mine.status, 200);
    assert.ok(mine.body.items.length >= 1);
    assert.ok(mine.body.items.every((i: { provider: string }) => i.provider === 'alphapo'));
    const other = await call('GET', '/v1/invoices?provider=cryptoprocessing', EU);
    assert.deepEqual(other.body, { items: [], next_cursor: null });
    const csv = await call('GET', '/v1/invoices/export', EU);
    assert.ok(!csv.text.includes('cryptoprocessing'));
    assert.ok(csv.text.includes('l-eu-1'));
  });

  it('bad query parameters are a 400 naming the parameter', async () => {
    for (const [q, field] of [
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=ten', 'limit'],
      ['status=bogus', 'status'],
      ['updated_since=yesterday', 'updated_since'],
      ['cursor=not-a-cursor', 'cursor'],
      ['provider=Bad!', 'provider'],
      ['colour=red', 'colour'],
      ['limit=1&limit=2', 'limit'],
    ] as const) {
      const r = await call('GET', `/v1/invoices?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error, 'invalid_query');
      assert.equal(r.body.issues[0].field, field, q);
    }
    const ex = await call('GET', '/v1/invoices/export?format=xml');
    assert.equal(ex.status, 400);
    assert.equal(ex.body.issues[0].field, 'format');
  });

  it('choosing BTC on a CryptoSteroid invoice answers pay_to with an address and an amount', async () => {
    const order = sampleOrder('cryptosteroid', 'l-cs-1');
    delete order.payment_currency;
    const created = await createAndWait(order);
    assert.equal(created.pay_to, null);
    const bad = await call('POST', '/v1/invoices/cryptosteroid/l-cs-1/payment-method', ALL, { payment_method: 'DOGECOIN' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.issues[0].field, 'payment_method');
    const missing = await call('POST', '/v1/invoices/cryptosteroid/l-cs-1/payment-method', ALL, {});
    assert.equal(missing.status, 400);
    assert.equal(missing.body.issues[0].field, 'payment_method');

    const chosen = await call('POST', '/v1/invoices/cryptosteroid/l-cs-1/payment-method', ALL, { payment_method: 'BTC' });
    assert.equal(chosen.status, 200, chosen.text);
    assert.equal(chosen.body.invoice.status, 'pending');
    assert.equal(chosen.body.invoice.pay_to.currency, 'BTC');
    assert.ok(chosen.body.invoice.pay_to.address.length > 10);
    assert.match(chosen.body.invoice.pay_to.amount, /^\d+(\.\d+)?$/);
    const read = await call('GET', '/v1/invoices/cryptosteroid/l-cs-1');
    assert.deepEqual(read.body.pay_to, chosen.body.invoice.pay_to);

    const elsewhere = await call('POST', '/v1/invoices/cryptoprocessing/l-a/payment-method', ALL, { payment_method: 'BTC' });
    assert.equal(elsewhere.status, 409);
    assert.match(elsewhere.body.message, /payment_currency/);
  });
});

describe('export of many pages', () => {
  const prefix = uniquePrefix('exp');
  let redis: Redis;
  let server: Server;
  let base: string;
  // More than 10 pages of 1,000: a wait that left a listener behind each time would pass the default limit of 10.
  const N = 12_000;

  before(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const store = new InvoiceStore({ redis, prefix, resultId: resultJobId });
    for (let i = 0; i < N; i += 250) {
      await Promise.all(
        Array.from({ length: 250 }, (_x, j) => {
          const order = OrderSchema.parse(sampleOrder('cryptoprocessing', i + j === 0 ? 'x-"q",c' : `x-${i + j}`));
          return store.accept(order, orderHash(order), 's');
        }),
      );
    }
    const app = express();
    app.use(listingRoutes({ store, lanes: new Map([['cryptoprocessing', { key: 'cryptoprocessing', provider: 'cryptoprocessing', account: 'default' }]]) as unknown as Lanes }));
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.close();
    redis?.disconnect();
    await deleteByPrefix(prefix);
  });

  it('streams every record once to a slow reader, page after page, without piling up listeners', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      // A reader that takes its time: the export waits for it (backpressure) many times over.
      const text = await new Promise<string>((resolve, reject) => {
        httpGet(`${base}/v1/invoices/export?format=ndjson`, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
            res.pause();
            setImmediate(() => res.resume());
          });
          res.on('end', () => resolve(body));
          res.on('error', reject);
        }).on('error', reject);
      });
      const ids = text
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { foreign_id: string }).foreign_id);
      assert.equal(ids.length, N);
      assert.equal(new Set(ids).size, N, 'each once');
      const csv = await (await fetch(`${base}/v1/invoices/export`)).text();
      assert.equal(csv.trimEnd().split('\n').length, N + 1, 'a header and a row each');
      assert.ok(csv.includes(',"x-""q"",c",'), 'a field with quotes and a comma is quoted');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings, [], 'no MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});
