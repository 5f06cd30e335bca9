/**
 * Who may move money, against the real app, real Redis and the real sandbox:
 * - API keys from API_KEYS_FILE: a key limited to a lane and to `orders:write` can create there
 *   and nowhere else, cannot read, repair or manage webhooks; reading another lane is a 404,
 *   acting on it a 403, in a batch that item's error only;
 * - the actor in the history, the audit line and the result is the key id, a body's `by` a note;
 *   confirm_not_created is in the history; attach takes only the lane's payment hosts;
 * - an endpoint registered by a lane-limited key hears only of its lanes;
 * - the keys file is read again when it changes (a bad one keeps the keys in force);
 * - failed authentications are logged without the credential, counted per surface, and braked per
 *   client address (other addresses unaffected);
 * - Bull Board users from ADMIN_USERS_FILE: a viewer changes nothing, an operator's repair names them.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webhookJobId } from '../../queues/webhooks.ts';
import { hashPassword, verifyPassword } from '../../src/access/admin-users.ts';
import { sha256Hex } from '../../src/access/api-keys.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

const TOKENS = {
  shop: 'tok-shop-eu-write-only-5Vq8',
  shopRw: 'tok-shop-eu-read-write-3Lp2',
  opsEu: 'tok-ops-eu-repairs-7Hd4',
  hooksEu: 'tok-hooks-eu-webhooks-9Kc1',
  ops: 'tok-ops-everything-2Wm6',
  later: 'tok-added-by-reload-8Rt3',
};
const METRICS_TOKEN = 'access-metrics-token-4Np7';
const VIEWER = { user: 'vera', password: 'vera-looks-only-6Gx2' };
const OPERATOR = { user: 'otto', password: 'otto-repairs-things-1Zs5' };

type Key = { id: string; token_sha256: string; scopes: string[]; lanes?: string[] };
const key = (id: string, token: string, scopes: string[], lanes?: string[]): Key => ({ id, token_sha256: sha256Hex(token), scopes, ...(lanes ? { lanes } : {}) });
const KEYS: Key[] = [
  key('shop-eu', TOKENS.shop, ['orders:write'], ['alphapo']),
  key('shop-eu-rw', TOKENS.shopRw, ['orders:write', 'orders:read'], ['alphapo']),
  key('ops-eu', TOKENS.opsEu, ['repairs', 'orders:read'], ['alphapo']),
  key('hooks-eu', TOKENS.hooksEu, ['webhooks'], ['alphapo']),
  key('ops', TOKENS.ops, ['orders:write', 'orders:read', 'repairs', 'webhooks']),
];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** One request over real HTTP, optionally from another loopback address (the brake is per address). */
function call(base: string, method: string, path: string, opts: { token?: string; auth?: string; body?: unknown; from?: string } = {}): Promise<Answer> {
  const url = new URL(path, base);
  const data = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.auth) headers.authorization = opts.auth;
  if (data) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, localAddress: opts.from ?? '127.0.0.1' }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

const basic = (u: { user: string; password: string }): string => `Basic ${Buffer.from(`${u.user}:${u.password}`).toString('base64')}`;

describe('access: API keys, attribution, Bull Board users, failed authentication', () => {
  let t: TestSystem;
  let dir: string;
  let keysFile: string;
  const api = (method: string, path: string, token: string, body?: unknown) => call(t.api, method, path, { token, body });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'access-'));
    keysFile = join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify(KEYS));
    const usersFile = join(dir, 'users.json');
    writeFileSync(
      usersFile,
      JSON.stringify([
        { user: VIEWER.user, password_hash: await hashPassword(VIEWER.password), role: 'viewer' },
        { user: OPERATOR.user, password_hash: await hashPassword(OPERATOR.password), role: 'operator' },
      ]),
    );
    t = await startTestSystem({
      env: { API_KEYS_FILE: keysFile, ADMIN_USERS_FILE: usersFile, METRICS_TOKEN, AUTH_FAILURE_LIMIT: '3' },
      callbacks: true,
    });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a lane-limited orders:write key creates on its lane only, and can neither read, repair nor manage webhooks', async () => {
    // An order on another lane, made by a full key.
    assert.equal((await api('POST', '/v1/invoices', TOKENS.ops, sampleOrder('cryptoprocessing', 'acc-cp'))).status, 202);
    const before = await t.system.store.get('cryptoprocessing', 'acc-cp');

    assert.equal((await api('POST', '/v1/invoices', TOKENS.shop, sampleOrder('alphapo', 'acc-ap'))).status, 202);
    const other = await api('POST', '/v1/invoices', TOKENS.shop, sampleOrder('cryptoprocessing', 'acc-cp-2'));
    assert.equal(other.status, 403);
    assert.deepEqual({ error: other.body.error, lane: other.body.lane }, { error: 'forbidden', lane: 'cryptoprocessing' });
    assert.equal(await t.system.store.get('cryptoprocessing', 'acc-cp-2'), null, 'nothing recorded');

    // A batch: the other lane's order is that item's error, the rest goes in.
    const batch = await api('POST', '/v1/invoices/batch', TOKENS.shop, { orders: [sampleOrder('alphapo', 'acc-ap-b'), sampleOrder('cryptoprocessing', 'acc-cp-b')] });
    assert.equal(batch.status, 200);
    assert.deepEqual(batch.body.counts, { accepted: 1, existing: 0, conflict: 0, invalid: 0, forbidden: 1 });
    assert.deepEqual(
      batch.body.results.map((r: { outcome: string }) => r.outcome),
      ['accepted', 'forbidden'],
    );
    assert.equal(batch.body.results[1].lane, 'cryptoprocessing');
    assert.equal(await t.system.store.get('cryptoprocessing', 'acc-cp-b'), null);

    // No read, repair or webhook scope: 403 naming the scope.
    const read = await api('GET', '/v1/invoices/alphapo/acc-ap', TOKENS.shop);
    assert.deepEqual([read.status, read.body.error, read.body.scope], [403, 'forbidden', 'orders:read']);
    for (const [method, path, body] of [
      ['POST', '/v1/invoices/alphapo/acc-ap/abandon', { reason: 'x' }],
      ['POST', '/v1/invoices/alphapo/acc-ap/retry', {}],
      ['POST', '/v1/invoices/retry', {}],
      ['POST', '/v1/invoices/cryptoprocessing/acc-cp/attach', { provider_invoice_id: '1', payment_url: 'https://pay.cryptoprocessing.com/x', reason: 'x' }],
    ] as const) {
      const res = await api(method, path, TOKENS.shop, body);
      assert.deepEqual([res.status, res.body.scope], [403, 'repairs'], `${method} ${path}`);
    }
    for (const [method, path] of [
      ['GET', '/v1/webhook-endpoints'],
      ['POST', '/v1/webhook-endpoints'],
    ] as const) {
      const res = await api(method, path, TOKENS.shop, method === 'POST' ? { url: 'https://hooks.example/x' } : undefined);
      assert.deepEqual([res.status, res.body.scope], [403, 'webhooks'], `${method} ${path}`);
    }
    // Cancelling (orders:write) on another lane: 403 for the lane.
    const cancel = await api('POST', '/v1/invoices/cryptoprocessing/acc-cp/cancel', TOKENS.shop, {});
    assert.deepEqual([cancel.status, cancel.body.lane], [403, 'cryptoprocessing']);

    // With orders:read: its own lane reads, another lane's order is not found (ids do not leak).
    assert.equal((await api('GET', '/v1/invoices/alphapo/acc-ap', TOKENS.shopRw)).status, 200);
    const hidden = await api('GET', '/v1/invoices/cryptoprocessing/acc-cp', TOKENS.shopRw);
    assert.deepEqual([hidden.status, hidden.body.error], [404, 'not_found']);
    assert.equal((await api('GET', '/v1/invoices/cryptoprocessing/acc-cp', TOKENS.ops)).status, 200, 'it exists');

    // With repairs on its lane only: another lane's order cannot be repaired, nor retried in bulk.
    const abandon = await api('POST', '/v1/invoices/cryptoprocessing/acc-cp/abandon', TOKENS.opsEu, { reason: 'x' });
    assert.deepEqual([abandon.status, abandon.body.lane], [403, 'cryptoprocessing']);
    assert.equal((await api('POST', '/v1/invoices/retry', TOKENS.opsEu, { provider: 'cryptoprocessing' })).status, 403);
    const after = await t.system.store.get('cryptoprocessing', 'acc-cp');
    assert.equal(after?.status === 'cancelled', false, 'not abandoned');
    assert.equal(after?.accepted_at, before?.accepted_at);
    assert.ok(!t.logs.some((l) => l.includes('order abandoned') && l.includes('acc-cp"')), 'no repair ran');
  });

  it("the actor is the key id, never the body's by (kept as a note); the audit line shows the actor unmasked", async () => {
    t.sandbox.addFault({ provider: 'alphapo', fault: 'commit-then-drop', count: 1 });
    // The orphan's cancel fails too, so the order is parked for an operator (else it recovers by itself).
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', op: 'cancel', count: 1 });
    assert.equal((await api('POST', '/v1/invoices', TOKENS.ops, sampleOrder('alphapo', 'acc-abandon'))).status, 202);
    await t.waitFor(async () => (await t.system.store.get('alphapo', 'acc-abandon'))?.reconcile, 'parked');
    const res = await api('POST', '/v1/invoices/alphapo/acc-abandon/abandon', TOKENS.opsEu, { reason: 'customer left', by: 'mallory.boss@corp.example' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const view = await api('GET', '/v1/invoices/alphapo/acc-abandon', TOKENS.opsEu);
    const last = view.body.history.at(-1);
    assert.equal(last.source, 'operator:ops-eu');
    assert.match(last.reason, /^abandoned by ops-eu \(note: mallory\.boss@corp\.example\): customer left$/);
    const line = t.logs.find((l) => l.includes('"msg":"order abandoned: done"') && l.includes('acc-abandon'));
    assert.ok(line, 'audited');
    assert.match(line, /"by":"ops-eu"/);
    assert.doesNotMatch(line, /"by":"mallory/);
  });

  it('confirm_not_created is written to the history, naming the key', async () => {
    t.sandbox.addFault({ provider: 'alphapo', fault: 'commit-then-drop', count: 1 });
    // The orphan's cancel fails too, so the order is parked for an operator (else it recovers by itself).
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', op: 'cancel', count: 1 });
    assert.equal((await api('POST', '/v1/invoices', TOKENS.ops, sampleOrder('alphapo', 'acc-confirm'))).status, 202);
    await t.waitFor(async () => (await t.system.store.get('alphapo', 'acc-confirm'))?.reconcile, 'parked');
    const res = await api('POST', '/v1/invoices/alphapo/acc-confirm/retry', TOKENS.opsEu, { confirm_not_created: true, by: 'carol' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const history = (await t.system.store.history((await t.system.store.get('alphapo', 'acc-confirm'))!.id)) as Array<{ source: string; reason?: string }>;
    assert.ok(
      history.some((h) => h.source === 'operator:ops-eu' && /^confirmed not created at the provider by ops-eu \(note: carol\)/.test(h.reason ?? '')),
      JSON.stringify(history),
    );
  });

  it("attach takes a payment URL only on the lane's payment hosts", async () => {
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'commit-then-drop', count: 1 });
    // The orphan's cancel fails too, so the order is parked for an operator (else it recovers by itself).
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: '5xx', op: 'cancel', count: 1 });
    assert.equal((await api('POST', '/v1/invoices', TOKENS.ops, sampleOrder('cryptoprocessing', 'acc-attach'))).status, 202);
    await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', 'acc-attach'))?.reconcile, 'parked');
    const inv = t.sandbox.invoice('cryptoprocessing', 'acc-attach')!;
    for (const url of [
      'http://pay.cryptoprocessing.com/x',
      'https://attacker.example/pay',
      'https://pay.cryptoprocessing.com.attacker.example/x',
      'https://u:p@pay.cryptoprocessing.com/x',
    ]) {
      const res = await api('POST', '/v1/invoices/cryptoprocessing/acc-attach/attach', TOKENS.ops, { provider_invoice_id: String(inv.id), payment_url: url, reason: 'found' });
      assert.equal(res.status, 400, url);
      assert.deepEqual(
        res.body.issues.map((i: { field: string }) => i.field),
        ['payment_url'],
      );
    }
    const still = await t.system.store.get('cryptoprocessing', 'acc-attach');
    assert.equal(still?.status, 'queued');
    assert.ok(still?.reconcile, 'still parked: nothing applied');
    // The provider's documented host is known; so is the built-in sandbox's own origin.
    const ok = await api('POST', '/v1/invoices/cryptoprocessing/acc-attach/attach', TOKENS.ops, {
      provider_invoice_id: String(inv.id),
      payment_url: `https://pay.cryptoprocessing.com/invoice/${inv.id}`,
      reason: 'found in the dashboard',
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.invoice.payment_url, `https://pay.cryptoprocessing.com/invoice/${inv.id}`);
  });

  it("an endpoint registered by a lane-limited key receives only its lanes' results, and only it sees the endpoint", async () => {
    const got: string[] = [];
    const server: Server = createServer((req, res) => {
      // Both endpoints point here: the limited one at /hooks, the full one at /hooks/all.
      if (req.url === '/hooks') got.push(String(req.headers['webhook-id']));
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
      const limited = await api('POST', '/v1/webhook-endpoints', TOKENS.hooksEu, { url });
      assert.equal(limited.status, 201);
      assert.deepEqual(limited.body.endpoint.lanes, ['alphapo']);
      const full = await api('POST', '/v1/webhook-endpoints', TOKENS.ops, { url: `${url}/all` });
      assert.equal(full.status, 201);
      assert.equal(full.body.endpoint.lanes, undefined);
      // The limited key sees and manages only its own; the full key sees both.
      const listed = await api('GET', '/v1/webhook-endpoints', TOKENS.hooksEu);
      assert.deepEqual(
        listed.body.endpoints.map((e: { id: string }) => e.id),
        [limited.body.endpoint.id],
      );
      assert.equal((await api('POST', `/v1/webhook-endpoints/${full.body.endpoint.id}/rotate`, TOKENS.hooksEu)).status, 404);
      assert.equal((await api('DELETE', `/v1/webhook-endpoints/${full.body.endpoint.id}`, TOKENS.hooksEu)).status, 404);
      assert.ok(await t.system.endpoints.get(full.body.endpoint.id), 'not removed');
      assert.equal((await api('GET', '/v1/webhook-endpoints', TOKENS.ops)).body.endpoints.length >= 2, true);

      assert.equal((await api('POST', '/v1/invoices', TOKENS.ops, sampleOrder('cryptoprocessing', 'acc-hook-cp'))).status, 202);
      assert.equal((await api('POST', '/v1/invoices', TOKENS.ops, sampleOrder('alphapo', 'acc-hook-ap'))).status, 202);
      const resultOf = async (provider: string, fid: string) => (await t.results()).find((r) => r.provider === provider && r.foreign_id === fid)?.event_id;
      const cpEvent = await t.waitFor(() => resultOf('cryptoprocessing', 'acc-hook-cp'), 'the cryptoprocessing result');
      const apEvent = await t.waitFor(() => resultOf('alphapo', 'acc-hook-ap'), 'the alphapo result');
      // Its own lane's result reaches the limited endpoint.
      await t.waitFor(async () => got.includes(apEvent), 'the alphapo result at the limited endpoint');
      // Both results were fanned out (the full endpoint has a delivery of each, added in the same
      // step as any of the limited one's); the limited endpoint has none for the other lane.
      await t.waitFor(async () => (await t.system.webhooksQueue.getJob(webhookJobId(full.body.endpoint.id, cpEvent))) !== undefined, 'fanned out');
      assert.equal(await t.system.webhooksQueue.getJob(webhookJobId(limited.body.endpoint.id, cpEvent)), undefined);
      assert.ok(!got.includes(cpEvent));
      // Nor can a redelivery send it there.
      const redo = await api('POST', `/v1/webhook-endpoints/${limited.body.endpoint.id}/redeliver`, TOKENS.hooksEu, { event_id: cpEvent, by: 'dave' });
      assert.deepEqual([redo.status, redo.body.redelivering], [202, 0]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('the keys file is read again when it changes; a bad file keeps the keys in force', async () => {
    const ring = t.system.keys!;
    assert.equal((await call(t.api, 'GET', '/v1/invoices/alphapo/acc-ap', { token: TOKENS.later, from: '127.0.0.9' })).status, 401);
    const reloaded = once(ring, 'reload');
    writeFileSync(keysFile, JSON.stringify([...KEYS, key('later', TOKENS.later, ['orders:read'])]));
    await reloaded;
    assert.equal((await api('GET', '/v1/invoices/alphapo/acc-ap', TOKENS.later)).status, 200);

    const refused = once(ring, 'reload-error');
    writeFileSync(keysFile, '[{"id": "broken", "token_sha256": "nothex", "scopes": []}]');
    const [err] = (await refused) as [{ message: string }];
    assert.match(err.message, /keys\[0\]\.token_sha256/);
    assert.ok(t.logs.some((l) => l.includes('API keys file refused')));
    assert.equal((await api('GET', '/v1/invoices/alphapo/acc-ap', TOKENS.later)).status, 200, 'the keys in force stay');
    assert.equal((await api('GET', '/v1/invoices/alphapo/acc-ap', TOKENS.ops)).status, 200);

    // Rotation: the old key goes once the file no longer has it.
    const again = once(ring, 'reload');
    writeFileSync(keysFile, JSON.stringify(KEYS));
    await again;
    assert.equal((await call(t.api, 'GET', '/v1/invoices/alphapo/acc-ap', { token: TOKENS.later, from: '127.0.0.10' })).status, 401);
  });

  it('failed authentications are logged without the credential, counted per surface, and braked per address', async () => {
    const wrong = 'tok-wrong-guess-0000000000';
    for (let i = 0; i < 3; i++) assert.equal((await call(t.api, 'GET', '/v1/invoices/alphapo/acc-ap', { token: wrong, from: '127.0.0.2' })).status, 401);
    // The limit reached: that address waits, even with a right token...
    const braked = await call(t.api, 'GET', '/v1/invoices/alphapo/acc-ap', { token: TOKENS.ops, from: '127.0.0.2' });
    assert.equal(braked.status, 429);
    assert.ok(Number(braked.headers['retry-after']) > 0 && Number(braked.headers['retry-after']) <= 60);
    // ...and its wrong tokens do not slow anyone else: another address gets in, or a plain 401.
    assert.equal((await call(t.api, 'GET', '/v1/invoices/alphapo/acc-ap', { token: TOKENS.ops, from: '127.0.0.1' })).status, 200);
    assert.equal((await call(t.api, 'GET', '/v1/invoices/alphapo/acc-ap', { token: wrong, from: '127.0.0.3' })).status, 401);
    // Bull Board and /metrics count too.
    assert.equal((await call(t.api, 'GET', '/admin/queues/api/queues', { auth: basic({ user: VIEWER.user, password: 'wrong-password-xyz' }), from: '127.0.0.4' })).status, 401);
    assert.equal((await call(t.api, 'GET', '/metrics', { token: 'wrong-metrics-token-000', from: '127.0.0.5' })).status, 401);

    const metrics = await call(t.api, 'GET', '/metrics', { token: METRICS_TOKEN });
    const count = (surface: string): number => Number(new RegExp(`^invoice_worker_auth_failures_total\\{surface="${surface}"\\} (\\d+)`, 'm').exec(metrics.body)?.[1] ?? 0);
    // 3 from .2 and 1 from .3 here; earlier tests add the reload test's two, from .9 and .10.
    assert.equal(count('api'), 6);
    assert.equal(count('admin'), 1);
    assert.equal(count('metrics'), 1);
    assert.match(metrics.body, /# HELP invoice_worker_auth_failures_total Failed authentications by surface \(api, admin, metrics\)\./);

    const lines = t.logs.filter((l) => l.includes('"msg":"authentication failed"') || l.includes('"msg":"admin sign-in refused"'));
    assert.ok(lines.some((l) => l.includes('"surface":"api"') && l.includes('"ip":"127.0.0.2"') && l.includes('"path":"/v1/invoices/alphapo/acc-ap"')));
    assert.ok(lines.some((l) => l.includes('"surface":"admin"') && l.includes('"ip":"127.0.0.4"')));
    assert.ok(lines.some((l) => l.includes('"surface":"metrics"') && l.includes('"ip":"127.0.0.5"')));
    for (const secret of [wrong, 'wrong-password-xyz', 'wrong-metrics-token-000', TOKENS.ops]) {
      assert.equal(
        t.logs.some((l) => l.includes(secret)),
        false,
        `${secret} is not logged`,
      );
    }
  });

  it('Bull Board users: a viewer looks but cannot change anything; an operator repairs, named as the actor', async () => {
    t.sandbox.addFault({ provider: 'alphapo', fault: 'commit-then-drop', count: 1 });
    // The orphan's cancel fails too, so the order is parked for an operator (else it recovers by itself).
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', op: 'cancel', count: 1 });
    assert.equal((await api('POST', '/v1/invoices', TOKENS.ops, sampleOrder('alphapo', 'acc-board'))).status, 202);
    await t.waitFor(async () => (await t.system.store.get('alphapo', 'acc-board'))?.reconcile, 'parked');
    const board = (path: string, who: { user: string; password: string }, method = 'GET', body?: unknown) =>
      call(t.api, method, `/admin/queues${path}`, { auth: basic(who), body });

    const looks = await board('/api/queues', VIEWER);
    assert.equal(looks.status, 200);
    for (const q of looks.body.queues) assert.equal(q.readOnlyMode, true);
    const repair = { name: 'abandon', data: { provider: 'alphapo', foreign_id: 'acc-board', reason: 'gone', by: 'typed-name' } };
    assert.equal((await board('/api/queues/invoice-repairs/add', VIEWER, 'POST', repair)).status, 403);
    for (const path of ['/api/queues/invoice-results/pause', '/api/queues/invoice-webhooks/resume', '/api/queues/pause', '/api/queues/invoice-results/clean/completed']) {
      const res = await board(path, VIEWER, 'PUT');
      assert.ok(res.status === 405 || res.status === 403, `${path}: ${res.status}`);
    }
    assert.equal(await t.system.resultsQueue.isPaused(), false);
    assert.equal((await t.system.repairsQueue.getJobCounts()).waiting ?? 0, 0);
    assert.equal((await t.system.store.get('alphapo', 'acc-board'))?.status, 'queued');

    const operates = await board('/api/queues', OPERATOR);
    assert.equal(operates.status, 200);
    assert.ok(operates.body.queues.some((q: { readOnlyMode: boolean }) => !q.readOnlyMode));
    const added = await board('/api/queues/invoice-repairs/add', OPERATOR, 'POST', repair);
    assert.equal(added.status, 200, JSON.stringify(added.body));
    await t.waitFor(async () => (await t.system.store.get('alphapo', 'acc-board'))?.status === 'cancelled', 'abandoned by the repairs worker');
    const record = await t.system.store.get('alphapo', 'acc-board');
    const history = (await t.system.store.history(record!.id)) as Array<{ source: string; reason?: string }>;
    assert.equal(history.at(-1)?.source, `operator:${OPERATOR.user}`);
    assert.match(history.at(-1)?.reason ?? '', /^abandoned by otto \(note: typed-name\): gone$/);
  });
});

describe('cli hash-password', () => {
  const ROOT = new URL('../../', import.meta.url);
  const run = (stdin: string): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', 'src/cli.ts', 'hash-password'],
        { cwd: ROOT, env: { PATH: process.env.PATH }, timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(stdin);
    });

  it('reads a password on stdin and prints a scrypt hash that verifies it, without Redis or configuration', async () => {
    const ok = await run('a-password-for-the-board\n');
    assert.equal(ok.code, 0, ok.stderr);
    const hash = ok.stdout.trim();
    assert.match(hash, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword('a-password-for-the-board', hash), true);
    assert.ok(!ok.stdout.includes('a-password-for-the-board') && !ok.stderr.includes('a-password-for-the-board'), 'never echoed');
    const short = await run('short\n');
    assert.equal(short.code, 1);
    assert.match(short.stderr, /at least 12 characters/);
  });
});
