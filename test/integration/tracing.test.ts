/**
 * Tracing (src/observability/tracing.ts). Off: an order goes through the whole system with no SDK loaded, no
 * trace on the record and no trace ids in the logs. On (an in-memory exporter, each span exported
 * as it ends): one order, sent with the producer's own `traceparent`, created, paid by the
 * sandbox through signed callbacks, published and delivered to a result webhook, is one connected
 * tree in the producer's trace, from the API request through the create job, the provider request,
 * the callback and its events job to the published result and its webhook delivery; the provider
 * and the webhook receiver get `traceparent`; log lines carry the trace id; no span attribute holds
 * personal data or a secret.
 *
 * The "off" test runs first: the SDK, once loaded by the "on" test, stays in the module cache.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { pollJobId } from '../../queues/poll.ts';
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/index.ts';
import { startTracing, tracingActive, tracingFromEnv, type Tracing } from '../../src/observability/tracing.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

const EMAIL = 'tracing.payer@mailbox.example';
const require = createRequire(import.meta.url);
/** SpanKind.CLIENT (numbers only: the SDK's types are imported as types). */
const CLIENT = 2;

/**
 * OpenTelemetry SDK modules (and bullmq-otel) this process has loaded. Not the API: prom-client
 * loads it in any case (for exemplars); without an SDK registered it is a no-op.
 */
const sdkModules = (): string[] => Object.keys(require.cache).filter((k) => /[\\/]node_modules[\\/](@opentelemetry[\\/](?!api[\\/])|bullmq-otel[\\/])/.test(k));

/** A result webhook receiver that keeps every request's headers and answers 204. */
async function receiver(): Promise<{ server: Server; url: string; requests: Array<{ headers: IncomingHttpHeaders; body: { status?: string; foreign_id?: string } }> }> {
  const requests: Array<{ headers: IncomingHttpHeaders; body: { status?: string; foreign_id?: string } }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: JSON.parse(body) as { status?: string } });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, requests };
}

async function orderPaid(t: TestSystem, foreignId: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await t.post('/v1/invoices', sampleOrder('cryptoprocessing', foreignId, { customer: { reference: 'cust-7', email: EMAIL } }), headers);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', foreignId))?.status === 'created', `${foreignId} created`);
  // Its first poll falls due: the poll scheduler, a timer outside any span, adds its poll job (in
  // the order's trace, when tracing is on).
  await t.waitFor(async () => (await t.system.store.inPollIndex('cryptoprocessing', [foreignId]))[0], `${foreignId} first poll scheduled`);
  await t.system.workers!.polls.schedule(Date.now() + 86_400_000);
  assert.ok(await t.system.lane('cryptoprocessing').pollQueue.getJob(pollJobId('cryptoprocessing', foreignId)), `${foreignId} has its poll job`);
  t.sandbox.pay('cryptoprocessing', foreignId);
  await t.waitFor(async () => (await t.results()).some((r) => r.foreign_id === foreignId && r.status === 'paid'), `${foreignId} paid published`);
}

describe('tracing', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('what the OTEL_* variables turn on', () => {
    assert.equal(tracingFromEnv({}), undefined, 'nothing configured: off');
    assert.deepEqual(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), { exporter: 'otlp' });
    assert.deepEqual(tracingFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), { exporter: 'otlp' });
    assert.deepEqual(tracingFromEnv({ OTEL_TRACES_EXPORTER: 'otlp' }), { exporter: 'otlp' });
    assert.deepEqual(tracingFromEnv({ OTEL_TRACES_EXPORTER: 'console' }), { exporter: 'console' });
    assert.equal(tracingFromEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), undefined);
    assert.equal(tracingFromEnv({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }), undefined);
    assert.deepEqual(tracingFromEnv({ OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), { exporter: 'otlp' });
  });

  it('off: no SDK is loaded, records carry no trace, log lines no trace id', async () => {
    const t = await startTestSystem({ callbacks: true });
    cleanup.push(() => t.close());
    await orderPaid(t, 'trace-off-1');
    assert.equal(tracingActive(), false);
    assert.deepEqual(sdkModules(), [], 'no OpenTelemetry SDK module was loaded');
    assert.equal((await t.system.store.get('cryptoprocessing', 'trace-off-1'))?.trace, undefined, 'no trace on the record');
    const paid = await t.system.resultsQueue.getJob((await t.results()).find((r) => r.foreign_id === 'trace-off-1' && r.status === 'paid')!.event_id);
    assert.equal(paid?.opts.telemetry, undefined, 'no propagation metadata on jobs');
    assert.ok(
      t.logs.some((l) => l.includes('"msg":"invoice created"')),
      'the order was logged',
    );
    assert.deepEqual(
      t.logs.filter((l) => l.includes('trace_id')),
      [],
      'no trace ids in log lines',
    );
  });

  it("on: one order's spans are one connected tree in the producer's trace, from its request to the delivered result", async () => {
    const { InMemorySpanExporter: Exporter } = await import('@opentelemetry/sdk-trace-base');
    const exporter: InMemorySpanExporter = new Exporter();
    const tracing: Tracing = await startTracing({ serviceName: 'invoice-worker-test', exporter, env: {} });
    cleanup.push(() => tracing.shutdown());
    assert.ok(sdkModules().length > 0, 'the check above can see SDK modules once loaded');
    const rx = await receiver();
    cleanup.push(() => new Promise<void>((resolve) => rx.server.close(() => resolve())));
    const t = await startTestSystem({ callbacks: true, telemetry: tracing.telemetry, env: { POLL_PLATFORM_MS: '3600000', POLL_IDLE_MS: '3600000' } });
    cleanup.push(() => t.close());
    assert.equal((await t.post('/v1/webhook-endpoints', { url: rx.url })).status, 201);

    // The producer's own span, as an order system with tracing would send it.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const producerSpan = '00f067aa0ba902b7';
    const fid = 'trace-on-1';
    await orderPaid(t, fid, { traceparent: `00-${traceId}-${producerSpan}-01` });
    await t.waitFor(async () => rx.requests.some((r) => r.body.foreign_id === fid && r.body.status === 'paid'), 'paid delivered');
    const delivery = (s: ReadableSpan) =>
      Number(s.kind) === CLIENT && String(s.attributes['url.full']).startsWith(rx.url.replace('/hooks', '')) && s.spanContext().traceId === traceId;
    const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;
    const traced = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    // A span is exported when it ends, a child before its parent: wait until every delivery's
    // consumer span has ended (one per result the receiver got: created, processing, paid, and
    // pending when it was not overtaken) and every span's parent is there (a parent that never comes times out).
    const orphansOf = (all: ReadableSpan[]) => {
      const ids = new Set(all.map((s) => s.spanContext().spanId));
      return all.filter((s) => parentOf(s) !== producerSpan && !ids.has(parentOf(s) ?? ''));
    };
    await t
      .waitFor(async () => {
        const all = traced();
        const delivered = rx.requests.filter((r) => r.body.foreign_id === fid).length;
        return all.filter((s) => s.name === 'process result-webhooks').length >= delivered && orphansOf(all).length === 0;
      }, 'every span of the trace, with its parent')
      .catch(() => undefined);

    const spans = traced();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    // One tree: exactly one span hangs off the producer's span, every other one off a span of the tree.
    const roots = spans.filter((s) => parentOf(s) === producerSpan);
    assert.deepEqual(
      roots.map((s) => s.name),
      ['POST /v1/invoices'],
    );
    assert.deepEqual(
      orphansOf(spans).map((s) => `${s.name} ${String(s.attributes['url.full'] ?? '')} (parent ${parentOf(s)})`),
      [],
      'every span of the trace has its parent in the trace',
    );
    const chain = (s: ReadableSpan): string[] => {
      const names = [s.name];
      for (let p = byId.get(parentOf(s) ?? ''); p; p = byId.get(parentOf(p) ?? '')) names.unshift(p.name);
      return names;
    };
    const find = (what: string, pred: (s: ReadableSpan) => boolean): ReadableSpan => {
      const s = spans.find(pred);
      assert.ok(s, `${what} is in the trace (names: ${[...new Set(spans.map((x) => x.name))].join(', ')})`);
      return s;
    };

    const provider = find('the provider request', (s) => Number(s.kind) === CLIENT && String(s.attributes['url.full']).endsWith('/api/v2/invoices/create'));
    assert.deepEqual(chain(provider), ['POST /v1/invoices', 'addBulk invoice-create.cryptoprocessing', 'process invoice-create.cryptoprocessing', 'POST']);
    assert.equal(provider.attributes['http.request.method'], 'POST');
    assert.equal(provider.attributes['http.response.status_code'], 201, 'the sandbox answers a create with 201');
    assert.equal(provider.attributes['server.address'], '127.0.0.1');

    // The poll scheduler works outside any span: the poll job it added hangs off the order's request.
    const polls = spans.filter((s) => s.name === 'add invoice-poll.cryptoprocessing.poll').map((s) => chain(s).join(' > '));
    assert.deepEqual(polls, ['POST /v1/invoices > add invoice-poll.cryptoprocessing.poll']);

    const callback = find('a callback', (s) => s.name === 'POST /webhooks/cryptoprocessing');
    assert.deepEqual(chain(callback), ['POST /v1/invoices', 'POST /webhooks/cryptoprocessing']);
    assert.equal(callback.attributes['http.response.status_code'], 200);
    const applied = find('its events job', (s) => s.name === 'process invoice-events' && chain(s).includes('POST /webhooks/cryptoprocessing'));
    assert.deepEqual(chain(applied).slice(0, 2), ['POST /v1/invoices', 'POST /webhooks/cryptoprocessing']);

    const publishPaid = find('the paid result published', (s) => s.name === 'publish invoice-results' && s.attributes['invoice.status'] === 'paid');
    assert.deepEqual(chain(publishPaid), ['POST /v1/invoices', 'publish invoice-results']);
    const deliveries = spans.filter(delivery);
    // Created, processing and paid; `pending` too when the platform's callback for it was not overtaken.
    assert.ok(deliveries.length === 3 || deliveries.length === 4, `created, (pending,) processing and paid delivered: ${deliveries.length}`);
    for (const d of deliveries) {
      assert.deepEqual(chain(d), ['POST /v1/invoices', 'publish invoice-results', 'process result-webhooks', 'POST']);
      assert.equal(d.attributes['http.response.status_code'], 204);
    }
    assert.ok(
      deliveries.some((d) => chain(d) && byId.get(parentOf(byId.get(parentOf(d)!)!)!) === publishPaid),
      'the paid delivery hangs under the paid publish',
    );

    // The receivers were told: the webhook receiver (and the provider, see the client spans' context) got traceparent.
    for (const r of rx.requests.filter((x) => x.body.foreign_id === fid)) assert.match(String(r.headers.traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

    // Logs of the order's work carry its trace id.
    const lines = t.logs.map((l) => JSON.parse(l) as { msg?: string; trace_id?: string; span_id?: string; foreign_id?: string });
    const createdLine = lines.find((l) => l.msg === 'invoice created' && l.foreign_id === fid);
    assert.equal(createdLine?.trace_id, traceId);
    assert.match(String(createdLine?.span_id), /^[0-9a-f]{16}$/);
    assert.ok(
      lines.some((l) => l.msg === 'callback applied' && l.trace_id === traceId),
      'the events worker logs in the trace',
    );

    // CryptoSteroid's per-invoice callback route (the record it reads to authenticate names the trace).
    const csTrace = '5bf92f3577b34da6a3ce929d0e0e4737';
    const cs = await t.post('/v1/invoices', sampleOrder('cryptosteroid', 'trace-on-cs'), { traceparent: `00-${csTrace}-${producerSpan}-01` });
    assert.equal(cs.status, 202, JSON.stringify(cs.body));
    const csInvoice = await t.waitFor(async () => (await t.system.store.get('cryptosteroid', 'trace-on-cs'))?.provider_invoice_id, 'trace-on-cs created');
    t.sandbox.pay('cryptosteroid', csInvoice);
    const csApplied = await t.waitFor(
      async () => exporter.getFinishedSpans().find((s) => s.spanContext().traceId === csTrace && s.name === 'process invoice-events'),
      'the CryptoSteroid callback applied in its trace',
    );
    const csSpans = new Map(
      exporter
        .getFinishedSpans()
        .filter((s) => s.spanContext().traceId === csTrace)
        .map((s) => [s.spanContext().spanId, s]),
    );
    const csCallback = csSpans.get(parentOf(csApplied) ?? '');
    assert.equal(csCallback?.name, 'POST /webhooks/cryptosteroid/:invoice');
    assert.equal(csSpans.get(parentOf(csCallback) ?? '')?.name, 'POST /v1/invoices');

    // Nothing personal or secret in any span of any trace.
    const attrs = JSON.stringify(exporter.getFinishedSpans().map((s) => [s.name, s.attributes]));
    for (const secret of [EMAIL, SANDBOX_CREDENTIALS.cryptoprocessing.apiSecret, SANDBOX_CREDENTIALS.cryptoprocessing.apiKey, SANDBOX_CREDENTIALS.cryptosteroid.apiKey])
      assert.equal(attrs.includes(secret), false, `no ${secret.slice(0, 6)}... in spans`);
    assert.equal(/[?]/.test(attrs.replace(/"[^"]*":/g, '')), false, 'no query string recorded');
  });
});
