/**
 * Guarantee 6: secrets and personal data never reach the logs. A full flow through the real system
 * (orders with e-mails and sender data, API token, admin and metrics credentials, signed
 * callbacks, forged callbacks, provider faults, refusals, bad credentials) with every known
 * secret checked against every log line. Also: one outcome line per create job attempt.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createJobId } from '../../queues/create.ts';
import { createLogger } from '../../src/logger.ts';
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/index.ts';
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
