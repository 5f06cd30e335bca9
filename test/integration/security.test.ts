/**
 * Security at the edges, against the real app:
 * - with API_TOKEN, ADMIN_USER/ADMIN_PASSWORD and METRICS_TOKEN set, every endpoint but /healthz,
 *   /readyz and the signed webhooks refuses a request without credentials, or with wrong ones
 *   (401; Bull Board 403 when it has no credentials at all), on every method;
 * - body size limits: 413 for the producer API over 5 MB and for callbacks over 256 kB;
 * - every credential check is decided by `crypto.timingSafeEqual` (src/signing.ts `safeEqual`),
 *   proven by behaviour: with that one function forced to say "equal", wrong credentials of the
 *   right length get in everywhere, so no path compares with `===` on the side.
 * The log scan for secrets and personal data is part of every chaos run (test/chaos/checks.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import fc from 'fast-check';
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/index.ts';
import { signBody } from '../../src/signing.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

const API_TOKEN = 'sec-api-token-Qm4Tz8Lw2Vb6';
const ADMIN_USER = 'sec-operator';
const ADMIN_PASSWORD = 'sec-admin-pw-Hx3Ny7Kd';
const METRICS_TOKEN = 'sec-metrics-token-Rb5Wc9Pj';
const sameLength = (s: string): string => s.slice(0, -1) + (s.endsWith('x') ? 'y' : 'x');
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function call(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
  const res = await fetch(url, { method, headers: body ? { 'content-type': 'application/json', ...headers } : headers, body, redirect: 'manual' });
  await res.arrayBuffer();
  return res.status;
}

/** Every route of the API role that needs credentials, with its method(s). */
const PROTECTED: Array<[string, string[]]> = [
  ['/v1/invoices', ['POST']],
  ['/v1/invoices/batch', ['POST']],
  ['/v1/invoices/retry', ['POST']],
  ['/v1/invoices/alphapo/some-order', ['GET']],
  ['/v1/invoices/alphapo/some-order/retry', ['POST']],
  ['/metrics', ['GET']],
  ['/admin/queues', ['GET']],
  ['/admin/queues/', ['GET']],
  ['/admin/queues/api/queues', ['GET']],
  ['/admin/queues/api/queues/invoice-create.alphapo/create.alphapo.r.x', ['GET']],
  ['/admin/queues/api/queues/invoice-create.alphapo/create.alphapo.r.x/retry', ['PUT']],
  ['/admin/queues/api/queues/invoice-create.alphapo/retry/failed', ['PUT']],
  ['/admin/queues/api/queues/invoice-create.alphapo/clean/failed', ['PUT']],
  ['/admin/queues/api/queues/invoice-create.alphapo/pause', ['PUT']],
  ['/admin/queues/api/queues/invoice-create.alphapo/obliterate', ['PUT']],
  ['/admin/queues/api/queues/invoice-create.alphapo/add', ['POST']],
  ['/admin/queues/api/queues/invoice-repairs/add', ['POST']],
  ['/admin/queues/api/redis/stats', ['GET']],
];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

describe('security', () => {
  let t: TestSystem;
  before(async () => {
    // Hundreds of wrong credentials from one address: the per-address brake (test/integration/access.test.ts) is off here.
    t = await startTestSystem({ role: 'api', env: { API_TOKEN, ADMIN_USER, ADMIN_PASSWORD, ADMIN_ROLE: 'operator', METRICS_TOKEN, AUTH_FAILURE_LIMIT: '0' }, callbacks: true });
  });
  after(async () => {
    await t.close();
  });

  it('every protected endpoint, on every method, refuses no credentials and wrong credentials', async () => {
    const wrong: Array<Record<string, string>> = [
      {},
      { authorization: `Bearer ${sameLength(API_TOKEN)}` },
      { authorization: `Bearer ${API_TOKEN}x` },
      { authorization: `Bearer ${API_TOKEN.slice(1)}` },
      { authorization: API_TOKEN },
      { authorization: `Basic ${API_TOKEN}` },
      { authorization: `Bearer ${METRICS_TOKEN}` }, // a real token, for another door
      { authorization: basic(ADMIN_USER, sameLength(ADMIN_PASSWORD)) },
      { authorization: basic(sameLength(ADMIN_USER), ADMIN_PASSWORD) },
      { authorization: basic(ADMIN_USER, '') },
      { authorization: 'Basic !!!not-base64!!!' },
      { 'x-api-key': API_TOKEN },
    ];
    for (const [path, methods] of PROTECTED) {
      for (const method of METHODS) {
        for (const headers of wrong) {
          // The right credential for this door is not a wrong one (the metrics token on /metrics).
          if (path === '/metrics' && headers.authorization === `Bearer ${METRICS_TOKEN}`) continue;
          const status = await call(`${t.api}${path}`, method, headers, method === 'GET' ? undefined : '{}');
          // Routes answer 401 whatever the method; methods a route lacks may also be 404 behind the guard.
          assert.ok(
            status === 401 || (!methods.includes(method) && status === 404 && !path.startsWith('/v1') && !path.startsWith('/admin')),
            `${method} ${path} with ${JSON.stringify(headers)}: ${status}`,
          );
        }
      }
    }
    // The right credentials open each door (so the refusals above are not a door that never opens).
    assert.equal(await call(`${t.api}/v1/invoices/alphapo/some-order`, 'GET', { authorization: `Bearer ${API_TOKEN}` }), 404);
    assert.equal(await call(`${t.api}/metrics`, 'GET', { authorization: `Bearer ${METRICS_TOKEN}` }), 200);
    assert.equal(await call(`${t.api}/admin/queues/api/queues`, 'GET', { authorization: basic(ADMIN_USER, ADMIN_PASSWORD) }), 200);
    // Public by design: health, readiness, and the webhooks (authenticated by signature instead).
    assert.equal(await call(`${t.api}/healthz`, 'GET'), 200);
    assert.equal(await call(`${t.api}/readyz`, 'GET'), 200);
    assert.equal(await call(`${t.api}/webhooks/alphapo`, 'POST', {}, '{}'), 401);
  });

  it('any path under /v1 or /admin/queues, on any method, is 401 without credentials', async () => {
    const segment = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.%~'), minLength: 1, maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/v1', '/admin/queues'), fc.array(segment, { maxLength: 4 }), fc.constantFrom(...METHODS), async (root, parts, method) => {
        const path = `${root}/${parts.join('/')}`;
        const status = await call(`${t.api}${path}`, method, {}, method === 'GET' ? undefined : '{}');
        assert.ok(status === 401 || status === 400, `${method} ${path}: ${status}`);
      }),
      { numRuns: 80 },
    );
  });

  it('bodies over the limit are refused with 413', async () => {
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const huge = JSON.stringify({ ...sampleOrder('alphapo', 'huge'), description: 'x'.repeat(6 * 1024 * 1024) });
    assert.equal(await call(`${t.api}/v1/invoices`, 'POST', auth, huge), 413);
    assert.equal(await call(`${t.api}/v1/invoices/batch`, 'POST', auth, JSON.stringify({ orders: [JSON.parse(huge)] })), 413);
    const bigCallback = JSON.stringify({ type: 'invoice', id: 1, foreign_id: 'x', status: 'confirmed', pad: 'x'.repeat(300 * 1024) });
    for (const provider of ['cryptoprocessing', 'alphapo'] as const) {
      const headers = { 'x-processing-key': SANDBOX_CREDENTIALS[provider].apiKey, 'x-processing-signature': signBody(bigCallback, SANDBOX_CREDENTIALS[provider].apiSecret) };
      assert.equal(await call(`${t.api}/webhooks/${provider}`, 'POST', headers, bigCallback), 413, provider);
    }
    assert.equal(await call(`${t.api}/webhooks/cryptosteroid/cryptosteroid.r.x`, 'POST', { token: 'x' }, bigCallback), 413);
    assert.equal((await t.createCounts('wait', 'active', 'delayed', 'failed', 'completed', 'prioritized')).wait ?? 0, 0, 'nothing enqueued');
    assert.equal(await t.system.eventsQueue.count(), 0, 'nothing stored');
  });

  it('every credential check is decided by crypto.timingSafeEqual (constant time), never by ===', async () => {
    // Receive an order so a CryptoSteroid record with a per-order secret exists.
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptosteroid', 'sec-cs'), { authorization: `Bearer ${API_TOKEN}` })).status, 202);
    const cs = await t.system.store.get('cryptosteroid', 'sec-cs');
    assert.ok(cs);
    const body = JSON.stringify({ id: 826900, foreign_id: 'sec-unknown', type: 'invoice', status: 'confirmed' });
    const csBody = JSON.stringify({ invoiceId: '7f1c2a3e-8b4d-4c7a-9e2f-5a1b7d3c9e04', invoiceUrl: 'https://pay.example/x', status: 'PAID', externalId: 'sec-cs' });
    const doors: Array<{ name: string; wrong: () => Promise<number>; open: number; secret: string }> = [
      { name: 'API bearer token', wrong: () => call(`${t.api}/v1/invoices/alphapo/x`, 'GET', { authorization: `Bearer ${sameLength(API_TOKEN)}` }), open: 404, secret: API_TOKEN },
      { name: 'metrics token', wrong: () => call(`${t.api}/metrics`, 'GET', { authorization: `Bearer ${sameLength(METRICS_TOKEN)}` }), open: 200, secret: METRICS_TOKEN },
      {
        name: 'admin password',
        wrong: () => call(`${t.api}/admin/queues/api/queues`, 'GET', { authorization: basic(ADMIN_USER, sameLength(ADMIN_PASSWORD)) }),
        open: 200,
        secret: ADMIN_PASSWORD,
      },
      {
        name: 'platform callback HMAC',
        wrong: () => call(`${t.api}/webhooks/alphapo`, 'POST', { 'x-processing-key': SANDBOX_CREDENTIALS.alphapo.apiKey, 'x-processing-signature': 'ab'.repeat(64) }, body),
        open: 200,
        secret: signBody(body, SANDBOX_CREDENTIALS.alphapo.apiSecret),
      },
      {
        name: 'platform callback key',
        wrong: () =>
          call(
            `${t.api}/webhooks/cryptoprocessing`,
            'POST',
            {
              'x-processing-key': sameLength(SANDBOX_CREDENTIALS.cryptoprocessing.apiKey),
              'x-processing-signature': signBody(body, SANDBOX_CREDENTIALS.cryptoprocessing.apiSecret),
            },
            body,
          ),
        open: 200,
        secret: SANDBOX_CREDENTIALS.cryptoprocessing.apiKey,
      },
      {
        name: 'CryptoSteroid per-order token',
        wrong: () => call(`${t.api}/webhooks/cryptosteroid/${encodeURIComponent(cs.id)}`, 'POST', { token: sameLength(cs.secret) }, csBody),
        open: 200,
        secret: cs.secret,
      },
    ];

    const original = crypto.timingSafeEqual;
    const seen: string[] = [];
    let forceEqual = false;
    crypto.timingSafeEqual = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      seen.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('utf8'), Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
      return forceEqual ? a.byteLength === b.byteLength : original(a, b);
    };
    syncBuiltinESMExports();
    try {
      for (const door of doors) {
        seen.length = 0;
        forceEqual = false;
        assert.equal(await door.wrong(), 401, `${door.name}: a wrong credential is refused`);
        assert.ok(seen.includes(door.secret), `${door.name}: compared with timingSafeEqual`);
        forceEqual = true;
        assert.equal(await door.wrong(), door.open, `${door.name}: the decision is timingSafeEqual's alone`);
      }
    } finally {
      crypto.timingSafeEqual = original;
      syncBuiltinESMExports();
    }
  });
});

describe('security: worker role and a deployment without admin credentials', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ role: 'worker', env: { METRICS_TOKEN } });
  });
  after(async () => {
    await t.close();
  });

  it('the worker role serves only health and metrics, and metrics need the token', async () => {
    assert.equal(await call(`${t.api}/metrics`, 'GET'), 401);
    assert.equal(await call(`${t.api}/metrics`, 'GET', { authorization: `Bearer ${sameLength(METRICS_TOKEN)}` }), 401);
    assert.equal(await call(`${t.api}/metrics`, 'GET', { authorization: `Bearer ${METRICS_TOKEN}` }), 200);
    assert.equal(await call(`${t.api}/healthz`, 'GET'), 200);
    for (const path of ['/v1/invoices', '/admin/queues', '/webhooks/alphapo']) assert.equal(await call(`${t.api}${path}`, 'POST', {}, '{}'), 404, path);
  });

  it('Bull Board without credentials (and not in sandbox mode) is closed: 403', async () => {
    const api = await startTestSystem({ role: 'api', env: { API_TOKEN, SANDBOX: 'off' } });
    try {
      for (const path of ['/admin/queues', '/admin/queues/api/queues']) assert.equal(await call(`${api.api}${path}`, 'GET'), 403, path);
    } finally {
      await api.close();
    }
  });
});
