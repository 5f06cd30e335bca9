/**
 * The payment URL in one call: `POST /v1/invoices?wait=N` (or `Prefer: wait=N`) waits for the
 * provider's answer, end to end against the sandbox; and each app counts its own waiting requests.
 */
import { request } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import { InvoiceClient } from '../../src/client.ts';
import { activeWaiters, invoiceRoutes } from '../../src/http/invoices.ts';
import type { Intake, IntakeResult } from '../../src/invoice/intake.ts';
import type { OrderInput } from '../../src/invoice/order.ts';
import type { InvoiceStore } from '../../src/invoice/store.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

describe('POST /v1/invoices with wait', () => {
  let t: TestSystem;
  before(async () => {
    // A short breaker pause: the 503 test opens alphapo's breaker, which close() would otherwise wait out.
    t = await startTestSystem({ env: { BREAKER_OPEN_MS: '200' } });
  });
  after(async () => {
    await t.close();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const started = Date.now();
    const res = await fetch(`${t.api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any, applied: res.headers.get('preference-applied'), ms: Date.now() - started };
  };

  it('answers 201 with the payment URL once the provider created the invoice (?wait= and Prefer: wait=)', async () => {
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'latency', ms: 300 });
    const [byQuery, byHeader] = await Promise.all([
      post('/v1/invoices?wait=10', sampleOrder('cryptoprocessing', 'wait-q')),
      post('/v1/invoices', sampleOrder('cryptoprocessing', 'wait-h'), { prefer: 'respond-async, wait=10' }),
    ]);
    t.sandbox.clearFaults();
    for (const r of [byQuery, byHeader]) {
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.outcome, 'accepted');
      assert.equal(r.body.invoice.status, 'created');
      assert.match(r.body.invoice.payment_url, /^https?:\/\//);
      assert.equal(r.applied, 'wait=10');
      assert.ok(r.ms >= 300, `answered after ${r.ms} ms, before the provider did`);
      assert.ok(r.ms < 5000, `answered after ${r.ms} ms`);
    }
    // The same order again: already past queued, so at once, existing, with the record.
    const again = await post('/v1/invoices?wait=10', sampleOrder('cryptoprocessing', 'wait-q'));
    assert.equal(again.status, 200);
    assert.equal(again.body.outcome, 'existing');
    assert.equal(again.body.invoice.payment_url, byQuery.body.invoice.payment_url);
    assert.equal(again.applied, 'wait=10');
    // Without a wait nothing changes: 202 and queued.
    const plain = await post('/v1/invoices', sampleOrder('cryptoprocessing', 'wait-none'));
    assert.equal(plain.status, 202);
    assert.equal(plain.body.invoice.status, 'queued');
    assert.equal(plain.applied, null);
  });

  it('caps the wait at 30 seconds, and the typed client waits with { waitSeconds }', async () => {
    const capped = await post('/v1/invoices?wait=3600', sampleOrder('cryptoprocessing', 'wait-cap'));
    assert.equal(capped.status, 201);
    assert.equal(capped.applied, 'wait=30');
    const client = new InvoiceClient({ baseUrl: t.api });
    const answer = await client.create(sampleOrder('cryptosteroid', 'wait-client') as OrderInput, { waitSeconds: 10 });
    assert.equal(answer.outcome, 'accepted');
    assert.ok(['created', 'pending'].includes(answer.invoice.status), answer.invoice.status);
    assert.ok(answer.invoice.payment_url);
  });

  it('refuses bad wait values with a 400 naming it, and records nothing', async () => {
    const bad: Array<[string, Record<string, string>, string]> = [
      ['?wait=soon', {}, 'wait'],
      ['?wait=-1', {}, 'wait'],
      ['?wait=1.5', {}, 'wait'],
      ['?wait=', {}, 'wait'],
      ['?wait=1&wait=2', {}, 'wait'],
      ['', { prefer: 'wait=soon' }, 'Prefer'],
      ['', { prefer: 'respond-async, wait' }, 'Prefer'],
    ];
    for (const [query, headers, field] of bad) {
      const r = await post(`/v1/invoices${query}`, sampleOrder('cryptoprocessing', 'wait-bad'), headers);
      assert.equal(r.status, 400, `${query} ${JSON.stringify(headers)}`);
      assert.equal(r.body.error, 'invalid_query');
      assert.deepEqual(
        r.body.issues.map((i: { field: string }) => i.field),
        [field],
      );
      assert.match(r.body.issues[0].message, /wait/);
    }
    assert.equal((await t.get('/v1/invoices/cryptoprocessing/wait-bad')).status, 404);
  });

  it('leaves the batch unaffected', async () => {
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'latency', ms: 300 });
    const r = await post('/v1/invoices/batch?wait=10', { orders: [sampleOrder('cryptoprocessing', 'wait-b1'), sampleOrder('cryptoprocessing', 'wait-b2')] }, { prefer: 'wait=10' });
    t.sandbox.clearFaults();
    assert.equal(r.status, 200);
    assert.equal(r.applied, null);
    assert.deepEqual(
      r.body.results.map((x: { outcome: string; invoice: { status: string } }) => [x.outcome, x.invoice.status]),
      [
        ['accepted', 'queued'],
        ['accepted', 'queued'],
      ],
    );
  });

  it('answers 202 when the provider fails (503) until the wait runs out, and stops waiting when the client leaves', async () => {
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', status: 503 });
    const r = await post('/v1/invoices?wait=1', sampleOrder('alphapo', 'wait-503'));
    assert.equal(r.status, 202);
    assert.equal(r.body.outcome, 'accepted');
    assert.equal(r.body.invoice.status, 'queued');
    assert.equal(r.applied, 'wait=1');
    assert.ok(r.ms >= 950 && r.ms < 3000, `answered after ${r.ms} ms`);

    // A client that leaves mid-wait (node:http, so its socket is simply destroyed).
    const body = JSON.stringify(sampleOrder('alphapo', 'wait-gone'));
    const req = request(`${t.api}/v1/invoices?wait=30`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    const ended = new Promise((resolve) => req.on('error', resolve).on('close', resolve));
    req.end(body);
    await t.waitFor(async () => activeWaiters() === 1, 'the request to wait', 5000);
    req.destroy();
    await ended;
    await t.waitFor(async () => activeWaiters() === 0, 'the wait to stop once the client left', 2000);
    t.sandbox.clearFaults();
  });
});

describe('waiting requests are counted per app', () => {
  it("one app's waiting requests do not take another app's places (two apps in one process)", async () => {
    // Two producer APIs, each letting one request wait. A's request waits for an order that stays
    // queued; B's, for an order already past queued, is then answered at once with its wait honoured.
    let entered!: () => void;
    const aWaits = new Promise<void>((resolve) => (entered = resolve));
    const app = (status: 'queued' | 'created', statusOf: () => Promise<string>) => {
      const invoice = { provider: 'alphapo', account: 'default', foreign_id: `per-app-${status}`, status };
      const intake = { accept: async (): Promise<IntakeResult> => ({ outcome: 'accepted', invoice }) as IntakeResult } as unknown as Intake;
      const store = { statusOf, get: async () => null } as unknown as InvoiceStore;
      const a = express();
      a.use(express.json());
      a.use(invoiceRoutes({ intake, store, lanes: new Map(), log: createLogger('silent'), maxWaiters: 1 }));
      return a.listen(0, '127.0.0.1');
    };
    const a = app('queued', async () => {
      entered();
      return 'queued';
    });
    const b = app('created', async () => 'created');
    await Promise.all([once(a, 'listening'), once(b, 'listening')]);
    const url = (s: typeof a) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1/invoices`;
    const post = (s: typeof a, wait: number, signal?: AbortSignal) =>
      fetch(`${url(s)}?wait=${wait}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal });
    const leave = new AbortController();
    const held = post(a, 30, leave.signal).catch(() => undefined);
    try {
      await aWaits;
      const res = await post(b, 5);
      assert.equal(res.status, 202);
      assert.equal(res.headers.get('preference-applied'), 'wait=5', "B's wait is honoured: A's waiting request is not one of B's");
    } finally {
      leave.abort();
      await held;
      for (const s of [a, b]) {
        s.closeAllConnections();
        s.close();
      }
    }
  });
});
