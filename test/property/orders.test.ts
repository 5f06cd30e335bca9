/**
 * Hostile input on the producer API (`POST /v1/invoices`, `POST /v1/invoices/batch`), generated:
 * any JSON at all, valid orders with one field made wrong (wrong types, out-of-range numbers,
 * huge strings, unicode and control characters, unknown keys, `__proto__` / `constructor`),
 * invalid JSON, deep nesting, wrong content types. Every one is answered 4xx naming the
 * problem (400 with `issues[].field`, or an error code), nothing is enqueued or stored, and the
 * server still answers /healthz. The API runs alone (role `api`): a job it enqueued would stay
 * in the queue for the fingerprint to see.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PROVIDER_IDS as PROVIDERS } from '../../src/providers/registry.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { badOrder, namesField, type Bad } from './arbitraries.ts';
import { deepJson, fingerprint, invalidJson, nastyString, raw, assertUnchanged } from './helpers.ts';

const API_TOKEN = 'property-token-4Kp9xQ2mW7';
const json = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };
const RUNS = { numRuns: 60 };

describe('hostile input: producer API', () => {
  let t: TestSystem;
  let before0: string;
  before(async () => {
    t = await startTestSystem({ role: 'api', env: { API_TOKEN } });
    before0 = await fingerprint(t);
  });
  after(async () => {
    await t.close();
  });

  const unchanged = (): Promise<void> => assertUnchanged(t, before0);

  it('POST /v1/invoices: an order with one bad field is refused with 400 naming that field', async () => {
    await fc.assert(
      fc.asyncProperty(badOrder, async (bad) => {
        const res = await raw(`${t.api}/v1/invoices`, bad.body, json);
        assert.equal(res.status, 400, `${res.status} ${JSON.stringify(res.body).slice(0, 300)} for ${bad.body.slice(0, 300)}`);
        assert.equal(res.body.error, 'invalid_order');
        assert.ok(Array.isArray(res.body.issues) && res.body.issues.length > 0);
        for (const i of res.body.issues) assert.ok(typeof i.field === 'string' && i.field && typeof i.message === 'string' && i.message, JSON.stringify(i));
        assert.ok(namesField(res.body.issues, bad), `expected ${bad.unknownKey ?? bad.field} named in ${JSON.stringify(res.body.issues).slice(0, 500)}`);
        await unchanged();
      }),
      RUNS,
    );
  });

  it('POST /v1/invoices: any JSON value at all is refused with 400', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        const res = await raw(`${t.api}/v1/invoices`, JSON.stringify(value), json);
        assert.equal(res.status, 400, `${res.status} for ${JSON.stringify(value).slice(0, 200)}`);
        assert.ok(['invalid_order', 'invalid_json'].includes(res.body.error), JSON.stringify(res.body));
        if (res.body.error === 'invalid_order') assert.ok(res.body.issues.every((i: { field: string }) => typeof i.field === 'string' && i.field));
        await unchanged();
      }),
      RUNS,
    );
  });

  it('invalid JSON is 400 invalid_json; a body not declared JSON is 415', async () => {
    await fc.assert(
      fc.asyncProperty(invalidJson, fc.constantFrom('/v1/invoices', '/v1/invoices/batch'), async (text, path) => {
        const res = await raw(`${t.api}${path}`, text, json);
        assert.equal(res.status, 400, `${res.status} for ${JSON.stringify(text)}`);
        assert.ok(['invalid_json', 'invalid_order', 'invalid_batch'].includes(res.body.error), JSON.stringify(res.body));
        await unchanged();
      }),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
          'text/json',
          'application/jsonp',
          'application/octet-stream',
        ),
        fc.constantFrom('/v1/invoices', '/v1/invoices/batch'),
        async (type, path) => {
          // A valid order: refused for its content type alone.
          const order = sampleOrder('alphapo', 'typed-order');
          const body = path.endsWith('batch') ? JSON.stringify({ orders: [order] }) : JSON.stringify(order);
          const res = await raw(`${t.api}${path}`, body, { authorization: json.authorization, 'content-type': type });
          assert.equal(res.status, 415, `${res.status} for ${type}`);
          assert.equal(res.body.error, 'unsupported_media_type');
          await unchanged();
        },
      ),
      { numRuns: 14 },
    );
  });

  it('deep nesting and huge strings are refused without harm', async () => {
    for (const [depth, kind] of [
      [50, 'object'],
      [5000, 'object'],
      [100_000, 'array'],
      [1_000_000, 'array'],
    ] as const) {
      const nested = deepJson(depth, kind);
      for (const body of [nested, `{"provider":"alphapo","foreign_id":"deep","amount":"10","currency":"EUR","provider_options":${nested}}`, `{"orders":[${nested}]}`]) {
        for (const path of ['/v1/invoices', '/v1/invoices/batch']) {
          const res = await raw(`${t.api}${path}`, body, json);
          if (path.endsWith('batch') && body.startsWith('{"orders"')) {
            assert.equal(res.status, 200, `batch answers per item (${depth} ${kind})`);
            assert.equal(res.body.counts.invalid, 1);
          } else {
            assert.ok([400].includes(res.status), `${res.status} for depth ${depth} ${kind} on ${path}`);
          }
        }
      }
    }
    const big = JSON.stringify({ ...sampleOrder('alphapo', 'big'), description: 'x'.repeat(2_000_000) });
    const res = await raw(`${t.api}/v1/invoices`, big, json);
    assert.equal(res.status, 400);
    assert.ok(res.body.issues.some((i: { field: string }) => i.field === 'description'));
    await unchanged();
  });

  it('POST /v1/invoices/batch: a batch of bad orders is answered item by item, each invalid with its fields', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(badOrder, { minLength: 1, maxLength: 15 }), async (bads) => {
        const body = `{"orders":[${bads.map((b) => b.body).join(',')}]}`;
        const res = await raw(`${t.api}/v1/invoices/batch`, body, json);
        assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
        assert.equal(res.body.counts.invalid, bads.length);
        assert.equal(res.body.results.length, bads.length);
        res.body.results.forEach((r: { index: number; outcome: string; issues: Array<{ field: string; message: string }> }, i: number) => {
          assert.equal(r.index, i);
          assert.equal(r.outcome, 'invalid');
          assert.ok(namesField(r.issues, bads[i] as Bad), `item ${i}: ${JSON.stringify(r.issues).slice(0, 300)}`);
        });
        await unchanged();
      }),
      { numRuns: 25 },
    );
  });

  it('POST /v1/invoices/batch: a malformed envelope is 400 invalid_batch', async () => {
    const envelopes = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).filter((v) => !(v && typeof v === 'object' && !Array.isArray(v) && Array.isArray((v as Record<string, unknown>).orders))),
      fc.constant({ orders: [] }),
      fc.constant({ orders: Array.from({ length: 1001 }, () => ({})) }),
      fc.constant({ orders: [{}], extra: true }),
      fc.record({ orders: fc.oneof(fc.string(), fc.integer(), fc.object(), fc.constant(null)) }),
    );
    await fc.assert(
      fc.asyncProperty(envelopes, async (value) => {
        const res = await raw(`${t.api}/v1/invoices/batch`, JSON.stringify(value), json);
        assert.equal(res.status, 400, `${res.status} for ${JSON.stringify(value).slice(0, 200)}`);
        assert.ok(['invalid_batch', 'invalid_json'].includes(res.body.error), JSON.stringify(res.body).slice(0, 200));
        if (res.body.error === 'invalid_batch') assert.ok(res.body.issues.length > 0 && res.body.issues.every((i: { field: string }) => i.field));
        await unchanged();
      }),
      { numRuns: 40 },
    );
  });

  it('GET and retry with hostile path segments answer 404 or 409, never 5xx, and change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom(...PROVIDERS), nastyString, fc.string()).filter((s) => s !== '' && s.isWellFormed()),
        fc.oneof(nastyString, fc.string({ maxLength: 300 })).filter((s) => s !== '' && s.isWellFormed()),
        async (provider, foreignId) => {
          const path = `/v1/invoices/${encodeURIComponent(provider)}/${encodeURIComponent(foreignId)}`;
          const got = await raw(`${t.api}${path}`, undefined, { authorization: json.authorization }, 'GET');
          assert.ok([404].includes(got.status), `${got.status} for GET ${path}`);
          const retried = await raw(`${t.api}${path}/retry`, '{}', json);
          assert.ok([404, 409].includes(retried.status), `${retried.status} for retry ${path}`);
          await unchanged();
        },
      ),

      { numRuns: 30 },
    );
  });
});
