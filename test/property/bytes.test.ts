/**
 * Hostile bytes and headers on the producer API, generated: bodies that are not well-formed UTF-8
 * (stray continuation bytes, overlong, surrogate and truncated sequences, bytes UTF-8 never uses),
 * plain or gzipped, alone or inside a batch; Content-Type variants and charsets; garbage and huge
 * Authorization values; huge and numerous headers; Content-Length and Transfer-Encoding that
 * disagree with the body. A body that is not UTF-8 is 400 `invalid_encoding`; nothing else is
 * ever answered 5xx; and nothing is enqueued or stored. The API runs alone (role `api`).
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { fingerprint, assertUnchanged } from './helpers.ts';
import { rawExchange, request } from './raw-http.ts';

// Without this the reason a property failed is only in the error's `cause`, which node's reporter does not print.
fc.configureGlobal({ includeErrorInReport: true });

const API_TOKEN = 'property-token-By7tE5uQ3k';
const ADMIN_USER = 'bytes-operator';
const ADMIN_PASSWORD = 'bytes-admin-pw-W6rJ1xC9';
const bearer = { authorization: `Bearer ${API_TOKEN}` };

/** Byte sequences that are not UTF-8 wherever they stand (each is followed by ASCII or the end). */
const notUtf8: fc.Arbitrary<Buffer> = fc.oneof(
  fc.integer({ min: 0x80, max: 0xbf }).map((b) => Buffer.from([b])), // a continuation byte with no lead
  fc.integer({ min: 0xc2, max: 0xf4 }).map((b) => Buffer.from([b])), // a lead byte with no continuation
  fc.integer({ min: 0xf5, max: 0xff }).map((b) => Buffer.from([b])), // never in UTF-8
  fc
    .constantFrom(
      [0xc0, 0x80], // overlong NUL
      [0xc1, 0xbf],
      [0xe0, 0x80, 0xaf], // overlong '/'
      [0xed, 0xa0, 0x80], // a UTF-16 surrogate, encoded
      [0xed, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
      [0xf0, 0x80, 0x80, 0x80],
      [0xe2, 0x82], // truncated
      [0xf0, 0x9f, 0x98],
      [0xef, 0xbf], // truncated U+FFFF: not the replacement character either
    )
    .map((bytes) => Buffer.from(bytes)),
);

const FIELDS = ['foreign_id', 'title', 'description', 'currency', 'amount'] as const;
const MARK = '\u0001MARK\u0001';

/** A valid order (but for the bad bytes) whose `field` carries them at the start, middle or end. */
const badBody = fc
  .record({
    provider: fc.constantFrom('alphapo', 'cryptoprocessing'),
    id: fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'), minLength: 4, maxLength: 20 }),
    field: fc.constantFrom(...FIELDS),
    where: fc.constantFrom('start', 'middle', 'end'),
    bad: fc.array(notUtf8, { minLength: 1, maxLength: 3 }).map((parts) => Buffer.concat(parts)),
    batch: fc.boolean(),
  })
  .map(({ provider, id, field, where, bad, batch }) => {
    const order = sampleOrder(provider, `bytes-${id}`);
    const value = String(order[field]);
    const cut = where === 'start' ? 0 : where === 'end' ? value.length : Math.floor(value.length / 2);
    order[field] = `${value.slice(0, cut)}${MARK}${value.slice(cut)}`;
    // In a batch, a second order that is valid through and through: refused with the rest.
    const text = batch ? JSON.stringify({ orders: [order, sampleOrder('alphapo', `bytes-ok-${id}`)] }) : JSON.stringify(order);
    const [head, tail] = text.split(JSON.stringify(MARK).slice(1, -1));
    return { path: batch ? '/v1/invoices/batch' : '/v1/invoices', body: Buffer.concat([Buffer.from(head as string), bad, Buffer.from(tail as string)]) };
  })
  // A lead byte next to a continuation byte may make a well-formed character after all.
  .filter(({ body }) => !isUtf8(body));

/** Characters node's client sends in a header value: tab, printable ASCII, and 0x80-0xFF as single bytes. */
const latin1Header = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.oneof(fc.constant('\t'), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })).map((c) => (typeof c === 'string' ? c : String.fromCharCode(c))),
    maxLength,
  });

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=UTF-8',
  'application/json;charset="utf-8"',
  'application/json; charset=utf-16',
  'application/json; charset=utf-16le',
  'application/json; charset=utf-32',
  'application/json; charset=latin1',
  'application/json; charset=nonsense',
  'application/json; charset=',
  'application/json; charset',
  'application/json; =',
  'application/json;;;',
  'application/json; charset=utf-8; charset=utf-16',
  'application/json, text/plain',
  'APPLICATION/JSON',
  'application/*',
  '*/*',
  'application/merge-patch+json',
  'application/json\u00ff',
  `application/json; x=${'a'.repeat(8000)}`,
  '',
];

describe('hostile input: bytes and headers', () => {
  let t: TestSystem;
  let before0: string;
  before(async () => {
    // Garbage credentials by the hundred from one address: the per-address brake (test/integration/access.test.ts) is off here.
    t = await startTestSystem({ role: 'api', env: { API_TOKEN, ADMIN_USER, ADMIN_PASSWORD, ADMIN_ROLE: 'operator', AUTH_FAILURE_LIMIT: '0' } });
  });
  // Each test against its own starting point, so one that fails does not fail the rest.
  beforeEach(async () => {
    before0 = await fingerprint(t);
  });
  after(async () => {
    await t.close();
  });

  const unchanged = (): Promise<void> => assertUnchanged(t, before0);

  it('a body that is not UTF-8, plain or gzipped, is 400 invalid_encoding and nothing is enqueued', async () => {
    await fc.assert(
      fc.asyncProperty(
        badBody,
        fc.boolean(),
        fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-8'),
        async ({ path, body }, gzip, type) => {
          const headers = { ...bearer, 'content-type': type, ...(gzip ? { 'content-encoding': 'gzip' } : {}) };
          const res = await request(t.api, 'POST', path, headers, gzip ? gzipSync(body) : body);
          const what = `${res.status} ${res.text.slice(0, 300)} for ${path} ${body.toString('latin1').slice(0, 200)}`;
          assert.equal(res.status, 400, what);
          assert.equal(res.body.error, 'invalid_encoding', what);
          assert.match(res.body.message, /not valid UTF-8/, what);
          await unchanged();
        },
      ),
      { numRuns: 80 },
    );
  });

  it('arbitrary bytes that are not UTF-8 are 400 invalid_encoding', async () => {
    const bytes = fc
      .uint8Array({ minLength: 1, maxLength: 400 })
      .map((b) => Buffer.from(b))
      .filter((b) => !isUtf8(b));
    await fc.assert(
      fc.asyncProperty(bytes, fc.constantFrom('/v1/invoices', '/v1/invoices/batch', '/v1/invoices/retry', '/v1/invoices/alphapo/x/retry'), async (body, path) => {
        const res = await request(t.api, 'POST', path, { ...bearer, 'content-type': 'application/json' }, body);
        assert.equal(res.status, 400, `${res.status} ${res.text.slice(0, 200)} for ${path}`);
        assert.equal(res.body.error, 'invalid_encoding');
        await unchanged();
      }),
      { numRuns: 40 },
    );
  });

  it('a valid UTF-8 body cut anywhere into chunks is read whole, never refused as invalid_encoding', async () => {
    // Multi-byte characters split across chunk boundaries must be put back together before the check.
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 });
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 4 }), async (s, cuts) => {
        const body = Buffer.from(JSON.stringify({ orders: [{ foreign_id: s }], extra: s }));
        const points = [...new Set(cuts.map((c) => c % body.length))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((start, i) => body.subarray(start, points[i] ?? body.length)).filter((c) => c.length > 0);
        const wire = Buffer.concat([
          Buffer.from(
            `POST /v1/invoices/batch HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer.authorization}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
          ),
          ...chunks.flatMap((c) => [Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]),
          Buffer.from('0\r\n\r\n'),
        ]);
        const { text: answer, statuses } = await rawExchange(t.api, wire);
        assert.deepEqual(statuses, [400], answer.slice(0, 300));
        assert.match(answer, /"error":"invalid_batch"/, answer.slice(0, 300));
        await unchanged();
      }),
      { numRuns: 40 },
    );
  });

  it('any Content-Type: 400 or 415 naming the problem, never 5xx', async () => {
    const type = fc.oneof(fc.constantFrom(...CONTENT_TYPES), latin1Header(200));
    const target = fc.constantFrom(['/v1/invoices', '{}'], ['/v1/invoices/batch', '{"orders":[]}'], ['/v1/invoices/retry', '{"limit":0}']);
    await fc.assert(
      fc.asyncProperty(type, target, async (contentType, [path, body]) => {
        const res = await request(t.api, 'POST', path, { ...bearer, 'content-type': contentType }, body);
        const what = `${res.status} ${res.text.slice(0, 200)} for ${JSON.stringify(contentType.slice(0, 100))} on ${path}`;
        assert.ok([400, 415].includes(res.status), what);
        assert.equal(typeof res.body.error, 'string', what);
        await unchanged();
      }),
      { numRuns: 80 },
    );
  });

  it('garbage Authorization is 401 on /v1 and on Bull Board, never 5xx', async () => {
    const value = fc.oneof(
      latin1Header(300),
      latin1Header(100).map((s) => `Bearer ${s}`),
      latin1Header(100).map((s) => `Basic ${s}`),
      latin1Header(100).map((s) => `Basic ${Buffer.from(s, 'latin1').toString('base64')}`),
      fc.uint8Array({ maxLength: 100 }).map((b) => `Basic ${Buffer.from(b).toString('base64')}`),
      fc.constantFrom(
        'Bearer',
        'Bearer ',
        'Basic',
        'Basic =',
        'Basic ====',
        `Bearer  ${API_TOKEN}`,
        `Bearer ${API_TOKEN}\u00ff`,
        `Basic ${Buffer.from(`${ADMIN_USER}:`).toString('base64')}`,
      ),
    );
    await fc.assert(
      fc.asyncProperty(value, fc.constantFrom('/v1/invoices/alphapo/x', '/admin/queues/api/queues'), async (authorization, path) => {
        const res = await request(t.api, 'GET', path, { authorization });
        assert.equal(res.status, 401, `${res.status} ${res.text.slice(0, 200)} for ${JSON.stringify(authorization.slice(0, 100))} on ${path}`);
        await unchanged();
      }),
      { numRuns: 80 },
    );
  });

  it('huge headers are 431; many headers below the limit are answered as usual', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 17 * 1024, max: 80 * 1024 }), fc.constantFrom('authorization', 'content-type', 'x-filler', 'cookie'), async (size, name) => {
        const headers = name === 'authorization' ? { [name]: `Bearer ${'a'.repeat(size)}` } : { ...bearer, [name]: 'a'.repeat(size) };
        // Node answers 431 and closes; with a large enough request still being written the client
        // may see the reset before it reads the answer (seen on Node 24). Either way: refused, no 5xx.
        const res = await request(t.api, 'POST', '/v1/invoices', headers, '{}').catch((err: { code?: string }) => {
          if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return { status: 431 };
          throw err;
        });
        assert.equal(res.status, 431, `${res.status} for a ${size}-byte ${name}`);
        await unchanged();
      }),
      { numRuns: 10 },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 10, max: 900 }), async (count) => {
        const headers: Record<string, string> = { ...bearer };
        for (let i = 0; i < count; i++) headers[`x-h${i}`] = String(i);
        const res = await request(t.api, 'GET', '/v1/invoices/alphapo/unknown-order', headers);
        assert.equal(res.status, 404, `${res.status} with ${count} headers`);
        await unchanged();
      }),
      { numRuns: 10 },
    );
  });

  it('Content-Length or Transfer-Encoding that disagree with the body: never 5xx, nothing stored', async () => {
    const body = fc.constantFrom('{}', '{"orders":[]}', JSON.stringify(sampleOrder('alphapo', 'framing-1')).slice(0, -1));
    const framing = fc.oneof(
      fc.tuple(body, fc.integer({ min: -5, max: 5 })).map(([b, delta]) => ({ body: b, headers: [`Content-Length: ${Math.max(0, b.length + delta)}`] })),
      fc.tuple(body, fc.constantFrom('-1', '1e3', '0x10', ' 3', '3 3', '', 'abc', '99999999999999999999')).map(([b, v]) => ({ body: b, headers: [`Content-Length: ${v}`] })),
      body.map((b) => ({ body: b, headers: [`Content-Length: ${b.length}`, `Content-Length: ${b.length + 1}`] })),
      body.map((b) => ({ body: b, headers: [`Content-Length: ${b.length}`, 'Transfer-Encoding: chunked'] })),
      body.map((b) => ({ body: `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`, headers: ['Transfer-Encoding: chunked'] })),
      body.map((b) => ({ body: `zz\r\n${b}\r\n0\r\n\r\n`, headers: ['Transfer-Encoding: chunked'] })),
      body.map((b) => ({ body: `${(b.length + 7).toString(16)}\r\n${b}\r\n`, headers: ['Transfer-Encoding: chunked'] })),
      body.map((b) => ({ body: b, headers: ['Transfer-Encoding: gzip, chunked'] })),
      body.map((b) => ({ body: b, headers: ['Transfer-Encoding: identity'] })),
    );
    await fc.assert(
      fc.asyncProperty(framing, fc.constantFrom('/v1/invoices', '/v1/invoices/batch'), async ({ body: b, headers }, path) => {
        const head = [`POST ${path} HTTP/1.1`, 'Host: x', `Authorization: ${bearer.authorization}`, 'Content-Type: application/json', ...headers].join('\r\n');
        const { text, statuses } = await rawExchange(t.api, Buffer.from(`${head}\r\n\r\n${b}`, 'latin1'), 1500);
        assert.ok(
          statuses.every((s) => s < 500),
          `${statuses.join(',')} for ${JSON.stringify(headers)}: ${text.slice(0, 300)}`,
        );
        await unchanged();
      }),
      { numRuns: 40 },
    );
    assert.deepEqual(
      t.logs.filter((l) => l.includes('"level":50')),
      [],
      'framing errors are not errors of ours',
    );
  });
});
