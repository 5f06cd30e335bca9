/**
 * Bad input at the edges of the HTTP app, one example per fault this suite pins down:
 * - a path whose percent-escape does not decode is a 400 `invalid_path` (the router's URIError
 *   was a 500 with an error-level stack), in the producer API and in Bull Board alike;
 * - a JSON body that is not UTF-8 is a 400 `invalid_encoding` before it is parsed (the decoder
 *   turned each bad byte into U+FFFD, so two foreign_ids differing in one such byte collided);
 * - Bull Board's own express app announced `X-Powered-By`;
 * - an operator could clean or remove the failed (or waiting, or delayed) jobs of the queues that
 *   hold accepted work, dropping orders waiting for repair.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Queue, Worker, type Job } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';
import { ADMIN_PATH, adminRouter, type AdminRole } from '../../src/http/admin.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { fingerprint } from '../property/helpers.ts';
import { request, type RawResponse } from '../property/raw-http.ts';

const API_TOKEN = 'hardening-token-Vb8nQ2wK5z';
const USER = 'hardening-operator';
const PASSWORD = 'hardening-pw-Lm4xR7tY1c';
const bearer = { authorization: `Bearer ${API_TOKEN}` };
const basic = { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };
const json = { ...bearer, 'content-type': 'application/json' };
const ACCEPTED_WORK = /^invoice-(create|events|poll)/;

/** The order JSON with `marker` (ASCII in the text) swapped for raw bytes. */
function withBytes(order: Record<string, unknown>, marker: string, bytes: number[]): Buffer {
  const [head, tail] = JSON.stringify(order).split(marker);
  return Buffer.concat([Buffer.from(head as string), Buffer.from(bytes), Buffer.from(tail as string)]);
}

const levelOf = (line: string): number => (JSON.parse(line) as { level: number }).level;

describe('hardening: bad input on the running system', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ env: { API_TOKEN, ADMIN_USER: USER, ADMIN_PASSWORD: PASSWORD, ADMIN_ROLE: 'operator' } });
  });
  after(async () => {
    await t.close();
  });

  it('a percent-escape that does not decode is 400 invalid_path, logged as a warning without the path or a stack', async () => {
    const logsBefore = t.logs.length;
    const before0 = await fingerprint(t);
    const cases: Array<[method: string, path: string, headers: Record<string, string>]> = [
      ['GET', '/v1/invoices/cryptoprocessing/%FF', bearer],
      ['GET', '/v1/invoices/cryptoprocessing/%', bearer],
      ['GET', '/v1/invoices/alphapo/%ED%A0%80', bearer],
      ['GET', '/v1/invoices/%E0%80/order-1', bearer],
      ['POST', '/v1/invoices/cryptoprocessing/%FF/retry', bearer],
      ['POST', '/v1/invoices/alphapo/order%E2%82/retry', json],
      ['GET', '/admin/queues/api/queues/%FF/metrics', basic],
      ['GET', '/admin/queues/api/queues/invoice-create/%FF', basic],
      ['GET', '/admin/queues/api/queues/%FF/1/logs', basic],
      ['PUT', '/admin/queues/api/queues/%FF/1/retry', basic],
      ['PUT', '/admin/queues/api/queues/invoice-create/%FF/clean', basic],
      ['PUT', '/admin/queues/api/queues/%ED%A0%80/clean/failed', basic],
      ['GET', '/admin/queues/queue/%FF', basic],
    ];
    for (const [method, path, headers] of cases) {
      const res = await request(t.api, method, path, headers, method === 'GET' ? undefined : headers === json ? '{}' : undefined);
      assert.equal(res.status, 400, `${method} ${path}: ${res.status} ${res.text.slice(0, 200)}`);
      assert.equal(res.body.error, 'invalid_path', `${method} ${path}: ${res.text}`);
      assert.match(res.body.message, /path has a percent-escape that does not decode/);
    }
    // Not the producer API's route, but the same rule: below 500.
    const webhook = await request(t.api, 'POST', '/webhooks/cryptosteroid/%FF', { 'content-type': 'application/json', token: 'x' }, '{}');
    assert.ok(webhook.status >= 400 && webhook.status < 500, `webhook: ${webhook.status}`);

    const lines = t.logs.slice(logsBefore);
    assert.deepEqual(
      lines.filter((l) => levelOf(l) >= 50),
      [],
      'no error-level line',
    );
    const refused = lines.filter((l) => l.includes('request refused'));
    assert.ok(refused.length >= cases.length, `each refusal is logged (${refused.length})`);
    for (const l of refused) {
      assert.equal(levelOf(l), 40, l);
      assert.ok(!l.includes('%FF') && !l.includes('stack') && !l.includes('URIError'), l);
    }
    assert.equal(await fingerprint(t), before0, 'nothing changed');
  });

  it('a JSON body that is not UTF-8 is 400 invalid_encoding: foreign_ids that differ only in a bad byte no longer collide', async () => {
    const before0 = await fingerprint(t);
    const order = sampleOrder('alphapo', 'utf8-XX');
    for (const bad of [[0xff], [0xfe], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      const res = await request(t.api, 'POST', '/v1/invoices', json, withBytes(order, 'XX', bad));
      assert.equal(res.status, 400, `${bad}: ${res.status} ${res.text}`);
      assert.deepEqual(res.body, { error: 'invalid_encoding', message: 'request body is not valid UTF-8: JSON must be UTF-8 encoded' });
    }
    const batch = { orders: [sampleOrder('alphapo', 'utf8-batch-ok'), sampleOrder('alphapo', 'utf8-batch-XX')] };
    const res = await request(t.api, 'POST', '/v1/invoices/batch', json, withBytes(batch, 'XX', [0xff]));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error, 'invalid_encoding');
    assert.equal(await fingerprint(t), before0, 'nothing enqueued, not even the valid order of the batch');
    assert.equal((await request(t.api, 'GET', `/v1/invoices/alphapo/${encodeURIComponent('utf8-\uFFFD')}`, bearer)).status, 404, 'no record under U+FFFD');

    // Other charsets are refused as such; well-formed UTF-8 (with or without a BOM) is accepted.
    const utf16 = await request(t.api, 'POST', '/v1/invoices', { ...bearer, 'content-type': 'application/json; charset=utf-16' }, JSON.stringify(order));
    assert.equal(utf16.status, 415, utf16.text);
    assert.equal(utf16.body.error, 'unsupported_charset');
    const accented = await request(t.api, 'POST', '/v1/invoices', json, Buffer.from(JSON.stringify(sampleOrder('alphapo', 'utf8-\u00e9\u{1F600}'))));
    assert.equal(accented.status, 202, accented.text);
    assert.equal(accented.body.invoice.foreign_id, 'utf8-\u00e9\u{1F600}');
    const bom = await request(
      t.api,
      'POST',
      '/v1/invoices',
      json,
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(sampleOrder('alphapo', 'utf8-bom')))]),
    );
    assert.equal(bom.status, 202, `a leading BOM is ignored: ${bom.text}`);
  });

  it("query values Bull Board's API would answer with a 500 are 400 invalid_query", async () => {
    for (const query of [
      'activeQueue=invoice-create&status=%00', // a NUL reaches its validation message, which it splits on NUL
      'activeQueue=invoice-create&status=a%00b',
      'activeQueue=%25FF', // decoded a second time, as a queue name
      'activeQueue=%25',
      'activeQueue=invoice-create&jobsPerPage=99999999999999999999999', // a Redis range past an integer
      'activeQueue=invoice-create&status=failed&page=9999999999999999',
    ]) {
      const res = await request(t.api, 'GET', `/admin/queues/api/queues?${query}`, basic);
      assert.equal(res.status, 400, `${query}: ${res.status} ${res.text.slice(0, 200)}`);
      assert.equal(res.body.error, 'invalid_query', query);
    }
    const schedulers = await request(t.api, 'GET', '/admin/queues/api/job-schedulers?queueName=%25FF', basic);
    assert.equal(schedulers.status, 400, schedulers.text);
    assert.equal(
      (await request(t.api, 'GET', '/admin/queues/api/queues?activeQueue=invoice-create&status=failed&page=2&jobsPerPage=50', basic)).status,
      200,
      'ordinary paging still works',
    );
  });

  it('no answer under /admin/queues carries X-Powered-By', async () => {
    const page = await request(t.api, 'GET', '/admin/queues/', basic);
    assert.equal(page.status, 200);
    const asset = /src="(static\/[^"]+\.js)"/.exec(page.text)?.[1];
    assert.ok(asset, 'the page links a script');
    const answers: Array<[string, RawResponse]> = [['page', page]];
    for (const [method, path, headers] of [
      ['GET', '/admin/queues', basic],
      ['GET', `/admin/queues/${asset}`, basic],
      ['GET', '/admin/queues/api/queues', basic],
      ['GET', '/admin/queues/api/redis/stats', basic],
      ['GET', '/admin/queues/api/queues/no-such-queue/1', basic],
      ['GET', '/admin/queues/api/queues/invoice-create/no-such-job', basic],
      ['GET', '/admin/queues/static/no-such-file.js', basic],
      ['GET', '/admin/queues/queue/invoice-create', basic],
      ['PUT', '/admin/queues/api/queues/invoice-create/obliterate', basic],
      ['PUT', '/admin/queues/api/queues/invoice-create/clean/failed', basic],
      ['GET', '/admin/queues/api/queues/%FF/1', basic],
      ['GET', '/admin/queues/api/queues', {}],
    ] as const) {
      answers.push([`${method} ${path}`, await request(t.api, method, path, headers)]);
    }
    assert.ok(
      answers.some(([, r]) => r.status === 200 && r.headers['content-type']?.includes('javascript')),
      'the script was served',
    );
    for (const [what, res] of answers) assert.equal(res.headers['x-powered-by'], undefined, `${what} (${res.status})`);
  });

  it('the failed, waiting and delayed jobs of invoice-create, invoice-events and invoice-poll cannot be cleaned or removed; completed ones can', async () => {
    const guarded = t.system.queues.filter((q) => ACCEPTED_WORK.test(q.name));
    assert.ok(guarded.length >= 3, guarded.map((q) => q.name).join());
    // A payload no schema accepts fails at once and for good: a failed job in each queue.
    const jobs = new Map<string, Job>();
    for (const q of guarded) jobs.set(q.name, await q.add('hostile', { v: 99 }, { jobId: `hardening-${q.name}` }));
    await t.waitFor(async () => (await Promise.all(guarded.map((q) => q.getFailedCount()))).every((n) => n >= 1), 'a failed job in each queue');

    for (const q of guarded) {
      const job = jobs.get(q.name) as Job;
      for (const state of ['failed', 'wait', 'delayed', 'paused', 'active', 'prioritized']) {
        const res = await request(t.api, 'PUT', `/admin/queues/api/queues/${q.name}/clean/${state}`, basic);
        assert.equal(res.status, 403, `clean ${state} of ${q.name}: ${res.status} ${res.text}`);
        assert.match(res.body.message, /holds accepted work/);
      }
      const remove = await request(t.api, 'PUT', `/admin/queues/api/queues/${q.name}/${encodeURIComponent(String(job.id))}/clean`, basic);
      assert.equal(remove.status, 403, `remove the failed job of ${q.name}: ${remove.status} ${remove.text}`);
      assert.match(remove.body.message, /a failed job waits there for a retry/);
      assert.equal(await q.getJobState(String(job.id)), 'failed', `${q.name}: the job stays failed`);
      const completed = await request(t.api, 'PUT', `/admin/queues/api/queues/${q.name}/clean/completed`, basic);
      assert.equal(completed.status, 200, `clean completed of ${q.name}: ${completed.text}`);
    }
    // Results are already published: their queue is the order systems' to clean.
    const results = t.system.queues.find((q) => q.name.startsWith('invoice-results'));
    if (results) assert.equal((await request(t.api, 'PUT', `/admin/queues/api/queues/${results.name}/clean/failed`, basic)).status, 200);

    const refusal = t.logs.find((l) => l.includes('clean from Bull Board refused'));
    assert.ok(refusal, 'a refused clean is logged');
    assert.equal(JSON.parse(refusal).by, USER);
  });
});

describe('hardening: Bull Board clean guard, per-lane queue names and every role', () => {
  const prefix = uniquePrefix('hard');
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queues = ['invoice-create.cryptoprocessing', 'invoice-events.alphapo', 'invoice-poll.cryptosteroid', 'audit-trail'].map((name) => new Queue(name, { connection, prefix }));
  const log = createLogger('silent');
  const servers: Server[] = [];
  const bases = new Map<AdminRole, string>();

  before(async () => {
    // One failed job in each queue, failed by a worker of our own.
    const workers = queues.map((q) => new Worker(q.name, async () => Promise.reject(new Error('refused')), { connection, prefix }));
    for (const q of queues) await q.add('x', {}, { jobId: 'one', attempts: 1 });
    for (const q of queues) {
      for (let i = 0; i < 400 && (await q.getJobState('one')) !== 'failed'; i++) await new Promise((r) => setTimeout(r, 25));
    }
    await Promise.all(workers.map((w) => w.close()));
    for (const role of ['viewer', 'operator'] as const) {
      const app = express();
      app.disable('x-powered-by');
      app.use(ADMIN_PATH, adminRouter({ queues, user: USER, password: PASSWORD, role, sandbox: false, log }));
      const server = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      servers.push(server);
      bases.set(role, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }
  });
  after(async () => {
    for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
    for (const q of queues) await q.close();
    connection.disconnect();
    await deleteByPrefix(prefix);
  });

  it('refuses to clean or remove the failed jobs of a queue whose name starts like the guarded ones, for viewer and operator', async () => {
    for (const q of queues) assert.equal(await q.getJobState('one'), 'failed', q.name);
    for (const [role, base] of bases) {
      for (const q of queues.filter((x) => ACCEPTED_WORK.test(x.name))) {
        const all = await request(base, 'PUT', `${ADMIN_PATH}/api/queues/${q.name}/clean/failed`, basic);
        assert.equal(all.status, 403, `${role} clean failed ${q.name}: ${all.text}`);
        const one = await request(base, 'PUT', `${ADMIN_PATH}/api/queues/${q.name}/one/clean`, basic);
        assert.equal(one.status, 403, `${role} remove ${q.name}/one: ${one.text}`);
        assert.equal(one.body.error, 'forbidden');
        assert.equal(await q.getJobState('one'), 'failed', `${q.name}: the job stays failed`);
      }
    }
    // Any other queue is left to the role: a viewer is read-only, an operator may clean.
    const other = queues[3] as Queue;
    assert.equal((await request(bases.get('viewer') as string, 'PUT', `${ADMIN_PATH}/api/queues/${other.name}/one/clean`, basic)).status, 405);
    assert.equal((await request(bases.get('operator') as string, 'PUT', `${ADMIN_PATH}/api/queues/${other.name}/one/clean`, basic)).status, 204);
    assert.equal(await other.getJobState('one'), 'unknown');
  });
});
