/**
 * Hostile path parameters, generated: arbitrary characters, raw high bytes, and percent-escapes
 * valid and invalid (`%FF`, a lone `%`, truncated, overlong and surrogate sequences) in the
 * provider and foreign_id of `GET /v1/invoices/:provider/:foreign_id` and `POST .../retry`, and in
 * the queue, job and state segments of Bull Board's API. Authenticated, every one is answered
 * below 500: 404 for an unknown invoice or job, 400 `invalid_path` for an escape that does not
 * decode (node's own parser answers a bare 400 to raw bytes above 0x7E), and nothing changes.
 * The API runs alone (role `api`), so a job it enqueued would stay for the fingerprint to see.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { fingerprint, assertUnchanged } from './helpers.ts';
import { decodes, request, segment, type RawResponse } from './raw-http.ts';

// Without this the reason a property failed is only in the error's `cause`, which node's reporter does not print.
fc.configureGlobal({ includeErrorInReport: true });

const API_TOKEN = 'property-token-Pa7hS3gM9x';
const ADMIN_USER = 'paths-operator';
const ADMIN_PASSWORD = 'paths-admin-pw-Q4vL8zN2';
const bearer = { authorization: `Bearer ${API_TOKEN}` };
const basic = { authorization: `Basic ${Buffer.from(`${ADMIN_USER}:${ADMIN_PASSWORD}`).toString('base64')}` };
const PROVIDERS = ['cryptoprocessing', 'alphapo', 'cryptosteroid'];
const RUNS = { numRuns: 150 };

const provider = fc.oneof(
  fc.constantFrom(...PROVIDERS),
  fc.constantFrom(...PROVIDERS).map((p) => p.replace('o', '%6F')),
  segment,
);

/** The queues an operator may not clean (but for completed jobs). */
const ACCEPTED_WORK = /^invoice-(create|events|poll)/;

/** Raw bytes above 0x7E in a request line: node's HTTP parser refuses them before express sees them. */
const hasRawByte = (s: string): boolean => /[\u007f-\u00ff]/.test(s);

type Expected = 'parser' | 'invalid_path' | 'routed';
function expected(segments: string[]): Expected {
  if (segments.some(hasRawByte)) return 'parser';
  if (segments.some((s) => !decodes(s))) return 'invalid_path';
  return 'routed';
}

function check(res: RawResponse, segments: string[], what: string): Expected {
  const want = expected(segments);
  const got = `${res.status} ${res.text.slice(0, 200)} for ${what}`;
  assert.ok(res.status < 500, got);
  if (want === 'parser') assert.equal(res.status, 400, got);
  if (want === 'invalid_path') {
    assert.equal(res.status, 400, got);
    assert.equal(res.body.error, 'invalid_path', got);
    assert.match(res.body.message, /escape that does not decode/, got);
  }
  return want;
}

describe('hostile input: path parameters', () => {
  let t: TestSystem;
  let before0: string;
  let queueNames: string[];
  before(async () => {
    t = await startTestSystem({ role: 'api', env: { API_TOKEN, ADMIN_USER, ADMIN_PASSWORD, ADMIN_ROLE: 'operator' } });
    // One real invoice, so the fingerprint covers a record and its job.
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'paths-known-1'), bearer)).status, 202);
    queueNames = t.system.queues.map((q) => q.name);
  });
  // Each test against its own starting point, so one that fails does not fail the rest.
  beforeEach(async () => {
    before0 = await fingerprint(t);
  });
  after(async () => {
    await t.close();
  });

  const unchanged = (): Promise<void> => assertUnchanged(t, before0);

  const noErrorLogged = (): void => {
    const errors = t.logs.filter((l) => l.includes('"level":50'));
    assert.deepEqual(errors, [], 'a bad path is not an error of ours');
  };

  it('GET /v1/invoices/:provider/:foreign_id: 404 or 400 invalid_path, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(provider, segment, async (p, f) => {
        const path = `/v1/invoices/${p}/${f}`;
        const res = await request(t.api, 'GET', path, bearer);
        if (check(res, [p, f], `GET ${path}`) === 'routed') assert.equal(res.status, 404, `${res.status} for GET ${path}`);
        await unchanged();
      }),
      RUNS,
    );
    noErrorLogged();
  });

  it('POST /v1/invoices/:provider/:foreign_id/retry of an unknown invoice: 404 or 400 invalid_path, nothing retried', async () => {
    const body = fc.constantFrom(undefined, '{}', '{"confirm_not_created":true}', '{"by":"prop"}');
    await fc.assert(
      fc.asyncProperty(provider, segment, body, async (p, f, b) => {
        const path = `/v1/invoices/${p}/${f}/retry`;
        const res = await request(t.api, 'POST', path, b === undefined ? bearer : { ...bearer, 'content-type': 'application/json' }, b);
        if (check(res, [p, f], `POST ${path}`) === 'routed') assert.equal(res.status, 404, `${res.status} for POST ${path}`);
        await unchanged();
      }),
      RUNS,
    );
    noErrorLogged();
  });

  it("Bull Board's API and pages: any queue, job or state segment is answered below 500 and changes nothing", async () => {
    // Everything here reads, or acts on a job or state that does not exist (the one real job is
    // waiting; nothing is failed, completed or delayed), so the store must come out unchanged.
    const routes: Array<[method: string, template: string]> = [
      ['GET', '/api/queues/{q}/{j}'],
      ['GET', '/api/queues/{q}/{j}/logs'],
      ['GET', '/api/queues/{q}/{j}/flow'],
      ['GET', '/api/queues/{q}/metrics'],
      ['GET', '/api/queues/{q}/workers'],
      ['GET', '/api/queues/{q}/rate-limit'],
      ['GET', '/api/queues/{q}/job-data-schema'],
      ['GET', '/api/queues/{q}/default-job-options'],
      ['GET', '/api/queues?activeQueue={q}&status={s}&page={j}'],
      ['GET', '/api/queues?activeQueue={q}&jobsPerPage={j}'],
      ['GET', '/api/job-schedulers?queueName={q}'],
      ['GET', '/api/queues/{q}/{j}/flow?depth={s}&maxChildren={j}'],
      ['GET', '/queue/{q}'],
      ['GET', '/queue/{q}/{j}'],
      ['PUT', '/api/queues/{q}/{j}/retry'],
      ['PUT', '/api/queues/{q}/{j}/clean'],
      ['PUT', '/api/queues/{q}/{j}/promote'],
      ['PUT', '/api/queues/{q}/retry/{s}'],
      ['PUT', '/api/queues/{q}/clean/{s}'],
    ];
    const queue = fc.oneof(fc.constantFrom(...queueNames), segment);
    // Job ids and page numbers: any text, or integers far past what Redis ranges take.
    const number = fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String);
    const state = fc.oneof(fc.constantFrom('failed', 'completed', 'delayed', 'wait', 'FAILED', 'latest'), segment);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), queue, fc.oneof(segment, number), state, async ([method, template], q, j, s) => {
        // Replaced by function: a `$&` in a generated segment must not be read as a pattern.
        const path = `/admin/queues${template
          .replaceAll('{q}', () => q)
          .replaceAll('{j}', () => j)
          .replaceAll('{s}', () => s)}`;
        const used = [q, j, s].filter((x, i) => template.includes(['{q}', '{j}', '{s}'][i] as string));
        const res = await request(t.api, method, path, basic);
        const what = `${method} ${path}`;
        // In the query string a bad escape is a value Bull Board reads as text, not a path.
        if (template.includes('?')) assert.ok(res.status < 500, `${res.status} ${res.text.slice(0, 200)} for ${what}`);
        else if (check(res, used, what) === 'routed' && template.endsWith('/clean/{s}') && ACCEPTED_WORK.test(decodeURIComponent(q)) && decodeURIComponent(s) !== 'completed') {
          assert.equal(res.status, 403, `${res.status} ${res.text.slice(0, 200)} for ${what}`);
          assert.match(res.body.message, /accepted work/);
        }
        await unchanged();
      }),
      { numRuns: 300 },
    );
    noErrorLogged();
  });
});
