/**
 * The OpenAPI document against the running system. It fails when the document drifts from what
 * the API does:
 * - the document is valid OpenAPI 3.1 (the official meta-schema);
 * - every producer route the router has is documented, and nothing else;
 * - a real request and a real answer of every operation, for every status it documents, are
 *   checked against the served document (ajv, JSON Schema 2020-12, with answers closed: a field
 *   the API sends but the document lacks fails too);
 * - a client generated from /openapi.json (openapi-typescript types + openapi-fetch) type-checks,
 *   then creates an order and reads it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { invoiceRoutes, type InvoiceRouteDeps } from '../../src/http/invoices.ts';
import { repairRoutes, type RepairRouteDeps } from '../../src/http/repairs.ts';
import { listingRoutes } from '../../src/http/listing.ts';
import { paymentMethodRoutes } from '../../src/http/payment-method.ts';
import { webhookEndpointRoutes, type EndpointRouteDeps } from '../../src/http/webhook-endpoints.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/observability/logger.ts';
import { sha256Hex } from '../../src/access/api-keys.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { platformHeaders, postRaw } from './track-helpers.ts';

const addFormats = addFormatsModule.default;
const token = 'openapi-test-token-0123456789';
/** A key with the `webhooks` scope only: every operation here answers it 403. */
const webhooksOnly = 'openapi-webhooks-only-token-4821';
/** A key with `orders:read` only: the webhook endpoint operations answer it 403. */
const readsOnly = 'openapi-reads-only-token-7305';

type Json = Record<string, any>;

/** A copy in which every object schema that does not say otherwise admits no other fields. */
function closed(doc: Json): Json {
  const copy = structuredClone(doc);
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const o = node as Json;
    if (o.type === 'object' && o.properties && o.additionalProperties === undefined) o.additionalProperties = false;
    Object.values(o).forEach(walk);
  };
  walk(copy.components);
  return copy;
}

const pointer = (...parts: string[]): string => `openapi.json#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

describe('OpenAPI document', () => {
  let t: TestSystem;
  let doc: Json;
  let ajv: Ajv2020;
  /** `operationId status` of every answer checked. */
  const seen = new Set<string>();

  before(async () => {
    // A short breaker pause: the failed submission below opens a breaker, which close() would otherwise wait out.
    keysDir = mkdtempSync(join(tmpdir(), 'openapi-keys-'));
    writeFileSync(
      join(keysDir, 'keys.json'),
      JSON.stringify([
        { id: 'hooks-only', token_sha256: sha256Hex(webhooksOnly), scopes: ['webhooks'] },
        { id: 'reads-only', token_sha256: sha256Hex(readsOnly), scopes: ['orders:read'] },
      ]),
    );
    t = await startTestSystem({
      env: { API_TOKEN: token, API_KEYS_FILE: join(keysDir, 'keys.json'), BREAKER_OPEN_MS: '200', CREATE_ATTEMPTS: '3', WEBHOOK_ALLOW_PRIVATE: 'true' },
    });
    const res = await fetch(`${t.api}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    doc = (await res.json()) as Json;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(closed(doc), 'openapi.json');
  });
  after(async () => {
    await t.close();
    rmSync(keysDir, { recursive: true, force: true });
  });
  let keysDir = '';

  const validator = (ref: string): ValidateFunction => ajv.getSchema(ref) ?? (ajv.addSchema({ $ref: ref }, ref), ajv.getSchema(ref) as ValidateFunction);
  const conforms = (ref: string, value: unknown): string | null => {
    const v = validator(ref);
    return v(value) ? null : ajv.errorsText(v.errors);
  };

  interface Call {
    method: 'get' | 'post' | 'delete';
    path: string;
    params?: Record<string, string>;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: unknown;
    /** Raw body instead of JSON (415, 413, malformed JSON). */
    raw?: { body: string; type: string };
    auth?: boolean;
    /** Another bearer token than the full-access one. */
    token?: string;
    /** Whether the request should conform to the document (default: when the answer is 2xx). */
    conformingRequest?: boolean;
  }

  /** Sends a request and checks it and its answer against the document; the answer's status and body. */
  async function call(c: Call): Promise<{ status: number; body: any; headers: Headers }> {
    const op = doc.paths[c.path]?.[c.method];
    assert.ok(op, `${c.method} ${c.path} is documented`);
    let url = c.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(c.params?.[name] ?? ''));
    if (c.query) url += `?${new URLSearchParams(c.query)}`;
    const headers: Record<string, string> = { ...c.headers };
    if (c.auth !== false) headers.authorization = `Bearer ${c.token ?? token}`;
    let body: string | undefined;
    if (c.raw) {
      body = c.raw.body;
      headers['content-type'] = c.raw.type;
    } else if (c.body !== undefined) {
      body = JSON.stringify(c.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${t.api}${url}`, { method: c.method.toUpperCase(), headers, body });
    const text = await res.text();
    const media = (res.headers.get('content-type') ?? '').split(';')[0] as string;
    // A streamed export (CSV, NDJSON) is checked for its documented media type only.
    const answer = text && media === 'application/json' ? JSON.parse(text) : text || undefined;
    const what = `${op.operationId} ${res.status} ${text.slice(0, 300)}`;

    // The request, as the document describes it (a 400, 413 or 415 says it is not).
    const conforming = c.conformingRequest ?? ![400, 413, 415].includes(res.status);
    const problems: string[] = [];
    for (const [i, p] of ((op.parameters ?? []) as Json[]).entries()) {
      const value = p.in === 'path' ? c.params?.[p.name] : p.in === 'query' ? c.query?.[p.name] : c.headers?.[p.name.toLowerCase()];
      if (value === undefined) {
        if (p.required) problems.push(`${p.name} missing`);
        continue;
      }
      const typed = p.schema?.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
      const error = conforms(pointer('paths', c.path, c.method, 'parameters', String(i), 'schema'), typed);
      if (error) problems.push(`${p.name}: ${error}`);
    }
    let sent: unknown = c.body;
    if (c.raw) {
      if (!op.requestBody?.content?.[c.raw.type]) problems.push(`body: ${c.raw.type} is not documented`);
      try {
        sent = JSON.parse(c.raw.body);
      } catch {
        problems.push('body: not JSON');
      }
    }
    if (op.requestBody && sent !== undefined) {
      const error = conforms(pointer('paths', c.path, c.method, 'requestBody', 'content', 'application/json', 'schema'), sent);
      if (error) problems.push(`body: ${error}`);
    } else if (op.requestBody?.required && sent === undefined) problems.push('body missing');
    if (conforming) assert.deepEqual(problems, [], `the request of ${what} conforms`);
    else assert.notDeepEqual(problems, [], `the document refuses the request of ${what} too`);

    // The answer.
    const documented = op.responses[String(res.status)];
    assert.ok(documented, `${what}: status documented`);
    for (const name of ['preference-applied']) {
      if (res.headers.has(name))
        assert.ok(
          Object.keys(documented.headers ?? {}).some((h) => h.toLowerCase() === name),
          `${what}: header ${name} documented`,
        );
    }
    if (media !== 'application/json' && res.status === 200) {
      assert.ok(documented.content?.[media], `${what}: media type ${media} documented`);
      seen.add(`${op.operationId} ${res.status}`);
      return { status: res.status, body: answer, headers: res.headers };
    }
    for (const name of ['retry-after']) {
      if (documented.headers && Object.keys(documented.headers).some((h) => h.toLowerCase() === name)) assert.ok(res.headers.has(name), `${what}: header ${name} sent`);
    }
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/, what);
    const error = conforms(pointer('paths', c.path, c.method, 'responses', String(res.status), 'content', 'application/json', 'schema'), answer);
    assert.equal(error, null, `${what}: answer conforms: ${error}`);
    seen.add(`${op.operationId} ${res.status}`);
    return { status: res.status, body: answer, headers: res.headers };
  }

  it('is valid OpenAPI 3.1 and documents exactly the routes of the producer API', async () => {
    const result = await new Validator().validate(structuredClone(doc));
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    assert.match(String(doc.openapi), /^3\.1\./);
    assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: doc.components.securitySchemes.bearer.description });

    type Stack = { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> };
    const routers = [
      invoiceRoutes({} as InvoiceRouteDeps),
      repairRoutes({ log: createLogger('silent') } as RepairRouteDeps),
      listingRoutes({} as Parameters<typeof listingRoutes>[0]),
      paymentMethodRoutes({} as Parameters<typeof paymentMethodRoutes>[0]),
      webhookEndpointRoutes({} as EndpointRouteDeps),
    ] as unknown as Stack[];
    const routes = routers
      .flatMap((r) => r.stack)
      .flatMap((l) => (l.route ? Object.keys(l.route.methods).map((m) => `${m} ${l.route!.path.replace(/:(\w+)/g, '{$1}')}`) : []))
      .sort();
    const documented = Object.entries(doc.paths as Json)
      .flatMap(([path, item]) => Object.keys(item as Json).map((m) => `${m} ${path}`))
      .sort();
    assert.deepEqual(documented, routes);
  });

  it('describes a real request and answer of every operation, for every status it documents', async () => {
    const order = sampleOrder('alphapo', 'oa-1');
    // POST /v1/invoices
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'latency', ms: 200 });
    const waited = await call({ method: 'post', path: '/v1/invoices', query: { wait: '10' }, body: sampleOrder('cryptoprocessing', 'oa-wait') });
    t.sandbox.clearFaults();
    assert.equal(waited.status, 201);
    assert.ok(waited.body.invoice.payment_url);
    assert.equal(waited.headers.get('preference-applied'), 'wait=10');
    assert.equal((await call({ method: 'post', path: '/v1/invoices', body: order })).status, 202);
    assert.equal((await call({ method: 'post', path: '/v1/invoices', body: order, headers: { prefer: 'wait=0' } })).status, 200);
    assert.equal((await call({ method: 'post', path: '/v1/invoices', body: { ...order, amount: '1.00' } })).status, 409);
    const invalid = await call({ method: 'post', path: '/v1/invoices', body: { ...order, foreign_id: '', colour: 'red' } });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error, 'invalid_order');
    assert.equal((await call({ method: 'post', path: '/v1/invoices', query: { wait: 'soon' }, body: order })).status, 400);
    assert.equal((await call({ method: 'post', path: '/v1/invoices', raw: { body: '{"provider":', type: 'application/json' } })).body.error, 'invalid_json');
    assert.equal((await call({ method: 'post', path: '/v1/invoices', body: order, auth: false })).status, 401);

    // POST /v1/invoices/batch
    const batch = await call({ method: 'post', path: '/v1/invoices/batch', body: { orders: [order, sampleOrder('cryptosteroid', 'oa-b1'), { ...order, amount: '2.00' }] } });
    assert.deepEqual(
      batch.body.results.map((r: Json) => r.outcome),
      ['existing', 'accepted', 'conflict'],
    );
    const withInvalid = await call({ method: 'post', path: '/v1/invoices/batch', body: { orders: [{ ...order, foreign_id: '' }] }, conformingRequest: false });
    assert.deepEqual(
      withInvalid.body.results.map((r: Json) => r.outcome),
      ['invalid'],
    );
    assert.equal((await call({ method: 'post', path: '/v1/invoices/batch', body: { orders: [] } })).status, 400);
    assert.equal((await call({ method: 'post', path: '/v1/invoices/batch', body: { orders: [order] }, auth: false })).status, 401);

    // GET /v1/invoices/{provider}/{foreign_id}
    const read = await call({
      method: 'get',
      path: '/v1/invoices/{provider}/{foreign_id}',
      params: { provider: 'cryptoprocessing', foreign_id: 'oa-wait' },
      query: { account: 'default' },
    });
    assert.equal(read.status, 200);
    assert.deepEqual(
      read.body.history.map((h: Json) => h.to),
      ['queued', 'created'],
    );
    assert.equal((await call({ method: 'get', path: '/v1/invoices/{provider}/{foreign_id}', params: { provider: 'alphapo', foreign_id: 'nope' } })).status, 404);
    assert.equal(
      (await call({ method: 'get', path: '/v1/invoices/{provider}/{foreign_id}', params: { provider: 'alphapo', foreign_id: 'oa-1' }, query: { account: 'Bad!' } })).status,
      400,
    );
    assert.equal((await call({ method: 'get', path: '/v1/invoices/{provider}/{foreign_id}', params: { provider: 'alphapo', foreign_id: 'oa-1' }, auth: false })).status, 401);

    // POST /v1/invoices/{provider}/{foreign_id}/retry: a submission the provider refused with 500s until its attempts ran out.
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', status: 500 });
    await call({ method: 'post', path: '/v1/invoices', body: sampleOrder('alphapo', 'oa-failed') });
    await t.waitFor(async () => (await (await t.createJob('alphapo', 'oa-failed'))?.getState()) === 'failed', 'the submission to fail');
    t.sandbox.clearFaults();
    const retryPath = '/v1/invoices/{provider}/{foreign_id}/retry';
    const bulk = await call({ method: 'post', path: '/v1/invoices/retry', body: { provider: 'alphapo', reason: '500', dry_run: true } });
    assert.deepEqual(
      bulk.body.retried.map((r: Json) => r.foreign_id),
      ['oa-failed'],
    );
    const retried = await call({ method: 'post', path: retryPath, params: { provider: 'alphapo', foreign_id: 'oa-failed' }, body: { by: 'openapi-test' } });
    assert.equal(retried.status, 202);
    assert.equal((await call({ method: 'post', path: retryPath, params: { provider: 'cryptoprocessing', foreign_id: 'oa-wait' } })).body.error, 'not_retryable');
    assert.equal((await call({ method: 'post', path: retryPath, params: { provider: 'alphapo', foreign_id: 'nope' } })).status, 404);
    assert.equal((await call({ method: 'post', path: retryPath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, body: { confirm: true } })).status, 400);
    assert.equal((await call({ method: 'post', path: retryPath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, auth: false })).status, 401);

    // POST /v1/invoices/retry
    assert.equal((await call({ method: 'post', path: '/v1/invoices/retry', body: { provider: 'nosuch' }, conformingRequest: true })).status, 400);
    assert.equal((await call({ method: 'post', path: '/v1/invoices/retry', body: { limit: 0 } })).status, 400);
    assert.equal((await call({ method: 'post', path: '/v1/invoices/retry', auth: false })).status, 401);

    // The repairs: cancel before sending, abandon, attach, reissue (docs/exceptions.md).
    const cancelPath = '/v1/invoices/{provider}/{foreign_id}/cancel';
    const abandonPath = '/v1/invoices/{provider}/{foreign_id}/abandon';
    const attachPath = '/v1/invoices/{provider}/{foreign_id}/attach';
    const held = t.system.lane('cryptosteroid').createQueue;
    await held.pause();
    await call({ method: 'post', path: '/v1/invoices', body: sampleOrder('cryptosteroid', 'oa-cancel') });
    assert.equal((await call({ method: 'post', path: cancelPath, params: { provider: 'cryptosteroid', foreign_id: 'oa-cancel' }, body: { reason: 'cart emptied' } })).status, 200);
    await held.resume();
    assert.equal((await call({ method: 'post', path: cancelPath, params: { provider: 'cryptosteroid', foreign_id: 'oa-cancel' } })).status, 409);
    assert.equal((await call({ method: 'post', path: cancelPath, params: { provider: 'alphapo', foreign_id: 'nope' } })).status, 404);
    assert.equal((await call({ method: 'post', path: cancelPath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, body: { reason: '' } })).status, 400);
    assert.equal((await call({ method: 'post', path: cancelPath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, auth: false })).status, 401);
    const abandoned = await call({ method: 'post', path: abandonPath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, body: { reason: 'test', by: 'openapi-test' } });
    assert.equal(abandoned.status, 200);
    assert.equal(
      (await call({ method: 'post', path: abandonPath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, body: { reason: 'again', by: 'openapi-test' } })).status,
      409,
    );
    assert.equal((await call({ method: 'post', path: abandonPath, params: { provider: 'alphapo', foreign_id: 'nope' }, body: { reason: 'x', by: 'y' } })).status, 404);
    assert.equal((await call({ method: 'post', path: abandonPath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, body: {}, conformingRequest: false })).status, 400);
    assert.equal((await call({ method: 'post', path: abandonPath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, auth: false, body: { reason: 'x', by: 'y' } })).status, 401);
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', status: 500 });
    await call({ method: 'post', path: '/v1/invoices', body: sampleOrder('alphapo', 'oa-attach') });
    await t.waitFor(async () => (await (await t.createJob('alphapo', 'oa-attach'))?.getState()) === 'failed', 'the submission to fail');
    t.sandbox.clearFaults();
    const attachBody = { provider_invoice_id: '4242', payment_url: 'https://invoices.alphapo.net/4242', reason: 'found in the dashboard', by: 'openapi-test' };
    assert.equal((await call({ method: 'post', path: attachPath, params: { provider: 'alphapo', foreign_id: 'oa-attach' }, body: attachBody })).status, 200);
    assert.equal((await call({ method: 'post', path: attachPath, params: { provider: 'alphapo', foreign_id: 'oa-attach' }, body: attachBody })).status, 409);
    assert.equal((await call({ method: 'post', path: attachPath, params: { provider: 'alphapo', foreign_id: 'nope' }, body: attachBody })).status, 404);
    assert.equal(
      (
        await call({
          method: 'post',
          path: attachPath,
          params: { provider: 'alphapo', foreign_id: 'oa-attach' },
          body: { ...attachBody, payment_url: 'ftp://x' },
          conformingRequest: false,
        })
      ).status,
      400,
    );
    assert.equal((await call({ method: 'post', path: attachPath, params: { provider: 'alphapo', foreign_id: 'oa-attach' }, auth: false, body: attachBody })).status, 401);

    // Reissue: a platform order whose create answer was lost (parked), sent again under a derived id.
    const reissuePath = '/v1/invoices/{provider}/{foreign_id}/reissue';
    const reissueBody = { reason: 'not in the dashboard', by: 'openapi-test' };
    t.sandbox.addFault({ provider: 'alphapo', fault: 'commit-then-drop', count: 1 });
    // The orphan's cancel fails too, so the order is parked for an operator (else it recovers by itself).
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', op: 'cancel', count: 1 });
    await call({ method: 'post', path: '/v1/invoices', body: sampleOrder('alphapo', 'oa-reissue') });
    await t.waitFor(async () => (await t.system.store.get('alphapo', 'oa-reissue'))?.reconcile, 'the order to be parked');
    assert.equal((await call({ method: 'post', path: reissuePath, params: { provider: 'alphapo', foreign_id: 'oa-reissue' }, body: reissueBody })).status, 200);
    assert.equal((await call({ method: 'post', path: reissuePath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, body: reissueBody })).status, 409);
    assert.equal((await call({ method: 'post', path: reissuePath, params: { provider: 'alphapo', foreign_id: 'nope' }, body: reissueBody })).status, 404);
    assert.equal((await call({ method: 'post', path: reissuePath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, body: { by: 'x' }, conformingRequest: false })).status, 400);
    assert.equal((await call({ method: 'post', path: reissuePath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, auth: false, body: reissueBody })).status, 401);

    // Cancel and abandon ask the provider to cancel first: one that cannot answer is a 503, nothing changed.
    await call({ method: 'post', path: '/v1/invoices', body: sampleOrder('alphapo', 'oa-503') });
    await t.waitFor(async () => (await t.system.store.get('alphapo', 'oa-503'))?.payment_url, 'oa-503 created');
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', op: 'cancel', count: 2 });
    assert.equal((await call({ method: 'post', path: cancelPath, params: { provider: 'alphapo', foreign_id: 'oa-503' } })).status, 503);
    assert.equal((await call({ method: 'post', path: abandonPath, params: { provider: 'alphapo', foreign_id: 'oa-503' }, body: { reason: 'x', by: 'y' } })).status, 503);
    assert.equal((await t.system.store.get('alphapo', 'oa-503'))?.status, 'created', 'nothing changed');

    // Accept: a confirmed payment whose figures do not cover the order is parked as underpaid; an operator takes it as paid.
    const acceptPath = '/v1/invoices/{provider}/{foreign_id}/accept';
    const acceptBody = { reason: 'the rest came by bank transfer', by: 'openapi-test' };
    await call({ method: 'post', path: '/v1/invoices', body: sampleOrder('alphapo', 'oa-accept') });
    const pid = await t.waitFor(async () => (await t.system.store.get('alphapo', 'oa-accept'))?.provider_invoice_id, 'oa-accept created');
    const short = JSON.stringify({
      id: Number(pid),
      foreign_id: 'oa-accept',
      type: 'invoice',
      status: 'confirmed',
      currency_received: { currency: 'EUR', amount: '1.00' },
      error: '',
    });
    assert.equal((await postRaw(`${t.api}/webhooks/alphapo`, short, platformHeaders('alphapo', short))).status, 200);
    await t.waitFor(async () => (await t.system.store.get('alphapo', 'oa-accept'))?.reconcile, 'oa-accept parked as underpaid');
    assert.equal((await call({ method: 'post', path: acceptPath, params: { provider: 'alphapo', foreign_id: 'oa-accept' }, body: acceptBody })).status, 200);
    assert.equal((await call({ method: 'post', path: acceptPath, params: { provider: 'alphapo', foreign_id: 'oa-accept' }, body: acceptBody })).status, 409);
    assert.equal((await call({ method: 'post', path: acceptPath, params: { provider: 'alphapo', foreign_id: 'nope' }, body: acceptBody })).status, 404);
    assert.equal((await call({ method: 'post', path: acceptPath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, body: { by: 'x' }, conformingRequest: false })).status, 400);
    assert.equal((await call({ method: 'post', path: acceptPath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, auth: false, body: acceptBody })).status, 401);

    // GET /v1/invoices and its export.
    const page = await call({ method: 'get', path: '/v1/invoices', query: { provider: 'alphapo', limit: '2' } });
    assert.equal(page.status, 200);
    assert.equal(page.body.items.length, 2);
    const next = await call({ method: 'get', path: '/v1/invoices', query: { provider: 'alphapo', limit: '2', cursor: page.body.next_cursor } });
    assert.equal(next.status, 200);
    assert.equal((await call({ method: 'get', path: '/v1/invoices', query: { limit: '0' } })).status, 400);
    assert.equal((await call({ method: 'get', path: '/v1/invoices', auth: false })).status, 401);
    const csv = await call({ method: 'get', path: '/v1/invoices/export', query: { format: 'csv', status: 'created' } });
    assert.equal(csv.status, 200);
    assert.match(String(csv.body), /^provider,account,lane,foreign_id/);
    assert.equal((await call({ method: 'get', path: '/v1/invoices/export', query: { format: 'ndjson' } })).status, 200);
    assert.equal((await call({ method: 'get', path: '/v1/invoices/export', query: { format: 'xml' } })).status, 400);
    assert.equal((await call({ method: 'get', path: '/v1/invoices/export', auth: false })).status, 401);

    // POST /v1/invoices/{provider}/{foreign_id}/payment-method
    const pmPath = '/v1/invoices/{provider}/{foreign_id}/payment-method';
    const csOrder = sampleOrder('cryptosteroid', 'oa-pm');
    delete csOrder.payment_currency;
    await call({ method: 'post', path: '/v1/invoices', body: csOrder });
    await t.waitFor(async () => (await t.system.store.get('cryptosteroid', 'oa-pm'))?.status === 'created', 'oa-pm created');
    const cs = { provider: 'cryptosteroid', foreign_id: 'oa-pm' };
    t.sandbox.addFault({ provider: 'cryptosteroid', fault: '5xx', op: 'update', count: 20 });
    const down = await call({ method: 'post', path: pmPath, params: cs, body: { payment_method: 'BTC' } });
    t.sandbox.clearFaults();
    assert.equal(down.status, 503);
    const chosen = await call({ method: 'post', path: pmPath, params: cs, body: { payment_method: 'BTC' } });
    assert.equal(chosen.status, 200);
    assert.equal(chosen.body.invoice.pay_to.currency, 'BTC');
    assert.equal((await call({ method: 'post', path: pmPath, params: { provider: 'alphapo', foreign_id: 'oa-1' }, body: { payment_method: 'BTC' } })).status, 409);
    assert.equal((await call({ method: 'post', path: pmPath, params: { provider: 'cryptosteroid', foreign_id: 'nope' }, body: { payment_method: 'BTC' } })).status, 404);
    assert.equal((await call({ method: 'post', path: pmPath, params: cs, body: { payment_method: '' } })).status, 400);
    assert.equal((await call({ method: 'post', path: pmPath, params: cs, auth: false, body: { payment_method: 'BTC' } })).status, 401);

    // Result webhook endpoints, against a real receiver on this machine.
    const receiver: Server = createServer((_req, res) => void res.writeHead(204).end());
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
      const created = await call({ method: 'post', path: '/v1/webhook-endpoints', body: { url: hookUrl, description: 'openapi' } });
      assert.equal(created.status, 201);
      const ep = { id: created.body.endpoint.id as string };
      const none = { id: 'no-such-endpoint' };
      // The target check (HTTPS, a public address once resolved) and "event_id, or from and to" are checked in code, not by the document.
      assert.equal((await call({ method: 'post', path: '/v1/webhook-endpoints', body: { url: 'ftp://shop.example.com/x' }, conformingRequest: true })).status, 400);
      assert.equal((await call({ method: 'post', path: '/v1/webhook-endpoints', body: { url: hookUrl }, auth: false })).status, 401);
      assert.equal((await call({ method: 'get', path: '/v1/webhook-endpoints' })).status, 200);
      assert.equal((await call({ method: 'get', path: '/v1/webhook-endpoints', auth: false })).status, 401);
      const one = '/v1/webhook-endpoints/{id}';
      assert.equal((await call({ method: 'get', path: one, params: ep })).status, 200);
      assert.equal((await call({ method: 'get', path: one, params: none })).status, 404);
      assert.equal((await call({ method: 'get', path: one, params: ep, auth: false })).status, 401);
      for (const action of ['rotate', 'disable', 'enable'] as const) {
        const path = `/v1/webhook-endpoints/{id}/${action}`;
        assert.equal((await call({ method: 'post', path, params: ep })).status, action === 'rotate' ? 201 : 200);
        assert.equal((await call({ method: 'post', path, params: none })).status, 404);
        assert.equal((await call({ method: 'post', path, params: ep, auth: false })).status, 401);
      }
      // A result delivered to it, then its deliveries listed, one event's attempts, and a redelivery.
      await call({ method: 'post', path: '/v1/invoices', body: sampleOrder('alphapo', 'oa-hook') });
      const delivered = await t.waitFor(async () => {
        const r = await call({ method: 'get', path: '/v1/webhook-endpoints/{id}/deliveries', params: ep, query: { status: 'delivered' } });
        return r.body.items.length ? (r.body.items[0].event_id as string) : null;
      }, 'a delivery to the endpoint');
      const dl = '/v1/webhook-endpoints/{id}/deliveries';
      const attempts = await call({ method: 'get', path: dl, params: ep, query: { event_id: delivered } });
      assert.equal(attempts.body.attempts[0].outcome, 204);
      assert.equal((await call({ method: 'get', path: dl, params: ep, query: { limit: '1' } })).body.items.length, 1);
      assert.equal((await call({ method: 'get', path: dl, params: ep, query: { status: 'lost' } })).status, 400);
      assert.equal((await call({ method: 'get', path: dl, params: none })).status, 404);
      assert.equal((await call({ method: 'get', path: dl, params: ep, auth: false })).status, 401);
      const rd = '/v1/webhook-endpoints/{id}/redeliver';
      assert.equal((await call({ method: 'post', path: rd, params: ep, body: { event_id: delivered } })).status, 202);
      assert.equal((await call({ method: 'post', path: rd, params: ep, body: {}, conformingRequest: true })).status, 400);
      assert.equal((await call({ method: 'post', path: rd, params: ep, body: { event_id: 'result.alphapo.nope.paid' } })).status, 404);
      assert.equal((await call({ method: 'post', path: rd, params: ep, body: { event_id: delivered }, auth: false })).status, 401);
      for (const [method, path, params, body] of [
        ['post', '/v1/webhook-endpoints', undefined, { url: hookUrl }],
        ['get', '/v1/webhook-endpoints', undefined, undefined],
        ['get', one, ep, undefined],
        ['delete', one, ep, undefined],
        ['post', '/v1/webhook-endpoints/{id}/rotate', ep, undefined],
        ['post', '/v1/webhook-endpoints/{id}/enable', ep, undefined],
        ['post', '/v1/webhook-endpoints/{id}/disable', ep, undefined],
        ['get', dl, ep, undefined],
        ['post', rd, ep, { event_id: delivered }],
      ] as const) {
        const res = await call({ method, path, params, body, token: readsOnly });
        assert.equal(res.status, 403, `${method} ${path}`);
      }
      for (const path of ['/v1/webhook-endpoints', rd] as const) {
        const params = path === rd ? ep : undefined;
        assert.equal((await call({ method: 'post', path, params, raw: { body: 'url=x', type: 'application/x-www-form-urlencoded' } })).status, 415);
        assert.equal((await call({ method: 'post', path, params, raw: { body: JSON.stringify({ url: 'x'.repeat(5 * 1024 * 1024) }), type: 'application/json' } })).status, 413);
      }
      assert.equal((await call({ method: 'delete', path: one, params: ep, auth: false })).status, 401);
      assert.equal((await call({ method: 'delete', path: one, params: ep })).status, 200);
      assert.equal((await call({ method: 'delete', path: one, params: ep })).status, 404);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }

    // 413 and 415 of every operation with a body.
    const big = JSON.stringify({ orders: [{ description: 'x'.repeat(5 * 1024 * 1024) }] });
    const one = { provider: 'alphapo', foreign_id: 'oa-1' };
    for (const [path, params] of [
      ['/v1/invoices', {}],
      ['/v1/invoices/batch', {}],
      [retryPath, one],
      ['/v1/invoices/retry', {}],
      [cancelPath, one],
      [abandonPath, one],
      [attachPath, one],
      [reissuePath, one],
      [acceptPath, one],
      ['/v1/invoices/{provider}/{foreign_id}/payment-method', one],
    ] as const) {
      assert.equal((await call({ method: 'post', path, params, raw: { body: 'provider=alphapo', type: 'application/x-www-form-urlencoded' } })).status, 415);
      assert.equal((await call({ method: 'post', path, params, raw: { body: big, type: 'application/json' } })).status, 413);
    }

    // A key without the operation's scope: 403, as documented.
    const forbidden = { provider: 'alphapo', foreign_id: 'oa-forbidden' };
    for (const [method, path, params, body] of [
      ['post', '/v1/invoices', undefined, sampleOrder('alphapo', 'oa-forbidden')],
      ['post', '/v1/invoices/batch', undefined, { orders: [sampleOrder('alphapo', 'oa-forbidden')] }],
      ['get', '/v1/invoices/{provider}/{foreign_id}', forbidden, undefined],
      ['post', retryPath, forbidden, {}],
      ['post', '/v1/invoices/retry', undefined, {}],
      ['post', cancelPath, forbidden, {}],
      ['post', abandonPath, forbidden, { reason: 'x' }],
      ['post', attachPath, forbidden, attachBody],
      ['post', reissuePath, forbidden, reissueBody],
      ['post', acceptPath, forbidden, acceptBody],
      ['get', '/v1/invoices', undefined, undefined],
      ['get', '/v1/invoices/export', undefined, undefined],
      ['post', '/v1/invoices/{provider}/{foreign_id}/payment-method', forbidden, { payment_method: 'BTC' }],
    ] as const) {
      const res = await call({ method, path, params, body, token: webhooksOnly });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.ok(res.body.scope, 'names the scope');
    }
    assert.equal(await t.system.store.get('alphapo', 'oa-forbidden'), null, 'nothing recorded');

    const missing = Object.values(doc.paths as Json)
      .flatMap((item) => Object.values(item as Json))
      .flatMap((op: Json) => Object.keys(op.responses).map((s) => `${op.operationId} ${s}`))
      .filter((k) => !seen.has(k));
    assert.deepEqual(missing, [], 'every documented answer was seen');
  });

  it('a client generated from /openapi.json (openapi-typescript + openapi-fetch) creates an order and reads it', async () => {
    const dir = join(import.meta.dirname, '..', '..', 'test-artifacts', `openapi-client-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      // defaultNonNullable: false, so that a field with a default (the order's `kind`) stays optional to send.
      writeFileSync(join(dir, 'schema.ts'), astToString(await openapiTS(doc as never, { defaultNonNullable: false })));
      writeFileSync(
        join(dir, 'client.ts'),
        `import createClient from 'openapi-fetch';
import type { components, paths } from './schema.ts';

type Order = components['schemas']['Order'];
type Invoice = components['schemas']['Invoice'];

export async function run(baseUrl: string, token: string, foreignId: string): Promise<{ status: number; created: Invoice; read: Invoice }> {
  const api = createClient<paths>({ baseUrl, headers: { authorization: 'Bearer ' + token } });
  const order: Order = {
    provider: 'alphapo', foreign_id: foreignId, amount: '42.00', currency: 'EUR', title: 'Generated client',
    customer: { reference: 'cust-7', email: 'payer@example.com' },
    urls: { success: 'https://shop.example/ok', failure: 'https://shop.example/fail' },
  };
  // @ts-expect-error the document refuses unknown fields, and so do the generated types
  const typo: Order = { ...order, colour: 'red' };
  void typo;
  const created = await api.POST('/v1/invoices', { params: { query: { wait: 10 } }, body: order });
  if (!created.data) throw new Error('create failed: ' + JSON.stringify(created.error));
  const outcome: 'accepted' | 'existing' = created.data.outcome;
  void outcome;
  const read = await api.GET('/v1/invoices/{provider}/{foreign_id}', { params: { path: { provider: 'alphapo', foreign_id: foreignId } } });
  if (!read.data) throw new Error('read failed: ' + JSON.stringify(read.error));
  const url: string | null = read.data.payment_url;
  void url;
  return { status: created.response.status, created: created.data.invoice, read: read.data };
}
`,
      );
      const program = ts.createProgram([join(dir, 'client.ts')], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        lib: ['lib.es2024.d.ts', 'lib.dom.d.ts'],
        types: [],
      });
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      assert.deepEqual(diagnostics, [], 'the generated client type-checks');

      const { run } = (await import(pathToFileURL(join(dir, 'client.ts')).href)) as {
        run: (baseUrl: string, token: string, foreignId: string) => Promise<{ status: number; created: Json; read: Json }>;
      };
      const result = await run(t.api, token, 'oa-generated');
      assert.equal(result.status, 201);
      assert.equal(result.created.status, 'created');
      assert.ok(result.created.payment_url);
      assert.equal(result.read.payment_url, result.created.payment_url);
      assert.equal(result.read.foreign_id, 'oa-generated');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves a reference page without the token and without anything from elsewhere', async () => {
    const res = await fetch(`${t.api}/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await res.text();
    for (const op of Object.values(doc.paths as Json).flatMap((item) => Object.values(item as Json))) assert.ok(html.includes(`id="${(op as Json).operationId}"`));
    for (const name of Object.keys(doc.components.schemas)) assert.ok(html.includes(`id="schema-${name}"`), name);
    assert.ok(html.includes('href="openapi.json"'));
    assert.doesNotMatch(html, /<script|src=["']https?:|href=["']https?:/i);
  });
});
