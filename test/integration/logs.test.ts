/**
 * Guarantee 6: secrets and personal data never reach the logs. A full flow through the real system
 * (orders with e-mails and sender data, API token, admin and metrics credentials, signed
 * callbacks, forged callbacks, provider faults, refusals, bad credentials) with every known
 * secret checked against every log line. Also: one outcome line per job attempt, on every queue.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createJobId } from '../../queues/create.ts';
import { eventJobId } from '../../queues/events.ts';
import { pollJobId } from '../../queues/poll.ts';
import { resultJobId } from '../../queues/results.ts';
import { webhookJobId } from '../../queues/webhooks.ts';
import { InvoiceStore } from '../../src/invoice/store.ts';
import { SECRET_KEYS, createLogger } from '../../src/observability/logger.ts';
import { EndpointStore } from '../../src/results/endpoints.ts';
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/index.ts';
import type { WorkerContext } from '../../workers/context.ts';
import { startCreateWorker } from '../../workers/create.ts';
import { startEventsWorker } from '../../workers/events.ts';
import { startPollWorker } from '../../workers/poll.ts';
import { startWebhooksWorker } from '../../workers/webhooks.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { sampleOrder, samplePaymentRequest, startTestSystem, type TestSystem } from '../helpers/system.ts';

const API_TOKEN = 'api-token-7Yq2mZ0xVb3nK8wL';
const WRONG_TOKEN = 'api-token-WRONG-4Hc9pQ1sD6';
const ADMIN_PASSWORD = 'admin-pw-Gr8fT3kM0zQ';
const METRICS_TOKEN = 'metrics-token-Ux4vB7nE2'; // 16+ characters
const FORGED_SIGNATURE = 'f0'.repeat(64);
const EMAIL = 'wilhelmina.payer@mailbox.example';
const SENDER_EMAIL = 'sender.private@mailbox.example';
const FIRST = 'Wilhelmina';
const LAST = 'Oxenstierna';
const LEGAL = 'Oxenstierna Trading GmbH';
const BIRTH = '1971-04-23';

const auth = { authorization: `Bearer ${API_TOKEN}` };

function outcomeLines(logs: string[], jobId: string): string[] {
  return logs.filter((l) => {
    const e = JSON.parse(l) as { jobId?: string; queue?: string };
    return e.jobId === jobId && String(e.queue).startsWith('invoice-create.');
  });
}

describe('logs', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({
      env: { API_TOKEN, ADMIN_USER: 'auditor', ADMIN_PASSWORD, ADMIN_ROLE: 'operator', METRICS_TOKEN, CREATE_ATTEMPTS: '2' },
      callbacks: true,
    });
  });
  after(async () => {
    await t.close();
  });

  it('a full flow leaves no secret, token, signature, e-mail or sender data in any log line', async () => {
    const natural = { reference: 'cust-1', email: EMAIL, sender: { type: 'natural', first_name: FIRST, last_name: LAST, date_of_birth: BIRTH, email: SENDER_EMAIL } };
    const legal = { reference: 'cust-2', email: EMAIL, sender: { type: 'legal', legal_name: LEGAL, country_of_registration: 'DEU' } };
    const orders = [
      sampleOrder('cryptoprocessing', 'log-paid', { customer: natural }),
      samplePaymentRequest('alphapo', 'log-pr', { customer: legal }),
      sampleOrder('cryptosteroid', 'log-cs'),
      sampleOrder('alphapo', 'log-min', { amount: '1.00', customer: natural }), // refused by the provider
    ];
    for (const order of orders) assert.equal((await t.post('/v1/invoices', order, auth)).status, 202);
    // 5xx on every attempt: fails for good after 2 attempts, then an operator retries it.
    t.sandbox.addFault({ provider: 'cryptoprocessing', kind: 'payment_request', fault: '5xx', status: 500 });
    assert.equal((await t.post('/v1/invoices', samplePaymentRequest('cryptoprocessing', 'log-5xx', { customer: natural }), auth)).status, 202);
    // Refused requests carry secrets in places a careless handler would log.
    assert.equal((await t.post('/v1/invoices', orders[0], { authorization: `Bearer ${WRONG_TOKEN}` })).status, 401);
    assert.equal((await t.post('/v1/invoices', { ...orders[0], amount: 12.5 }, auth)).status, 400);
    const forged = await fetch(`${t.api}/webhooks/cryptoprocessing`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-processing-signature': FORGED_SIGNATURE, 'x-processing-key': SANDBOX_CREDENTIALS.cryptoprocessing.apiKey },
      body: JSON.stringify({ id: 9, foreign_id: 'log-paid', type: 'invoice', status: 'confirmed', end_user_email: EMAIL }),
    });
    assert.equal(forged.status, 401);
    const badAdmin = await fetch(`${t.api}/admin/queues/api/queues`, { headers: { authorization: `Basic ${Buffer.from(`auditor:${ADMIN_PASSWORD}x`).toString('base64')}` } });
    assert.equal(badAdmin.status, 401);

    const created = async (provider: string, id: string) =>
      t.waitFor(async () => (await t.results()).find((r) => r.provider === provider && r.foreign_id === id && r.status === 'created'), `created ${id}`);
    await created('cryptoprocessing', 'log-paid');
    await created('alphapo', 'log-pr');
    await created('cryptosteroid', 'log-cs');
    // Signed callbacks (HMAC header, CryptoSteroid's per-order token) all the way to paid.
    t.sandbox.pay('cryptoprocessing', 'log-paid');
    const cs = t.sandbox.invoices('cryptosteroid').find((i) => i.foreignId === 'log-cs');
    assert.ok(cs);
    t.sandbox.pay('cryptosteroid', cs.id);
    for (const id of ['log-paid', 'log-cs']) {
      await t.waitFor(async () => (await t.results()).some((r) => r.foreign_id === id && r.status === 'paid'), `paid ${id}`);
    }
    await t.waitFor(async () => (await t.results()).some((r) => r.foreign_id === 'log-min' && r.status === 'rejected'), 'rejected');
    const failedId = createJobId('cryptoprocessing', 'log-5xx');
    await t.waitFor(async () => (await (await t.system.lane('cryptoprocessing').createQueue.getJob(failedId))?.getState()) === 'failed', 'failed for good');
    t.sandbox.clearFaults();
    assert.equal((await t.post('/v1/invoices/cryptoprocessing/log-5xx/retry', { by: 'auditor' }, auth)).status, 202);
    await created('cryptoprocessing', 'log-5xx');
    assert.equal((await fetch(`${t.api}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status, 200);

    // The secrets that were in play, and that must appear nowhere.
    const deliveries = t.sandbox.deliveries();
    const signatures = deliveries.map((d) => d.headers['x-processing-signature']).filter((s): s is string => typeof s === 'string');
    const tokens = deliveries.map((d) => d.headers.token).filter((s): s is string => typeof s === 'string');
    assert.ok(signatures.length > 0 && tokens.length > 0, 'signed callbacks were delivered');
    const records = await Promise.all(
      [
        ['cryptoprocessing', 'log-paid'],
        ['cryptosteroid', 'log-cs'],
      ].map(([p, id]) => t.system.store.get(p as string, id as string)),
    );
    const secrets: Record<string, string> = {
      API_TOKEN,
      WRONG_TOKEN,
      ADMIN_PASSWORD,
      METRICS_TOKEN,
      FORGED_SIGNATURE,
      EMAIL,
      SENDER_EMAIL,
      FIRST,
      LAST,
      LEGAL,
      BIRTH,
      ...Object.fromEntries(
        Object.entries(SANDBOX_CREDENTIALS).flatMap(([p, c]) =>
          Object.entries(c)
            .filter(([k]) => k !== 'merchantId')
            .map(([k, v]) => [`${p}.${k}`, v]),
        ),
      ),
      ...Object.fromEntries(signatures.map((s, i) => [`callback signature ${i}`, s])),
      ...Object.fromEntries(tokens.map((s, i) => [`callback token ${i}`, s])),
      ...Object.fromEntries(records.map((r, i) => [`order secret ${i}`, r?.secret ?? 'missing'])),
    };
    // The paths that handle those secrets did log (so their silence about them means something).
    for (const msg of [
      'invoice created',
      'provider rejected the order',
      'submission failed for good; parked in the failed set',
      'submission retried',
      'callback refused: not authentic',
      'admin sign-in refused',
    ]) {
      assert.ok(
        t.logs.some((l) => l.includes(`"msg":"${msg}`)),
        `logged: ${msg}`,
      );
    }
    for (const [what, secret] of Object.entries(secrets)) {
      const leak = t.logs.find((l) => l.includes(secret));
      assert.equal(leak, undefined, `${what} leaked into: ${leak}`);
    }
    assert.equal(
      t.logs.some((l) => /@mailbox\.example/.test(l)),
      false,
      'no e-mail address at all',
    );
  });

  it('one outcome line per create job attempt', async () => {
    const cases: Array<[string, string, number]> = [
      ['cryptoprocessing', 'log-paid', 1],
      ['alphapo', 'log-min', 1], // refused: one line, not a second "failed for good" one
      ['cryptoprocessing', 'log-5xx', 3], // two failed attempts, then the retried one
    ];
    for (const [provider, id, attempts] of cases) {
      const lines = outcomeLines(t.logs, createJobId(provider, id));
      assert.equal(lines.length, attempts, `${id}:\n${lines.join('')}`);
    }
    const fivexx = outcomeLines(t.logs, createJobId('cryptoprocessing', 'log-5xx')).map((l) => JSON.parse(l) as { level: number; msg: string; ms?: number });
    assert.deepEqual(
      fivexx.map((e) => e.msg),
      ['submission failed; will retry', 'submission failed for good; parked in the failed set', 'invoice created'],
    );
    assert.deepEqual(
      fivexx.map((e) => e.level),
      [40, 50, 30],
      'warn, error, info',
    );
    assert.ok(
      fivexx.every((e) => typeof e.ms === 'number'),
      'with a duration',
    );
  });

  it('every secret and personal key is masked wherever it sits: top level, nested, headers, a child logger', () => {
    const lines: string[] = [];
    const log = createLogger('info', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    const values = SECRET_KEYS.map((k, i) => [k, `value-${i}-of-${k}`] as const);
    const flat = Object.fromEntries(values);
    log.info(flat, 'top level');
    log.info({ req: { headers: flat }, res: { body: { nested: flat } } }, 'nested');
    log.child(flat).info('bindings');
    log.info({ list: [flat] }, 'in an array');
    assert.equal(lines.length, 4);
    for (const line of lines) for (const [k, v] of values) assert.equal(line.includes(v), false, `${k}'s value in ${line}`);
    assert.equal((JSON.parse(lines[0] as string) as Record<string, unknown>).apiKey, '[masked]');
  });

  it('the logger masks personal fields at any depth and e-mails inside strings and errors', () => {
    const lines: string[] = [];
    const log = createLogger('info', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    const err = Object.assign(new Error(`provider said: ${EMAIL} is not allowed`), { response: { end_user_email: EMAIL } });
    log.info({ a: { b: { c: { d: { sender: { first_name: FIRST }, note: `mail ${EMAIL}` } } } }, err }, 'deep');
    log.info({ raw: JSON.stringify({ customer: { email: EMAIL, name: LAST } }) }, 'raw body');
    assert.equal(lines.length, 2);
    for (const line of lines) {
      for (const s of [EMAIL, FIRST, LAST]) assert.equal(line.includes(s), false, `${s} in ${line}`);
    }
    const parsed = JSON.parse(lines[0] as string) as { err: { type: string; message: string } };
    assert.equal(parsed.err.type, 'Error', 'errors are still serialized as errors');
    assert.match(parsed.err.message, /provider said: \[masked-email\] is not allowed/);
  });
});

describe('one outcome line per job attempt, on every queue', () => {
  let t: TestSystem;
  const lines: string[] = [];
  const log = createLogger('debug', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  // Each job's completions and failures, as its worker reports them.
  const seen = new Map<string, string[]>();
  before(async () => {
    t = await startTestSystem({ role: 'api', env: { CREATE_ATTEMPTS: '2' } }); // no workers of its own: the test starts them
  });
  after(async () => {
    await t.close();
  });

  /** The four processors on `store` and `endpoints`, with the system's lanes and queues. */
  function start(store: InvoiceStore, endpoints: EndpointStore): Worker[] {
    const s = t.system;
    const ctx: WorkerContext = {
      connection: s.redis,
      prefix: t.prefix,
      log,
      store,
      relay: s.relay,
      lanes: s.lanes,
      rateLimitDelayMs: 200,
      track: { pollIdleMs: 60_000, graceMs: 1000 },
      eventsConcurrency: 4,
      webhooks: { endpoints, results: s.resultsQueue, timeoutMs: 1000, concurrency: 4, schedule: [10] },
    };
    const lane = s.lane('cryptoprocessing');
    const workers = [startCreateWorker(ctx, lane), startPollWorker(ctx, lane), startEventsWorker(ctx), startWebhooksWorker(ctx, ctx.webhooks!)];
    for (const w of workers) {
      w.on('completed', (job) => seen.set(String(job.id), [...(seen.get(String(job.id)) ?? []), 'completed']));
      w.on('failed', (job) => job && seen.set(String(job.id), [...(seen.get(String(job.id)) ?? []), 'failed']));
      void w.run();
    }
    return workers;
  }

  /** Jobs of each queue: `ok` completes; `bad` fails on its store, then again on its last attempt. */
  async function addJobs(ok: boolean): Promise<Record<string, string>> {
    const s = t.system;
    const lane = s.lane('cryptoprocessing');
    const tag = ok ? 'ok' : 'bad';
    const order = await s.intake.accept(sampleOrder('cryptoprocessing', `out-${tag}`));
    assert.equal(order.outcome, 'accepted');
    const twice = { attempts: 2, backoff: { type: 'fixed', delay: 10 } };
    const poll = { v: 1 as const, provider: 'cryptoprocessing' as const, kind: 'invoice' as const, foreign_id: `out-poll-${tag}` };
    await lane.pollQueue.add('poll', poll, { jobId: pollJobId('cryptoprocessing', poll.foreign_id), ...twice });
    const update = { foreignId: `out-${tag}`, providerStatus: 'new', status: 'queued' as const, dedupeKey: `out-${tag}` };
    await s.eventsQueue.add(
      'queued',
      { v: 1, provider: 'cryptoprocessing', update, received_at: new Date().toISOString() },
      { jobId: eventJobId('cryptoprocessing', update.dedupeKey), ...twice },
    );
    const eventId = resultJobId('cryptoprocessing', `out-${tag}`, 'queued');
    const delivery = { v: 1 as const, endpoint: `gone-${tag}`, event_id: eventId, invoice: `cryptoprocessing.r.out-${tag}`, after: null };
    await s.webhooksQueue.add('queued', delivery, { jobId: webhookJobId(delivery.endpoint, eventId), attempts: 2, backoff: { type: 'schedule' } });
    return {
      [createJobId('cryptoprocessing', `out-${tag}`)]: 'lane',
      [pollJobId('cryptoprocessing', poll.foreign_id)]: 'lane',
      [eventJobId('cryptoprocessing', update.dedupeKey)]: 'provider',
      [webhookJobId(delivery.endpoint, eventId)]: 'endpoint',
    };
  }

  function outcome(jobId: string): Array<Record<string, unknown>> {
    return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.jobId === jobId && 'attempt' in e);
  }

  function assertFields(e: Record<string, unknown>, about: string, attempt: string): void {
    assert.equal(typeof e.queue, 'string', 'queue');
    assert.equal(typeof e.ms, 'number', 'ms');
    assert.equal(e.attempt, attempt, 'attempt N of M');
    assert.equal(typeof e[about], 'string', about);
  }

  it('success: one line, not an error, when the job completes', async () => {
    const workers = start(t.system.store, t.system.endpoints);
    const jobs = await addJobs(true);
    await t.waitFor(async () => Object.keys(jobs).every((id) => seen.get(id)?.includes('completed')), 'every job completed');
    await Promise.all(workers.map((w) => w.close()));
    for (const [jobId, about] of Object.entries(jobs)) {
      const found = outcome(jobId);
      assert.equal(found.length, 1, `${jobId}:\n${JSON.stringify(found)}`);
      assertFields(found[0]!, about, '1 of 2');
      assert.ok(Number(found[0]!.level) < 50, `${jobId}: not an error: ${String(found[0]!.msg)}`);
    }
  });

  it('an error with retries left: one warn line; the last attempt: one error line', async () => {
    // The store's connection is gone: every processor meets an error it did not expect.
    const gone = new Redis(REDIS_URL);
    const store = new InvoiceStore({ redis: gone, prefix: t.prefix, resultId: resultJobId });
    const endpoints = new EndpointStore(gone, t.prefix);
    await gone.quit();
    const jobs = await addJobs(false);
    const workers = start(store, endpoints);
    await t.waitFor(async () => Object.keys(jobs).every((id) => (seen.get(id)?.filter((e) => e === 'failed').length ?? 0) >= 2), 'every job failed twice');
    await Promise.all(workers.map((w) => w.close()));
    for (const [jobId, about] of Object.entries(jobs)) {
      const found = outcome(jobId);
      assert.equal(found.length, 2, `${jobId}: one line per attempt:\n${JSON.stringify(found)}`);
      assertFields(found[0]!, about, '1 of 2');
      assert.equal(found[0]!.level, 40, `${jobId}: warn while retries are left`);
      assert.match(String(found[0]!.msg), /will retry/);
      assertFields(found[1]!, about, '2 of 2');
      assert.equal(found[1]!.level, 50, `${jobId}: error on the last attempt`);
      assert.doesNotMatch(String(found[1]!.msg), /will retry/);
    }
  });
});
