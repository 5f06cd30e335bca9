/**
 * Operating the service: Bull Board behind Basic auth (read-only viewer, operator retries that go
 * through the same idempotent processor, masked job data), operator retries over the API (one and
 * bulk), Prometheus metrics and readiness.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from 'bullmq';
import { createJobId } from '../../queues/create.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createOpsApp } from '../../src/http/ops.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

const USER = 'ops-lead';
const PASSWORD = 'pw-Correct-Horse-4471';
const BOARD = '/admin/queues';

function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

async function board(t: TestSystem, path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) {
  const res = await fetch(`${t.api}${BOARD}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? basic(USER, PASSWORD)) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* html */
  }
  return { status: res.status, headers: res.headers, body, text };
}

async function failedJob(t: TestSystem, provider: 'alphapo' | 'cryptoprocessing', foreignId: string): Promise<Job> {
  return t.waitFor(async () => {
    const job = await t.createJob(provider, foreignId);
    return job && (await job.getState()) === 'failed' ? job : null;
  }, `failed job ${foreignId}`);
}

async function created(t: TestSystem, provider: string, foreignId: string) {
  return t.waitFor(async () => (await t.results()).find((r) => r.provider === provider && r.foreign_id === foreignId && r.status === 'created'), `created ${foreignId}`);
}

/** The value of one sample in Prometheus text format, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('Bull Board for a viewer', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ env: { ADMIN_USER: USER, ADMIN_PASSWORD: PASSWORD, CREATE_ATTEMPTS: '1' } });
  });
  after(async () => {
    await t.close();
  });

  it('asks for Basic credentials and refuses wrong ones, without logging them', async () => {
    const none = await board(t, '/', { headers: {} });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /);
    assert.equal((await board(t, '/', { headers: basic(USER, 'wrong-password-123') })).status, 401);
    assert.equal((await board(t, '/', { headers: basic('someone', PASSWORD) })).status, 401);
    assert.equal((await board(t, '/api/queues', { headers: {} })).status, 401, 'the board API is protected too');
    const ok = await board(t, '/');
    assert.equal(ok.status, 200);
    assert.match(ok.text, /<base href="\/admin\/queues\/"/);
    assert.ok(t.logs.some((l) => l.includes('admin sign-in refused')));
    assert.equal(
      t.logs.some((l) => l.includes('wrong-password-123') || l.includes(PASSWORD)),
      false,
    );
  });

  it('shows every registered queue, read-only: a retry is refused and the job stays failed', async () => {
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', status: 500 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'view-1'))).status, 202);
    const job = await failedJob(t, 'alphapo', 'view-1');
    t.sandbox.clearFaults();
    const queues = await board(t, '/api/queues');
    assert.equal(queues.status, 200);
    const names = queues.body.queues.map((q: { name: string }) => q.name).sort();
    assert.deepEqual(names, t.system.queues.map((q) => q.name).sort());
    for (const name of ['invoice-create.alphapo', 'invoice-poll.alphapo', 'invoice-events', 'invoice-results']) assert.ok(names.includes(name), name);
    for (const q of queues.body.queues) assert.equal(q.readOnlyMode, true, `${q.name} is read-only`);
    const retry = await board(t, `/api/queues/invoice-create.alphapo/${job.id}/retry`, { method: 'PUT' });
    assert.equal(retry.status, 405);
    assert.equal(await job.getState(), 'failed');
    assert.ok(t.logs.some((l) => l.includes('retry from Bull Board refused') && l.includes(`"by":"${USER}"`)));
  });

  it('a viewer cannot add a repair', async () => {
    const res = await board(t, '/api/queues/invoice-repairs/add', { method: 'POST', body: { name: 'abandon', data: { provider: 'alphapo', foreign_id: 'view-1', reason: 'x' } } });
    assert.equal(res.status, 403);
    assert.match(res.body.message, /ADMIN_ROLE=operator/);
    assert.equal((await t.system.repairsQueue.getJobCounts()).waiting, 0);
    assert.equal((await t.system.store.get('alphapo', 'view-1'))?.status, 'queued');
  });
});

describe('Bull Board for an operator', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ env: { ADMIN_USER: USER, ADMIN_PASSWORD: PASSWORD, ADMIN_ROLE: 'operator', CREATE_ATTEMPTS: '1' } });
  });
  after(async () => {
    await t.close();
  });

  it('retries a failed submission through the same processor, logged with the signed-in user', async () => {
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', status: 500 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'op-1'))).status, 202);
    const job = await failedJob(t, 'alphapo', 'op-1');
    assert.equal(t.sandbox.count('alphapo', 'op-1'), 0);
    t.sandbox.clearFaults();
    const retry = await board(t, `/api/queues/invoice-create.alphapo/${job.id}/retry`, { method: 'PUT' });
    assert.equal(retry.status, 204, retry.text);
    await created(t, 'alphapo', 'op-1');
    assert.equal(t.sandbox.count('alphapo', 'op-1'), 1);
    const line = t.logs.find((l) => l.includes('retry requested from Bull Board'));
    assert.ok(line, 'retry logged');
    const entry = JSON.parse(line);
    assert.equal(entry.by, USER);
    assert.equal(entry.jobId, job.id);
    assert.ok(entry.time, 'with a timestamp');
  });

  it('a retry of a job that already created its invoice re-runs idempotently: no second invoice, no second result', async () => {
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'op-2'))).status, 202);
    await created(t, 'cryptoprocessing', 'op-2');
    const id = createJobId('cryptoprocessing', 'op-2');
    await t.waitFor(async () => (await (await t.system.lane('cryptoprocessing').createQueue.getJob(id))?.getState()) === 'completed', 'completed');
    assert.equal((await board(t, `/api/queues/invoice-create.cryptoprocessing/${id}/retry`, { method: 'PUT' })).status, 204);
    await t.waitFor(async () => t.logs.some((l) => l.includes('already submitted') && l.includes(id)), 'the re-run');
    assert.equal(t.sandbox.count('cryptoprocessing', 'op-2'), 1);
    await t.system.relay.flush();
    assert.equal((await t.results()).filter((r) => r.foreign_id === 'op-2').length, 1);
  });

  it('refuses to obliterate or empty a queue, add jobs or rewrite job data', async () => {
    const before = await t.createCounts();
    for (const [method, path] of [
      ['PUT', '/api/queues/invoice-create.cryptoprocessing/obliterate'],
      ['PUT', '/api/queues/invoice-create.cryptoprocessing/empty'],
      ['POST', '/api/queues/invoice-create.cryptoprocessing/add'],
      ['PATCH', `/api/queues/invoice-create.cryptoprocessing/${createJobId('cryptoprocessing', 'op-2')}/update-data`],
    ] as const) {
      const res = await board(t, path, { method, body: { name: 'x', data: {} } });
      assert.equal(res.status, 403, `${method} ${path}`);
    }
    assert.deepEqual(await t.createCounts(), before);
  });

  it('repairs are added as jobs of invoice-repairs: checked field by field, run as the signed-in operator, refused ones fail saying why', async () => {
    const add = (body: unknown) => board(t, '/api/queues/invoice-repairs/add', { method: 'POST', body });
    const bad = await add({ name: 'attach', data: { provider: 'alphapo', foreign_id: 'rp-1', payment_url: 'ftp://x', provider_invoice_id: '' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.issues.map((i: { field: string }) => i.field).sort(), ['payment_url', 'provider_invoice_id', 'reason']);
    assert.equal((await add({ name: 'obliterate', data: {} })).body.issues[0].field, 'name');
    assert.equal((await add({ name: 'abandon', data: [] })).status, 400);
    assert.equal((await add('not an object')).status, 400);
    assert.equal((await t.system.repairsQueue.getJobCounts('waiting', 'completed', 'failed', 'active')).waiting, 0, 'nothing added');

    // An order that cannot be sent (the provider refuses it), abandoned from the board; the typed `by` is not who it was.
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', status: 500 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'rp-1'))).status, 202);
    await failedJob(t, 'alphapo', 'rp-1');
    t.sandbox.clearFaults();
    const ok = await add({
      name: 'abandon',
      data: { provider: 'alphapo', foreign_id: 'rp-1', reason: 'customer left', status: 'failed', by: 'somebody-else', account: '' },
      options: { delay: 99_999_999 },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const done = await t.waitFor(async () => (await t.system.repairsQueue.getJobs(['completed'])).find((j) => j.data.foreign_id === 'rp-1'), 'the repair job done');
    assert.deepEqual(done.returnvalue, { outcome: 'done', status: 'failed' });
    assert.equal(done.data.by, USER);
    const history = (await t.get('/v1/invoices/alphapo/rp-1')).body.history as Array<{ source: string; reason?: string }>;
    assert.equal(history.at(-1)?.source, `operator:${USER}`);
    assert.match(history.at(-1)?.reason ?? '', /customer left/);

    // Not possible any more: the job fails with the reason, and nothing changes.
    assert.equal((await add({ name: 'reissue', data: { provider: 'alphapo', foreign_id: 'rp-1', reason: 'again' } })).status, 200);
    const refused = await t.waitFor(async () => (await t.system.repairsQueue.getJobs(['failed'])).find((j) => j.data.foreign_id === 'rp-1'), 'the refused repair');
    assert.match(refused.failedReason, /reissue not possible: alphapo\/rp-1 is failed; the order is already failed/);
    assert.equal((await t.system.store.get('alphapo', 'rp-1'))?.status, 'failed');
  });

  it('masks personal data in any job data it shows', async () => {
    const data = {
      v: 1,
      note: 'ask zed.payer@example.org',
      nested: { deeper: { customer: { email: 'zed.payer@example.org', sender: { first_name: 'Zebedee', last_name: 'Quarrington' } } } },
      raw: JSON.stringify({ end_user_email: 'zed.payer@example.org', sender_data: { legal_name: 'Quarrington Holdings' } }),
      amount: '10.00',
    };
    const job = await t.system.resultsQueue.add('paid', data as never, { jobId: 'mask-test' });
    const list = await board(t, '/api/queues?activeQueue=invoice-results&status=latest&page=1&jobsPerPage=50');
    const one = await board(t, `/api/queues/invoice-results/${job.id}`);
    for (const res of [list, one]) {
      assert.equal(res.status, 200);
      for (const secret of ['zed.payer@example.org', 'Zebedee', 'Quarrington']) assert.equal(res.text.includes(secret), false, `${secret} shown`);
      assert.ok(res.text.includes('10.00'), 'the rest of the data is shown');
    }
    assert.equal(one.body.job.data.nested.deeper.customer, '[masked]');
  });
});

describe('Bull Board without credentials', () => {
  it('is disabled outside sandbox mode, and open with a loud warning in sandbox mode', async () => {
    const off = await startTestSystem({ env: { SANDBOX: 'off' } });
    try {
      const res = await board(off, '/', { headers: {} });
      assert.equal(res.status, 403);
      assert.equal(res.body.error, 'admin_disabled');
    } finally {
      await off.close();
    }
    const sandbox = await startTestSystem();
    try {
      assert.equal(sandbox.config.sandbox, true);
      assert.equal((await board(sandbox, '/api/queues', { headers: {} })).status, 200);
      assert.ok(sandbox.logs.some((l) => l.includes('BULL BOARD IS OPEN WITHOUT AUTHENTICATION') && l.includes('"level":40')));
    } finally {
      await sandbox.close();
    }
  });
});

describe('retry API', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ env: { CREATE_ATTEMPTS: '1' } });
  });
  after(async () => {
    await t.close();
  });

  it('bulk retry filters by provider and reason, honours the limit and the dry run, and skips what it must not re-send', async () => {
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', status: 500 });
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: '5xx', status: 500 });
    const ids = ['bulk-1', 'bulk-2', 'bulk-3'];
    for (const id of ids) assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', id))).status, 202);
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'bulk-cp'))).status, 202);
    for (const id of ids) await failedJob(t, 'alphapo', id);
    await failedJob(t, 'cryptoprocessing', 'bulk-cp');
    t.sandbox.clearFaults();
    // Refused by the provider for good (below its minimum): rejected, never retried.
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'bulk-min', { amount: '1.00' }))).status, 202);
    await failedJob(t, 'alphapo', 'bulk-min');

    const dry = await t.post('/v1/invoices/retry', { provider: 'alphapo', dry_run: true });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(dry.body.dry_run, true);
    assert.equal(dry.body.matched, 4);
    assert.deepEqual(dry.body.retried.map((r: { foreign_id: string }) => r.foreign_id).sort(), ids);
    assert.deepEqual(dry.body.skipped, [{ provider: 'alphapo', account: 'default', foreign_id: 'bulk-min', why: 'invoice is rejected' }]);
    assert.equal((await t.createCounts('failed')).failed, 5, 'a dry run changes nothing');

    const real = await t.post('/v1/invoices/retry', { provider: 'alphapo', reason: 'http 500', limit: 2, by: 'alice' });
    assert.equal(real.status, 200);
    assert.equal(real.body.matched, 2);
    assert.equal(real.body.retried.length, 2);
    for (const r of real.body.retried) await created(t, 'alphapo', r.foreign_id);
    assert.equal((await t.createCounts('failed')).failed, 3, 'one alphapo, the cryptoprocessing one and the rejected one stay');
    // No API key configured here: the actor is `anonymous`; the body's `by` is kept as a note.
    assert.equal(t.logs.filter((l) => l.includes('"msg":"submission retried"') && l.includes('"by":"anonymous"') && l.includes('"note":"alice"')).length, 2);
    assert.ok(t.logs.some((l) => l.includes('bulk retry of failed submissions') && l.includes('"by":"anonymous"') && l.includes('"note":"alice"')));

    const single = await t.post('/v1/invoices/cryptoprocessing/bulk-cp/retry', { by: 'bob' });
    assert.equal(single.status, 202);
    assert.equal(single.body.previous_job_state, 'failed');
    await created(t, 'cryptoprocessing', 'bulk-cp');
    assert.equal(t.sandbox.count('cryptoprocessing', 'bulk-cp'), 1);
    const rejected = await t.post('/v1/invoices/alphapo/bulk-min/retry', {});
    assert.equal(rejected.status, 409);
    assert.equal(rejected.body.error, 'not_retryable');

    assert.equal((await t.post('/v1/invoices/retry', { limit: 0 })).status, 400);
    assert.equal((await t.post('/v1/invoices/retry', { provider: 'nope' })).status, 400);
    const metrics = await (await fetch(`${t.api}/metrics`)).text();
    assert.equal(sample(metrics, 'invoice_worker_operator_retries_total', { via: 'api' }), 3);
  });
});

describe('metrics and readiness', () => {
  const TOKEN = 'metrics-token-5f0c9a2e7b';
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ env: { METRICS_TOKEN: TOKEN }, callbacks: true });
  });
  after(async () => {
    await t.close();
  });

  it('/metrics needs the token and reports queues, submissions, provider latency, lifecycle times and refused callbacks', async () => {
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'm-1'))).status, 202);
    await created(t, 'cryptoprocessing', 'm-1');
    t.sandbox.pay('cryptoprocessing', 'm-1');
    await t.waitFor(async () => (await t.results()).some((r) => r.foreign_id === 'm-1' && r.status === 'paid'), 'paid');
    const forged = await fetch(`${t.api}/webhooks/cryptoprocessing`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-processing-signature': 'ab'.repeat(64) },
      body: JSON.stringify({ id: 1, foreign_id: 'm-1', type: 'invoice', status: 'confirmed' }),
    });
    assert.equal(forged.status, 401);

    assert.equal((await fetch(`${t.api}/metrics`)).status, 401);
    assert.equal((await fetch(`${t.api}/metrics`, { headers: { authorization: 'Bearer wrong-token-00000000' } })).status, 401);
    const scrape = async () => {
      const res = await fetch(`${t.api}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      return res.text();
    };
    // Lifecycle histograms are observed just after the relay publishes.
    const text = await t.waitFor(async () => {
      const s = await scrape();
      return sample(s, 'invoice_worker_created_to_terminal_seconds_count', { provider: 'cryptoprocessing', status: 'paid' }) === 1 ? s : null;
    }, 'created-to-terminal observation');
    for (const q of t.system.queues) assert.notEqual(sample(text, 'invoice_worker_queue_jobs', { queue: q.name, state: 'failed' }), undefined, q.name);
    assert.equal(sample(text, 'invoice_worker_queue_jobs', { queue: 'invoice-create.cryptoprocessing', state: 'completed' }), 1);
    assert.equal(sample(text, 'invoice_worker_submissions_total', { provider: 'cryptoprocessing', outcome: 'created' }), 1);
    assert.ok((sample(text, 'invoice_worker_provider_http_request_duration_seconds_count', { provider: 'cryptoprocessing', method: 'POST', status: '201' }) ?? 0) >= 1);
    assert.equal(sample(text, 'invoice_worker_accept_to_created_seconds_count', { provider: 'cryptoprocessing' }), 1);
    assert.equal(sample(text, 'invoice_worker_callback_verification_failures_total', { provider: 'cryptoprocessing' }), 1);
    assert.equal(sample(text, 'invoice_worker_redis_up'), 1);
    assert.equal(sample(text, 'invoice_worker_outbox_pending'), 0);
    assert.equal(sample(text, 'invoice_worker_reconciliation_pending'), 0);
    assert.equal(text.includes(TOKEN), false);
  });

  it('/readyz is 200 while Redis answers and the workers run, 503 once a worker stopped', async () => {
    const ready = await t.get('/readyz');
    assert.equal(ready.status, 200);
    const { lanes, ...rest } = ready.body;
    assert.deepEqual(rest, { ok: true, redis: 'up', workers: 'running' });
    // Each lane's state is in the body too.
    assert.deepEqual(
      lanes.map((l: { lane: string; breaker: string }) => [l.lane, l.breaker]),
      [...t.system.lanes.keys()].map((k) => [k, 'closed']),
    );
    const worker = t.system.workers?.workers[0];
    assert.ok(worker);
    await worker.close();
    const stopped = await t.get('/readyz');
    assert.equal(stopped.status, 503);
    assert.equal(stopped.body.workers, 'stopped');
    assert.equal((await t.get('/healthz')).status, 200, 'liveness is not readiness');
  });

  it('/readyz is 503 when Redis does not answer (a reconnecting client queues commands forever)', async () => {
    const app = createOpsApp({ redis: { ping: () => new Promise<string>(() => {}) }, log: createLogger('silent') });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { redis: string }).redis, 'down');
    } finally {
      server.close();
    }
  });

  it('the worker role serves only health and metrics', async () => {
    const w = await startTestSystem({ role: 'worker', useSandbox: t.sandbox, prefix: `${t.prefix}-w` });
    try {
      assert.equal((await w.get('/readyz')).status, 200);
      assert.equal((await w.get('/metrics')).status, 200);
      assert.equal((await w.get('/admin/queues')).status, 404);
      assert.equal((await w.post('/v1/invoices', sampleOrder('alphapo', 'x'))).status, 404);
    } finally {
      await w.close();
    }
  });
});

describe('.env.example', () => {
  it('documents every variable the configuration reads, and its uncommented values load', async () => {
    const { readFileSync } = await import('node:fs');
    const { envKeys, loadConfig } = await import('../../src/config.ts');
    const root = new URL('../../', import.meta.url);
    // The system's variables and every provider's own (its default account, its tracking knobs).
    const keys = envKeys();
    assert.ok(keys.includes('CRYPTOSTEROID_MERCHANT_ID') && keys.includes('ACCOUNTS_FILE'), 'provider and lane variables are read too');
    assert.ok(keys.length > 20, `found the schema (${keys.length} keys)`);
    const example = readFileSync(new URL('.env.example', root), 'utf8');
    const documented = new Set([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    assert.deepEqual(
      keys.filter((k) => !documented.has(k)),
      [],
      'undocumented in .env.example',
    );
    const values = Object.fromEntries([...example.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
    assert.doesNotThrow(() => loadConfig(values));
  });
});
