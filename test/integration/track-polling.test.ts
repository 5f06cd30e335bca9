/**
 * Tracking without callbacks: every callback is dropped (no platform callback URL, CryptoSteroid's
 * processingUrl points at a closed port), so only polling and deadlines move invoices. The sandbox
 * runs 1000x faster (timeScale 0.001) and our provider deadlines are read from what it answered.
 * A second suite drives `pollOnce` with scripted adapters and a moved clock against real Redis.
 * A third shows the poll limiter holding across two worker processes, by the lookups the provider saw.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pollJobId } from '../../queues/poll.ts';
import { OutcomeUnknown, ProviderRateLimited, ProviderUnavailable } from '../../src/errors.ts';
import { OrderSchema, orderHash, type ProviderId } from '../../src/invoice/order.ts';
import { pollOnce } from '../../src/invoice/polling.ts';
import type { ProviderAdapter, ProviderUpdate } from '../../src/providers/types.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { startWorkerProcess, workerEnv, type WorkerProcess } from '../helpers/worker-process.ts';
import { sampleOrder, samplePaymentRequest, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { assertPublishedExactlyOnce, platformHeaders, postRaw, requestCallback, resultsFor, settle, waitCreated, waitStatus } from './track-helpers.ts';

describe('tracking with every callback dropped: polling and deadlines alone', () => {
  let t: TestSystem;
  const GRACE = 2000;
  before(async () => {
    t = await startTestSystem({
      sandbox: { timeScale: 0.001, redeliveryDelaysMs: [60_000] },
      env: {
        PUBLIC_BASE_URL: 'http://127.0.0.1:9',
        POLL_PLATFORM_MS: '150',
        POLL_CRYPTOSTEROID_MS: '150',
        POLL_IDLE_MS: '150',
        DEADLINE_GRACE_MS: String(GRACE),
        // Our own fallback windows, at the sandbox's time scale.
        DEADLINE_TIMER_MS: '900',
        DEADLINE_CRYPTOSTEROID_MS: '1800',
        POLL_RATE_MAX: '1000',
      },
    });
    const orders = [
      sampleOrder('cryptoprocessing', 'pl-paid'),
      sampleOrder('alphapo', 'pl-timer', { timer: true }),
      sampleOrder('cryptosteroid', 'pl-cs-exp'),
      samplePaymentRequest('cryptoprocessing', 'pl-pr', { expires_in_seconds: 600 }),
      sampleOrder('cryptoprocessing', 'pl-idle'),
    ];
    const res = await t.post('/v1/invoices/batch', { orders });
    assert.equal(res.body.counts.accepted, orders.length, JSON.stringify(res.body));
  });
  after(async () => {
    await t.close();
  });

  it('cryptoprocessing invoice: the payment is seen by the lookup (the documented transaction record): processing, with the money and txid, never inferred expired', async () => {
    await waitCreated(t, 'cryptoprocessing', 'pl-paid');
    t.sandbox.pay('cryptoprocessing', 'pl-paid');
    await waitStatus(t, 'cryptoprocessing', 'pl-paid', 'processing');
    await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', 'pl-paid'))?.transactions.length, 'the transaction recorded');
    await settle(t);
    assert.ok(
      t.sandbox
        .deliveries()
        .filter((d) => d.foreignId === 'pl-paid')
        .every((d) => d.result === 'no-url'),
      'no callback reached us',
    );
    // A deposit record says money arrived, not that the invoice is confirmed: only its callback says that.
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'cryptoprocessing', 'pl-paid'), ['created', 'processing']);
    const rec = await t.system.store.get('cryptoprocessing', 'pl-paid');
    assert.equal((await t.system.store.history(rec!.id)).at(-1)?.source, 'poll');
    const sent = t.sandbox.invoice('cryptoprocessing', 'pl-paid');
    assert.equal(rec?.received_currency, sent?.payCurrency);
    assert.equal(rec?.transactions[0]?.txid, sent?.transactions[0]?.txid);
    const processing = (await resultsFor(t, 'cryptoprocessing', 'pl-paid')).find((r) => r.status === 'processing');
    assert.ok(processing?.received_amount, 'the processing result carries the money seen');
  });

  it('cryptosteroid: paid by lookup while its webhook cannot get through', async () => {
    // Created here, not with the others: its 30-minute window is under 2 s at this time scale.
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptosteroid', 'pl-cs-paid'))).status, 202);
    await waitCreated(t, 'cryptosteroid', 'pl-cs-paid');
    t.sandbox.pay('cryptosteroid', (await t.system.store.get('cryptosteroid', 'pl-cs-paid'))!.provider_invoice_id!);
    await waitStatus(t, 'cryptosteroid', 'pl-cs-paid', 'paid');
    await settle(t);
    const rec = await t.system.store.get('cryptosteroid', 'pl-cs-paid');
    assert.ok(
      t.sandbox
        .deliveries()
        .filter((d) => d.invoiceId === rec!.provider_invoice_id)
        .every((d) => d.result !== 200),
    );
    const statuses = await assertPublishedExactlyOnce(t, 'cryptosteroid', 'pl-cs-paid');
    assert.equal(statuses.at(-1), 'paid');
    assert.equal((await t.system.store.history(rec!.id)).at(-1)?.source, 'poll');
  });

  it('alphapo timer invoice: nothing paid, so the lookup has nothing to say and the deadline ends it (inferred); cryptosteroid: expired as the provider says (polled)', async () => {
    await waitStatus(t, 'alphapo', 'pl-timer', 'expired', 15_000);
    await waitStatus(t, 'cryptosteroid', 'pl-cs-exp', 'expired');
    await settle(t);
    const timer = await t.system.store.get('alphapo', 'pl-timer');
    assert.equal(timer?.inferred, 'deadline', 'the platform lookup finds no transaction for an unpaid invoice');
    assert.match((await resultsFor(t, 'alphapo', 'pl-timer')).find((r) => r.status === 'expired')?.reason ?? '', /^inferred: no word from the provider/);
    assert.equal(await t.system.store.get('cryptosteroid', 'pl-cs-exp').then((r) => r?.inferred), null);
    assert.equal((await t.system.store.get('cryptosteroid', 'pl-cs-exp'))?.provider_status, 'EXPIRED');
    assert.equal((await assertPublishedExactlyOnce(t, 'alphapo', 'pl-timer')).at(-1), 'expired');
    assert.equal((await assertPublishedExactlyOnce(t, 'cryptosteroid', 'pl-cs-exp')).at(-1), 'expired');
  });

  it('payment request (no lookup exists): expired by its deadline plus grace, marked as inferred', async () => {
    await waitStatus(t, 'cryptoprocessing', 'pl-pr', 'expired', 15_000);
    await settle(t);
    const rec = await t.system.store.get('cryptoprocessing', 'pl-pr');
    assert.equal(rec?.inferred, 'deadline');
    assert.ok(Date.now() >= Date.parse(rec.expires_at!) + GRACE, 'not before deadline + grace');
    const expired = (await resultsFor(t, 'cryptoprocessing', 'pl-pr')).find((r) => r.status === 'expired');
    assert.match(expired?.reason ?? '', /^inferred: no word from the provider/);
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'cryptoprocessing', 'pl-pr'), ['created', 'expired']);
  });

  it('a paid callback arriving after an inferred expiry is parked for an operator, never published backwards', async () => {
    const rec = await t.system.store.get('cryptoprocessing', 'pl-pr');
    assert.equal(rec?.status, 'expired');
    const body = requestCallback(rec.provider_invoice_id!, 'pl-pr', 'paid', '100.50');
    assert.equal((await postRaw(`${t.api}/webhooks/cryptoprocessing`, body, platformHeaders('cryptoprocessing', body))).status, 200);
    const parked = await t.waitFor(async () => {
      const r = await t.system.store.get('cryptoprocessing', 'pl-pr');
      return r?.reconcile ? r : null;
    }, 'parked');
    assert.equal(parked.status, 'expired');
    assert.match(parked.reconcile ?? '', /provider reports paid after we inferred expired/);
    assert.ok((await t.system.store.parked()).includes(parked.id));
    await settle(t);
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'cryptoprocessing', 'pl-pr'), ['created', 'expired']);
    // The order system hears it: one exception (the money and the provider's word) and the parking.
    const events = (await resultsFor(t, 'cryptoprocessing', 'pl-pr')).filter((r) => r.event && r.event !== 'transition');
    assert.deepEqual(events.map((r) => [r.event, r.status, r.previous_status]).sort(), [['exception', 'expired', 'expired']]);
    assert.equal(events[0]!.exception?.type, 'paid_after_end');
    assert.equal(events[0]!.exception?.received_amount, '100.5');
    assert.equal(parked.events.filter((e) => e.kind === 'exception').length, 1, 'on the record too');
  });

  it('platform invoice without timer: no deadline is invented; it stays created and keeps its one poll job', async () => {
    const opened = (await t.system.store.get('cryptoprocessing', 'pl-idle'))!.opened_at!;
    // Well past what a timer invoice would get (15 min at this scale) plus grace, and a few polls.
    const wait = opened + 900 + GRACE + 500 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const rec = await t.system.store.get('cryptoprocessing', 'pl-idle');
    assert.equal(rec?.status, 'created');
    const job = await t.system.lane('cryptoprocessing').pollQueue.getJob(pollJobId('cryptoprocessing', 'pl-idle'));
    assert.ok(job, 'its poll job is still there');
    assert.ok(['delayed', 'waiting', 'active'].includes(await job.getState()));
    assert.deepEqual(await assertPublishedExactlyOnce(t, 'cryptoprocessing', 'pl-idle'), ['created']);
    // Terminal invoices drop their poll job: exactly the open one is left.
    await t.waitFor(
      async () =>
        (await t.system.lane('cryptoprocessing').pollQueue.getJobCounts('delayed', 'wait', 'active', 'failed')).failed === 0 &&
        (await t.system.lane('cryptoprocessing').pollQueue.count()) === 1,
      'only the open invoice is polled',
    );
  });

  it('a poll job that fails for good stays in the failed set for an operator', async () => {
    // Data no poll job of ours carries: the processor refuses it outright (UnrecoverableError).
    const bad = { v: 1, provider: 'cryptoprocessing', kind: 'invoice', foreign_id: '' } as const;
    await t.system.lane('cryptoprocessing').pollQueue.add('poll', bad, { jobId: pollJobId('cryptoprocessing', 'pl-broken') });
    await t.waitFor(async () => (await t.system.lane('cryptoprocessing').pollQueue.getJobCounts('failed')).failed === 1, 'the broken poll job fails');
    const job = await t.system.lane('cryptoprocessing').pollQueue.getJob(pollJobId('cryptoprocessing', 'pl-broken'));
    assert.equal(await job?.getState(), 'failed');
    assert.match(job?.failedReason ?? '', /invalid job data: foreign_id/);
    await job?.remove();
  });
});

describe('pollOnce with a scripted provider and a moved clock', () => {
  let t: TestSystem;
  const MIN = 60_000;
  before(async () => {
    t = await startTestSystem({ role: 'api' });
  });
  after(async () => {
    await t.close();
  });

  function adapter(id: ProviderId, lookup: () => Promise<ProviderUpdate | null>): ProviderAdapter {
    const no = (): never => {
      throw new Error('not used here');
    };
    // The lane's real adapter (its deadlines and cadence), with a scripted lookup.
    return { ...t.system.lane(id).adapter, create: no, verifyCallback: no, parseCallback: no, lookup };
  }
  const laneWith = (a: ProviderAdapter) => ({ key: a.id, adapter: a, tuning: {} });
  const trackSettings = (c: typeof t.config) => ({
    pollIdleMs: c.POLL_IDLE_MS,
    graceMs: c.DEADLINE_GRACE_MS,
    timerMs: Number(c.env.DEADLINE_TIMER_MS),
    processingMs: c.DEADLINE_PROCESSING_MS,
    cryptoSteroidMs: Number(c.env.DEADLINE_CRYPTOSTEROID_MS),
    pollCryptoSteroidMs: Number(c.env.POLL_CRYPTOSTEROID_MS),
  });

  async function open(provider: ProviderId, fid: string, extra: Record<string, unknown> = {}, processing = false) {
    const order = OrderSchema.parse(sampleOrder(provider as 'cryptoprocessing', fid, extra));
    await t.system.store.accept(order, orderHash(order), 'secret');
    await t.system.store.apply(provider, fid, { status: 'created', source: 'create', fields: { provider_invoice_id: `pi-${fid}` } });
    if (processing) await t.system.store.apply(provider, fid, { status: 'processing', source: 'callback' });
    return (await t.system.store.get(provider, fid))!;
  }

  const job = (provider: ProviderId, fid: string, kind: 'invoice' | 'payment_request' = 'invoice') => ({ v: 1 as const, provider, kind, foreign_id: fid });

  it('a provider that keeps failing: polling goes on (error noted), then the deadline ends it as inferred expired', async () => {
    const settings = trackSettings(t.config);
    const rec = await open('cryptoprocessing', 'po-down', { timer: true });
    const down = adapter('cryptoprocessing', async () => {
      throw new ProviderUnavailable('provider error (HTTP 503)', 'cryptoprocessing', 503);
    });
    const early = await pollOnce({ store: t.system.store, lane: laneWith(down), settings, now: () => rec.opened_at! + MIN }, job('cryptoprocessing', 'po-down'));
    assert.equal(early.kind, 'again');
    assert.ok(early.kind === 'again' && early.at <= rec.opened_at! + settings.timerMs + settings.graceMs + 1, 'wakes by the deadline');
    assert.match((await t.system.store.get('cryptoprocessing', 'po-down'))!.last_error ?? '', /lookup failed: ProviderUnavailable 503/);
    const before = await pollOnce(
      { store: t.system.store, lane: laneWith(down), settings, now: () => rec.opened_at! + settings.timerMs + settings.graceMs - 1 },
      job('cryptoprocessing', 'po-down'),
    );
    assert.equal(before.kind, 'again', 'not one millisecond early');
    const late = await pollOnce(
      { store: t.system.store, lane: laneWith(down), settings, now: () => rec.opened_at! + settings.timerMs + settings.graceMs },
      job('cryptoprocessing', 'po-down'),
    );
    assert.deepEqual(late, { kind: 'done', status: 'expired', published: true });
    const after = (await t.system.store.get('cryptoprocessing', 'po-down'))!;
    assert.equal(after.inferred, 'deadline');
    assert.match(after.reason ?? '', /^inferred/);
  });

  it('a timer invoice partly paid (still pending) and then silent past its deadline ends failed, never inferred expired', async () => {
    const settings = trackSettings(t.config);
    const rec = await open('cryptoprocessing', 'po-partly', { timer: true });
    // An installment was recorded (money seen), but the invoice never reached processing.
    const paidInto = await t.system.store.apply('cryptoprocessing', 'po-partly', {
      status: 'pending',
      source: 'callback',
      fields: { received_amount: '0.001', received_currency: 'BTC', transactions: JSON.stringify([{ txid: 'po-partly-tx', amount: '0.001', currency: 'BTC' }]) },
    });
    assert.equal(paidInto.kind, 'applied');
    const silent = adapter('cryptoprocessing', async () => null);
    const end = await pollOnce(
      { store: t.system.store, lane: laneWith(silent), settings, now: () => rec.opened_at! + settings.timerMs + settings.graceMs },
      job('cryptoprocessing', 'po-partly'),
    );
    assert.deepEqual(end, { kind: 'done', status: 'failed', published: true });
    assert.equal((await t.system.store.get('cryptoprocessing', 'po-partly'))?.inferred, 'deadline');
  });

  it('processing past the 24 h stretch with a silent provider ends failed (as the provider reports that case), inferred', async () => {
    const settings = trackSettings(t.config);
    const rec = await open('alphapo', 'po-stuck', { timer: true }, true);
    const silent = adapter('alphapo', async () => null);
    const mid = await pollOnce(
      { store: t.system.store, lane: laneWith(silent), settings, now: () => rec.status_at! + settings.timerMs + settings.graceMs + MIN },
      job('alphapo', 'po-stuck'),
    );
    assert.equal(mid.kind, 'again', 'the 15-minute timer no longer applies once processing');
    const end = await pollOnce(
      { store: t.system.store, lane: laneWith(silent), settings, now: () => rec.status_at! + settings.processingMs + settings.graceMs },
      job('alphapo', 'po-stuck'),
    );
    assert.deepEqual(end, { kind: 'done', status: 'failed', published: true });
  });

  it('a provider that answers is believed over our deadline; without timer there is no deadline at all', async () => {
    const settings = trackSettings(t.config);
    const cs = await open('cryptosteroid', 'po-cs');
    const stillNew = adapter('cryptosteroid', async () => ({ providerInvoiceId: 'pi-po-cs', providerStatus: 'NEW', status: 'created', dedupeKey: 'n' }));
    const far = cs.opened_at! + 10 * settings.cryptoSteroidMs;
    const a = await pollOnce({ store: t.system.store, lane: laneWith(stillNew), settings, now: () => far, random: () => 0.5 }, job('cryptosteroid', 'po-cs'));
    assert.deepEqual(a, { kind: 'again', at: far + settings.pollCryptoSteroidMs, published: false, status: 'created' });
    const idle = await open('cryptoprocessing', 'po-idle', { timer: false });
    const month = idle.opened_at! + 30 * 24 * 60 * MIN;
    const b = await pollOnce(
      { store: t.system.store, lane: laneWith(adapter('cryptoprocessing', async () => null)), settings, now: () => month, random: () => 0.5 },
      job('cryptoprocessing', 'po-idle'),
    );
    assert.deepEqual(b, { kind: 'again', at: month + settings.pollIdleMs, published: false, status: 'created' });
  });

  it('a 429 asks to slow down; any other provider error only reschedules; our own bugs fail the job', async () => {
    const settings = trackSettings(t.config);
    await open('cryptoprocessing', 'po-429');
    const throttled = adapter('cryptoprocessing', async () => {
      throw new ProviderRateLimited('provider rate limit', 'cryptoprocessing', 429);
    });
    assert.equal((await pollOnce({ store: t.system.store, lane: laneWith(throttled), settings }, job('cryptoprocessing', 'po-429'))).kind, 'rate-limited');
    const lost = adapter('cryptoprocessing', async () => {
      throw new OutcomeUnknown('no answer', 'cryptoprocessing');
    });
    assert.equal((await pollOnce({ store: t.system.store, lane: laneWith(lost), settings }, job('cryptoprocessing', 'po-429'))).kind, 'again');
    const bug = adapter('cryptoprocessing', async () => {
      throw new TypeError('boom');
    });
    await assert.rejects(pollOnce({ store: t.system.store, lane: laneWith(bug), settings }, job('cryptoprocessing', 'po-429')), TypeError);
    assert.equal((await t.system.store.get('cryptoprocessing', 'po-429'))?.status, 'created');
  });

  it('terminal or not-yet-created invoices end their polling without asking the provider', async () => {
    const settings = trackSettings(t.config);
    let asked = 0;
    const counting = adapter('alphapo', async () => {
      asked++;
      return null;
    });
    const order = OrderSchema.parse(sampleOrder('alphapo', 'po-queued'));
    await t.system.store.accept(order, orderHash(order), 'secret');
    assert.deepEqual(await pollOnce({ store: t.system.store, lane: laneWith(counting), settings }, job('alphapo', 'po-queued')), {
      kind: 'done',
      status: 'queued',
      published: false,
    });
    await open('alphapo', 'po-done');
    await t.system.store.apply('alphapo', 'po-done', { status: 'paid', source: 'callback' });
    assert.deepEqual(await pollOnce({ store: t.system.store, lane: laneWith(counting), settings }, job('alphapo', 'po-done')), { kind: 'done', status: 'paid', published: false });
    assert.equal(asked, 0);
  });
});

describe('lookups are rate-limited across processes (the poll limiter is per queue, in Redis)', () => {
  const MAX = 4; // lookups per second, for the whole lane
  const WINDOW_MS = 3000;
  let sandbox: Sandbox;
  let t: TestSystem;
  let proxy: Server;
  let workers: WorkerProcess[] = [];
  /** When each lookup reached the provider. */
  const lookups: number[] = [];
  before(async () => {
    sandbox = await startSandbox({ port: 0 });
    // In front of the sandbox's CryptoProcessing API: it sees every request the provider sees.
    const target = new URL(sandbox.baseUrls.cryptoprocessing);
    proxy = createServer((req, res) => {
      if (req.url?.startsWith('/api/v2/transactions/info')) lookups.push(Date.now());
      const out = request(
        { host: target.hostname, port: target.port, path: `${target.pathname.replace(/\/$/, '')}${req.url ?? ''}`, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    t = await startTestSystem({ useSandbox: sandbox, role: 'api' });
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    await t.close();
    await new Promise((r) => proxy.close(r));
    await sandbox.close();
  });

  it(`two worker processes together look up at most ${MAX} invoices a second, while 20 open invoices want ~1,000`, async (ctx) => {
    const base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    // Every open invoice is due again 20 ms after each poll: demand far above the limit.
    const env = workerEnv(sandbox, t.prefix, {
      LOG_LEVEL: 'debug',
      LANES: 'cryptoprocessing',
      CRYPTOPROCESSING_BASE_URL: base,
      POLL_PLATFORM_MS: '20',
      POLL_IDLE_MS: '20',
      POLL_RATE_MAX: String(MAX),
      POLL_RATE_DURATION_MS: '1000',
    });
    workers = [startWorkerProcess(env), startWorkerProcess(env)];
    // Both up before any work exists, so both compete for it from the start.
    for (const [i, w] of workers.entries()) await t.waitFor(async () => w.output().includes('"msg":"invoice worker started"'), `worker ${i} started`, 30_000);
    const orders = Array.from({ length: 20 }, (_, i) => sampleOrder('cryptoprocessing', `rl-${i}`));
    assert.equal((await t.post('/v1/invoices/batch', { orders })).body.counts.accepted, orders.length);
    await t
      .waitFor(
        async () => (await Promise.all(orders.map((o) => t.system.store.statusOf('cryptoprocessing', String(o.foreign_id))))).every((s) => s === 'created'),
        'all created',
        30_000,
      )
      .catch((e: unknown) => {
        throw new Error(`${String(e)}\n${workers.map((w) => w.output().slice(-3000)).join('\n---\n')}`);
      });
    await t.waitFor(async () => (lookups.length > 0 ? true : null), 'the first lookup', 10_000);

    const from = Date.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS)); // a span of time is what is measured here
    const seen = lookups.filter((at) => at >= from && at < from + WINDOW_MS).length;
    // However the limiter's 1 s windows fall, a 3 s span touches at most 4 of them, and one more
    // covers lookups that started in an earlier window and arrived late (a slow machine). A slow
    // machine otherwise only lowers the count; without the limiter it is in the hundreds (357).
    ctx.diagnostic(`${seen} lookups in ${WINDOW_MS} ms`);
    assert.ok(seen <= MAX * (WINDOW_MS / 1000 + 2), `${seen} lookups in ${WINDOW_MS} ms, limit ${MAX}/s`);
    assert.ok(seen >= 1, 'polling went on');
    // Both processes worked the lane's queues, so the limit held for the two together. Which of
    // them gets each poll is the limiter's business: one may be held back every time.
    for (const [i, w] of workers.entries()) {
      const jobs = w
        .output()
        .split('\n')
        .filter((l) => /"queue":"invoice-(create|poll)\.cryptoprocessing"/.test(l) && l.includes('"attempt"'));
      const polls = jobs.filter((l) => l.includes('invoice-poll.')).length;
      ctx.diagnostic(`worker ${i}: ${jobs.length - polls} create and ${polls} poll outcome lines`);
      assert.ok(jobs.length >= 1, `worker ${i} took jobs of the lane`);
    }
  });
});
