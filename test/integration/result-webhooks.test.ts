/**
 * Result webhooks against a real HTTP receiver that verifies every request with the
 * `standardwebhooks` package: every result arrives, signed, in order per invoice, with a stable
 * id; a receiver that fails, times out and comes back loses nothing; one down for longer than the
 * schedule gets its endpoint disabled, and after it is enabled and redelivered has everything;
 * a secret rotation leaves no gap; secrets never reach the logs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import type { InvoiceResult } from '../../queues/results.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

type Behaviour = (req: IncomingMessage, res: ServerResponse) => boolean;

/** A receiver as an order system would run it: verify, dedupe on webhook-id, keep per-invoice order. */
class Receiver {
  server: Server;
  url = '';
  secrets: string[] = [];
  verified: Array<{ id: string; result: InvoiceResult; signatures: number }> = [];
  refused = 0;
  /** Scripted misbehaviour: return true when it handled (failed) the request. */
  behaviour: Behaviour | null = null;

  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        if (this.behaviour?.(req, res)) return;
        const headers = {
          'webhook-id': String(req.headers['webhook-id']),
          'webhook-timestamp': String(req.headers['webhook-timestamp']),
          'webhook-signature': String(req.headers['webhook-signature']),
        };
        const ok = this.secrets.some((s) => {
          try {
            new Webhook(s).verify(body, headers);
            return true;
          } catch {
            return false;
          }
        });
        if (!ok) {
          this.refused++;
          res.writeHead(401).end();
          return;
        }
        this.verified.push({ id: headers['webhook-id'], result: JSON.parse(body) as InvoiceResult, signatures: headers['webhook-signature'].split(' ').length });
        res.writeHead(204).end();
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** Deduped by webhook-id, in arrival order. */
  unique(): Array<{ id: string; result: InvoiceResult }> {
    const seen = new Set<string>();
    return this.verified.filter((v) => (seen.has(v.id) ? false : (seen.add(v.id), true)));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('result webhooks', () => {
  let t: TestSystem;
  const rx = new Receiver();
  let endpoint = '';

  before(async () => {
    await rx.start();
    t = await startTestSystem({ callbacks: true, env: { WEBHOOK_RETRY_SCHEDULE_MS: '50,100,200', WEBHOOK_TIMEOUT_MS: '300', WEBHOOK_ROTATION_GRACE_MS: '600000' } });
    const res = await t.post('/v1/webhook-endpoints', { url: rx.url, description: 'shop' });
    assert.equal(res.status, 201);
    assert.match(res.body.secret, /^whsec_/);
    endpoint = res.body.endpoint.id;
    rx.secrets = [res.body.secret];
    assert.equal(JSON.stringify((await t.get('/v1/webhook-endpoints')).body).includes(res.body.secret), false, 'a listing never shows a secret');
  });
  after(async () => {
    await t.close();
    await rx.stop();
  });

  const resultsOf = async (fid: string) => (await t.results()).filter((r) => r.foreign_id === fid);
  const delivered = (fid: string) => rx.unique().filter((v) => v.result.foreign_id === fid);

  it('every result of an invoice arrives verified, with its event_id as webhook-id, in order', async () => {
    for (const id of ['wh-1', 'wh-2', 'wh-3']) assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', id))).status, 202);
    for (const id of ['wh-1', 'wh-2', 'wh-3']) await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', id))?.status === 'created', `${id} created`);
    for (const id of ['wh-1', 'wh-2']) t.sandbox.pay('cryptoprocessing', id);
    for (const id of ['wh-1', 'wh-2']) await t.waitFor(async () => delivered(id).some((v) => v.result.status === 'paid'), `${id} paid delivered`);
    await t.waitFor(async () => delivered('wh-3').length === 1, 'wh-3 created delivered');
    for (const id of ['wh-1', 'wh-2']) {
      // The platform calls back on every change: `pending` (a currency picked) comes second when
      // it comes at all (a `processing` that overtook it makes it a backwards move, not published).
      const order = delivered(id).map((v) => v.result.status);
      assert.deepEqual(
        order.filter((s) => s !== 'pending'),
        ['created', 'processing', 'paid'],
        `${id} in order`,
      );
      if (order.includes('pending')) assert.equal(order[1], 'pending', `${id} in order`);
      const published = await resultsOf(id);
      for (const v of delivered(id)) assert.equal(v.id, v.result.event_id, 'webhook-id is the event id');
      assert.deepEqual(
        delivered(id)
          .map((v) => v.id)
          .sort(),
        published.map((r) => r.event_id).sort(),
        'exactly what the results queue has',
      );
    }
    assert.equal(rx.refused, 0);
  });

  it('a receiver that fails, then times out, then comes back loses nothing; the delivery log shows each attempt', async () => {
    let calls = 0;
    rx.behaviour = (_req, res) => {
      calls++;
      if (calls === 1) return (void res.writeHead(500).end(), true);
      if (calls === 2) return (void res.writeHead(503, { 'retry-after': '0' }).end(), true);
      if (calls === 3) return true; // hangs: our timeout ends it
      return false;
    };
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'wh-flaky'))).status, 202);
    await t.waitFor(async () => delivered('wh-flaky').length === 1, 'delivered after it came back', 20_000);
    rx.behaviour = null;
    const [created] = await resultsOf('wh-flaky');
    const log = await t.get(`/v1/webhook-endpoints/${endpoint}/deliveries?event_id=${encodeURIComponent(created!.event_id)}`);
    assert.deepEqual(log.body.attempts.map((a: { outcome: unknown }) => a.outcome).reverse(), [500, 503, 'DEADLINE', 204]);
  });

  it('down for longer than the schedule: the endpoint is disabled; enabled and redelivered, the receiver has every result', async () => {
    rx.behaviour = (_req, res) => (res.writeHead(502).end(), true);
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'wh-down'))).status, 202);
    await t.waitFor(async () => (await t.system.endpoints.get(endpoint))?.status === 'disabled', 'the endpoint disabled', 20_000);
    const listed = (await t.get('/v1/webhook-endpoints')).body.endpoints.find((e: { id: string }) => e.id === endpoint);
    assert.match(listed.disabled_reason, /failed for about a day/);
    assert.ok(
      t.logs.some((l) => l.includes('result webhook endpoint disabled')),
      'reported',
    );
    // The endpoint's deliveries, listed without naming an event: the failing one among the failed,
    // the one delivered earlier among the delivered; paging one at a time meets each once.
    const [down] = await resultsOf('wh-down');
    const [flaky] = await resultsOf('wh-flaky');
    const failed = await t.get(`/v1/webhook-endpoints/${endpoint}/deliveries?status=failed`);
    assert.equal(failed.status, 200);
    const failedIds = failed.body.items.map((i: { event_id: string }) => i.event_id);
    assert.ok(failedIds.includes(down!.event_id), 'the failing delivery is listed as failed');
    assert.ok(!failedIds.includes(flaky!.event_id), 'a delivered one is not');
    assert.equal(failed.body.items.find((i: { event_id: string }) => i.event_id === down!.event_id).last_attempt.outcome, 502);
    const ok = await t.get(`/v1/webhook-endpoints/${endpoint}/deliveries?status=delivered`);
    assert.ok(ok.body.items.some((i: { event_id: string; status: string }) => i.event_id === flaky!.event_id && i.status === 'delivered'));
    const all = (await t.get(`/v1/webhook-endpoints/${endpoint}/deliveries?limit=1000`)).body.items.map((i: { event_id: string }) => i.event_id);
    const paged: string[] = [];
    for (let cursor: string | null = null, n = 0; n < 1000; n++) {
      const page: { body: { items: Array<{ event_id: string }>; next_cursor: string | null } } = await t.get(
        `/v1/webhook-endpoints/${endpoint}/deliveries?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      paged.push(...page.body.items.map((i) => i.event_id));
      cursor = page.body.next_cursor;
      if (!cursor) break;
    }
    assert.deepEqual(paged, all, 'one at a time, the same deliveries in the same order');
    assert.equal(new Set(paged).size, paged.length);
    assert.equal((await t.get(`/v1/webhook-endpoints/${endpoint}/deliveries?status=lost`)).status, 400);
    // Results made while it is disabled wait for it.
    t.sandbox.pay('cryptoprocessing', 'wh-down');
    await t.waitFor(async () => (await resultsOf('wh-down')).some((r) => r.status === 'paid'), 'paid published');
    rx.behaviour = null;
    const enabled = await t.post(`/v1/webhook-endpoints/${endpoint}/enable`, {});
    assert.equal(enabled.status, 200);
    assert.ok(enabled.body.promoted >= 1, 'its held deliveries go at once, not at their next look minutes away');
    const created = (await resultsOf('wh-down')).find((r) => r.status === 'created')!;
    const redo = await t.post(`/v1/webhook-endpoints/${endpoint}/redeliver`, { event_id: created.event_id, by: 'ops' });
    assert.equal(redo.status, 202);
    const owed = (await resultsOf('wh-down')).length;
    assert.ok(owed >= 3);
    await t.waitFor(async () => delivered('wh-down').length === owed, 'every result of wh-down delivered', 60_000);
    assert.deepEqual(
      delivered('wh-down')
        .map((v) => v.result.status)
        .filter((s) => s !== 'pending')
        .sort(),
      ['created', 'paid', 'processing'],
    );
    // A time range: everything again (receivers dedupe on webhook-id).
    const before = rx.verified.length;
    const range = await t.post(`/v1/webhook-endpoints/${endpoint}/redeliver`, { from: new Date(Date.now() - 3600_000).toISOString(), to: new Date().toISOString(), by: 'ops' });
    assert.ok(range.body.redelivering >= 3);
    await t.waitFor(async () => rx.verified.length >= before + range.body.redelivering, 'the range redelivered', 30_000);
    assert.equal((await t.post(`/v1/webhook-endpoints/${endpoint}/redeliver`, { by: 'ops' })).status, 400);
  });

  it('a secret rotation: both secrets sign during the grace, so the receiver switches without a gap; no secret in any log line', async () => {
    const rotated = await t.post(`/v1/webhook-endpoints/${endpoint}/rotate`, {});
    assert.equal(rotated.status, 201);
    const fresh = rotated.body.secret as string;
    const old = rx.secrets[0]!;
    rx.secrets = [fresh]; // the receiver switched at once
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'wh-rot'))).status, 202);
    await t.waitFor(async () => delivered('wh-rot').length === 1, 'delivered under the new secret');
    assert.equal(rx.verified.find((v) => v.result.foreign_id === 'wh-rot')?.signatures, 2, 'signed with both');
    rx.secrets = [old]; // a receiver still on the old one
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'wh-rot-2'))).status, 202);
    await t.waitFor(async () => delivered('wh-rot-2').length === 1, 'delivered to a receiver on the old secret too');
    assert.equal(rx.refused, 0);
    for (const s of [old, fresh])
      assert.equal(
        t.logs.some((l) => l.includes(s.slice(6, 30))),
        false,
        'no secret in the logs',
      );
  });

  it('bad registrations are refused naming the field', async () => {
    const bad = await t.post('/v1/webhook-endpoints', { url: 'http://example.com/hooks', secret: 'plain' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.issues.map((i: { field: string }) => i.field).sort(), ['secret', 'url']);
    assert.equal((await t.post('/v1/webhook-endpoints/nope/rotate', {})).status, 404);
  });
});
