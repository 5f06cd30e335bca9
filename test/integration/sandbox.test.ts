/**
 * The sandbox provider over real HTTP on port 0: auth and signing, validation, duplicates,
 * CryptoSteroid rules, every fault, lifecycle commands, signed callbacks with redelivery and
 * scaled deadlines. Each test starts its own sandbox and closes it (no shared state, no leaks).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { request } from 'undici';
import { signBody, verifyBody } from '../../src/signing.ts';
import { SANDBOX_CREDENTIALS, startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.ts';

/** Every test gets a ceiling, so a close() that never finishes fails instead of stalling the run. */
const it = (name: string, fn: () => Promise<void>): void => void test(name, { timeout: 10_000 }, fn);

const CP = SANDBOX_CREDENTIALS.cryptoprocessing;
const AP = SANDBOX_CREDENTIALS.alphapo;
const CS = SANDBOX_CREDENTIALS.cryptosteroid;

async function withSandbox(options: SandboxOptions, fn: (sb: Sandbox) => Promise<void>): Promise<void> {
  const sb = await startSandbox(options);
  try {
    await fn(sb);
  } finally {
    await sb.close();
  }
}

interface CallOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  key?: string | null;
  secret?: string;
  signature?: string | null;
  contentType?: string | null;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

async function call(url: string, body: string | undefined, o: CallOptions = {}) {
  const headers: Record<string, string> = { ...o.headers };
  if (o.contentType !== null) headers['content-type'] = o.contentType ?? 'application/json';
  if (o.key) headers['x-processing-key'] = o.key;
  if (o.signature !== null && o.secret && body !== undefined) headers['x-processing-signature'] = o.signature ?? signBody(body, o.secret);
  const res = await request(url, { method: o.method ?? 'POST', headers, ...(body !== undefined ? { body } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: (): any => JSON.parse(text) };
}

const cp = (sb: Sandbox, path: string, body: string, o: CallOptions = {}) => call(`${sb.baseUrls.cryptoprocessing}${path}`, body, { key: CP.apiKey, secret: CP.apiSecret, ...o });
const ap = (sb: Sandbox, path: string, body: string, o: CallOptions = {}) => call(`${sb.baseUrls.alphapo}${path}`, body, { key: AP.apiKey, secret: AP.apiSecret, ...o });
const cs = (sb: Sandbox, path: string, body: unknown, o: CallOptions = {}) =>
  call(`${sb.baseUrls.cryptosteroid}/merchants/${CS.merchantId}${path}`, body === undefined ? undefined : JSON.stringify(body), {
    headers: { 'x-api-key': CS.apiKey },
    ...o,
  });

const invoice = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    timer: false,
    title: 'Order',
    currency: 'EUR',
    amount: 100,
    foreign_id: `o-${Math.random().toString(36).slice(2)}`,
    url_success: 'https://shop.example/ok',
    url_failed: 'https://shop.example/fail',
    email_user: 'payer@shop.example',
    ...over,
  });
const paymentRequest = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ amount: '100.50', currency: { iso: 'EUR' }, life_time_duration: 3600, foreign_id: `pr-${Math.random().toString(36).slice(2)}`, ...over });

async function waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 4000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A merchant endpoint that records raw callbacks and answers with scripted statuses. */
async function receiver(script: number[] = []) {
  const got: Array<{ raw: Buffer; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ raw: Buffer.concat(chunks), headers: req.headers });
      res.statusCode = script[got.length - 1] ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  };
  return { url, got, close, bodies: () => got.map((g) => JSON.parse(g.raw.toString('utf8'))) };
}

it('the documented signing test vector is what the sandbox verifies', async () => {
  const body = '{"currency":"BTC","foreign_id":"123456"}';
  const sig = signBody(body, 'AbCdEfG123456');
  assert.ok(sig.startsWith('03c25fcf7cd35e7d') && sig.endsWith('29195fa1ec'), sig);
  await withSandbox({ credentials: { cryptoprocessing: { apiKey: 'k', apiSecret: 'AbCdEfG123456' } } }, async (sb) => {
    const ok = await call(`${sb.baseUrls.cryptoprocessing}/api/v2/transactions/info`, body, { method: 'GET', key: 'k', signature: sig, secret: 'x' });
    assert.equal(ok.status, 404, ok.text); // authenticated; simply no such transaction
    const spaced = '{"currency": "BTC", "foreign_id": "123456"}';
    const bad = await call(`${sb.baseUrls.cryptoprocessing}/api/v2/transactions/info`, spaced, { method: 'GET', key: 'k', signature: sig, secret: 'x' });
    assert.equal(bad.status, 403);
    assert.deepEqual(bad.json(), { error: 'Bad signature header', code: 'bad_header_signature' });
  });
});

it('platform auth: exact error codes, checked on the raw bytes, nothing stored', async () => {
  await withSandbox({}, async (sb) => {
    const body = invoice({ foreign_id: 'auth-1' });
    const code = async (o: CallOptions, b = body) => {
      const r = await cp(sb, '/api/v2/invoices/create', b, o);
      return [r.status, r.json().code];
    };
    assert.deepEqual(await code({ key: null }), [403, 'required_header_key']);
    assert.deepEqual(await code({ key: 'nope' }), [403, 'bad_header_key']);
    assert.deepEqual(await code({ signature: null }), [403, 'required_header_signature']);
    assert.deepEqual(await code({ signature: 'ab'.repeat(64) }), [403, 'bad_header_signature']);
    // Signed one form, sent a re-serialised one: must fail as a signature error.
    assert.deepEqual(await code({ signature: signBody(JSON.stringify(JSON.parse(body), null, 1), CP.apiSecret) }), [403, 'bad_header_signature']);
    // AlphaPo's secret does not open CryptoProcessing.
    assert.deepEqual(await code({ secret: AP.apiSecret }), [403, 'bad_header_signature']);
    assert.deepEqual(await code({ contentType: null }), [400, 'bad_content_format']);
    assert.deepEqual(await code({}, '{"timer":'), [400, 'bad_content_format']);
    const unknown = await cp(sb, '/api/v2/nothing-here', body);
    assert.deepEqual([unknown.status, unknown.json().code], [403, 'required_header_key']);
    assert.equal(sb.count('cryptoprocessing', 'auth-1'), 0);
    const good = await cp(sb, '/api/v2/invoices/create', body);
    assert.equal(good.status, 201, good.text);
  });
});

it('validation: documented messages, per-provider requirements, every bad field at once', async () => {
  await withSandbox({}, async (sb) => {
    const errors = async (res: Promise<{ status: number; json: () => any }>) => {
      const r = await res;
      assert.equal(r.status, 400);
      return r.json().errors as Record<string, string>;
    };
    const e1 = await errors(cp(sb, '/api/v2/invoices/create', '{}'));
    for (const f of ['timer', 'title', 'currency', 'amount', 'foreign_id', 'url_success', 'url_failed', 'email_user']) assert.ok(e1[f], f);
    assert.equal(e1.foreign_id, 'The foreign id field is required.');
    assert.equal(e1.end_user_reference, undefined); // optional on CryptoProcessing
    const e2 = await errors(ap(sb, '/api/v2/invoices/create', invoice()));
    assert.deepEqual(Object.keys(e2), ['end_user_reference']); // required on AlphaPo (docs/providers.md 6.5)

    const e3 = await errors(cp(sb, '/api/v2/invoices/create', invoice({ amount: 5 })));
    assert.equal(e3.amount, 'The amount is too small. The minimum amount is 10.00 EUR.');
    const e4 = await errors(cp(sb, '/api/v2/invoices/create', invoice({ amount: '100', title: 'x'.repeat(51), description: 'd'.repeat(1001), foreign_id: 'f'.repeat(256) })));
    assert.equal(e4.amount, 'The amount must be a number.');
    assert.match(e4.title ?? '', /not be greater than 50/);
    assert.match(e4.description ?? '', /not be greater than 1000/);
    assert.match(e4.foreign_id ?? '', /not be greater than 255/);
    const e5 = await errors(cp(sb, '/api/v2/invoices/create', invoice({ sender_type: 'natural', sender_data: { first_name: 'A', last_name: 'B', legal_name: 'C' } })));
    assert.ok(e5['sender_data.date_of_birth']);
    assert.ok(e5['sender_data.legal_name']);
    const e6 = await errors(cp(sb, '/api/v2/invoices/create', invoice({ timer: true, sender_currency: 'BTC' })));
    assert.ok(e6.sender_type && e6.sender_data);
    const e7 = await errors(cp(sb, '/api/v2/invoices/create', invoice({ currency: 'XXX', url_success: 'http://10.0.0.1/ok' })));
    assert.equal(e7.currency, 'The selected currency is invalid.');
    assert.ok(e7.url_success);
    // HTTPS with a domain name only: plain http, an IPv4 or IPv6 host each named by field.
    const e8 = await errors(cp(sb, '/api/v2/invoices/create', invoice({ url_success: 'https://192.168.1.5/ok', url_failed: 'http://shop.example/fail' })));
    assert.deepEqual(e8, { url_success: 'The url success must be an HTTPS URL with a domain name.', url_failed: 'The url failed must be an HTTPS URL with a domain name.' });
    const e9 = await errors(cp(sb, '/api/v2/invoices/create', invoice({ url_failed: 'https://[::1]:8443/fail' })));
    assert.deepEqual(Object.keys(e9), ['url_failed']);
    const e10 = await errors(ap(sb, '/api/v2/invoices/create', invoice({ amount: 9.99, end_user_reference: 'c' })));
    assert.deepEqual(e10, { amount: 'The amount is too small. The minimum amount is 10.00 EUR.' });
    const p0 = await errors(cp(sb, '/api/payments/v1/requests', paymentRequest({ url_store: 'http://shop.example', url_success: 'https://127.0.0.1/ok' })));
    assert.deepEqual(Object.keys(p0).sort(), ['url_store', 'url_success']);

    const p1 = await errors(cp(sb, '/api/payments/v1/requests', paymentRequest({ amount: 100, life_time_date_time: 4102444800 })));
    assert.equal(p1.amount, 'The amount must be a string.');
    assert.ok(p1.life_time_duration);
    const p2 = await errors(cp(sb, '/api/payments/v1/requests', paymentRequest({ life_time_duration: undefined, currency: 'EUR' })));
    assert.ok(p2.life_time_duration && p2.currency);
    // Natural sender without date of birth is fine on payment requests, legal fields are not.
    const p3 = await cp(sb, '/api/payments/v1/requests', paymentRequest({ sender_type: 'natural', sender_data: { first_name: 'A', last_name: 'B' } }));
    assert.equal(p3.status, 200, p3.text);
    const p4 = await errors(cp(sb, '/api/payments/v1/requests', paymentRequest({ sender_type: 'legal', sender_data: { legal_name: 'ACME', first_name: 'A' } })));
    assert.ok(p4['sender_data.country_of_registration'] && p4['sender_data.first_name']);
    assert.equal(sb.invoices().length, 1);
  });
});

it('success: 201 vs 200, documented shapes, exact decimal amounts, a payment page', async () => {
  await withSandbox({}, async (sb) => {
    const raw = invoice({ timer: true, foreign_id: 'shape-1', currency: 'BTC' }).replace('"amount":100', '"amount":1234567890.12345678');
    const c = await cp(sb, '/api/v2/invoices/create', raw);
    assert.equal(c.status, 201);
    const d = c.json().data;
    assert.equal(typeof d.id, 'number');
    assert.equal(d.amount, '1234567890.12345678'); // read from the raw literal, never a double
    assert.equal(d.status, 'pending');
    assert.ok(d.seconds_left > 890 && d.seconds_left <= 900);
    assert.equal(d.release_at - d.fixed_at, 900);

    const a = await ap(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'shape-1', end_user_reference: 'cust-1', amount: 100.1 }));
    assert.equal(a.status, 200);
    const ad = a.json().data;
    assert.deepEqual([ad.status, ad.amount, ad.seconds_left, ad.fixed_at], ['created', '100.10000000', null, null]);

    const p = await cp(sb, '/api/payments/v1/requests', paymentRequest({ foreign_id: 'shape-1' }));
    assert.equal(p.status, 200);
    const pd = p.json().data;
    assert.match(pd.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual([pd.status, pd.amount, pd.currency], ['created', '100.50', { iso: 'EUR' }]);
    assert.ok(Math.abs(pd.life_time - (Date.now() / 1000 + 3600)) < 5);

    const page = await call(d.url, undefined, { method: 'GET', contentType: null });
    assert.equal(page.status, 200);
    assert.match(page.text, /shape-1/);
  });
});

it('duplicate foreign_id: 400 whatever the payload, per provider and per product', async () => {
  await withSandbox({}, async (sb) => {
    const first = await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'dup-1' }));
    assert.equal(first.status, 201);
    for (const body of [invoice({ foreign_id: 'dup-1' }), invoice({ foreign_id: 'dup-1', amount: 250, title: 'Other' })]) {
      const again = await cp(sb, '/api/v2/invoices/create', body);
      assert.equal(again.status, 400);
      assert.deepEqual(again.json(), { errors: { foreign_id: 'The foreign id has already been taken.' } });
    }
    assert.equal(sb.count('cryptoprocessing', 'dup-1'), 1);
    assert.equal((await ap(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'dup-1', end_user_reference: 'c' }))).status, 200);
    assert.equal((await cp(sb, '/api/payments/v1/requests', paymentRequest({ foreign_id: 'dup-1' }))).status, 200);
    const prAgain = await cp(sb, '/api/payments/v1/requests', paymentRequest({ foreign_id: 'dup-1' }));
    assert.deepEqual(prAgain.json(), { errors: { foreign_id: 'The foreign id has already been taken.' } });
    assert.equal(sb.count('cryptoprocessing', 'dup-1'), 2); // one invoice + one payment request
  });
});

it('CryptoSteroid: key and merchant checks, externalId not unique, NEW cap, details/patch/delete', async () => {
  await withSandbox({ cryptosteroidNewCap: 2 }, async (sb) => {
    const order = { fiatCurrency: 'EUR', fiatAmount: '25.50', description: 'Order 7', externalId: 'ext-7' };
    assert.deepEqual((await cs(sb, '/invoices', order, { headers: {} })).json(), { statusCode: 401, message: 'Unauthorized' });
    assert.equal((await cs(sb, '/invoices', order, { headers: { 'x-api-key': 'wrong' } })).status, 401);
    const otherMerchant = await call(`${sb.baseUrls.cryptosteroid}/merchants/00000000-0000-4000-8000-000000000000/invoices`, JSON.stringify(order), {
      headers: { 'x-api-key': CS.apiKey },
    });
    assert.equal(otherMerchant.status, 404);
    const bad = await cs(sb, '/invoices', { ...order, fiatCurrency: 'GBP', processingUrl: 'https://shop.example/cb' });
    assert.equal(bad.status, 400);
    assert.match(bad.json().message, /fiatCurrency/);
    assert.match(bad.json().message, /secret/);

    const a = await cs(sb, '/invoices', order);
    const b = await cs(sb, '/invoices', order);
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    const ia = a.json();
    assert.notEqual(ia.invoiceId, b.json().invoiceId);
    assert.equal(sb.count('cryptosteroid', 'ext-7'), 2);
    assert.deepEqual([ia.status, ia.fiatAmount, ia.payment, ia.merchantId], ['NEW', '25.50', null, CS.merchantId]);
    assert.ok(ia.timeoutSeconds > 1790 && ia.timeoutSeconds <= 1800);
    assert.ok(ia.expiresAt.endsWith('Z'));

    const capped = await cs(sb, '/invoices', order);
    assert.equal(capped.status, 429);
    assert.equal(capped.json().statusCode, 429);

    const patched = await cs(sb, `/invoices/${ia.invoiceId}`, { paymentMethod: 'BTC' }, { method: 'PATCH', headers: {} });
    assert.equal(patched.status, 200);
    assert.equal(patched.json().payment.method, 'BTC');
    const got = await cs(sb, `/invoices/${ia.invoiceId}`, undefined, { method: 'GET', contentType: null });
    assert.equal(got.json().payment.method, 'BTC');
    const del = await cs(sb, `/invoices/${ia.invoiceId}`, undefined, { method: 'DELETE', contentType: null });
    assert.deepEqual(del.json(), { invoiceId: ia.invoiceId, merchantId: CS.merchantId, failUrl: null, status: 'CANCELLED' });
    assert.equal((await cs(sb, `/invoices/${ia.invoiceId}`, { paymentMethod: 'ETH' }, { method: 'PATCH' })).status, 400);
    assert.equal((await cs(sb, '/invoices', order)).status, 201); // a NEW slot freed up
  });
});

it('CryptoSteroid: PATCH payment from the fixed table, one address per invoice, payment.paid, DELETE only while open, cap answer configurable', async () => {
  await withSandbox({ cryptosteroidNewCap: 1, cryptosteroidCapReply: { status: 400, message: 'Limit of unpaid invoices reached' } }, async (sb) => {
    const created = await cs(sb, '/invoices', { fiatCurrency: 'EUR', fiatAmount: '25.50', description: 'Order 8' });
    const id = created.json().invoiceId as string;
    const capped = await cs(sb, '/invoices', { fiatCurrency: 'EUR', fiatAmount: '25.50', description: 'Order 9' });
    assert.deepEqual([capped.status, capped.json()], [400, { statusCode: 400, message: 'Limit of unpaid invoices reached' }]);
    // 25.50 EUR at 60000 EUR/BTC = 0.000425 BTC; the buyer pays the 1 % commission on top.
    const patched = await cs(sb, `/invoices/${id}`, { paymentMethod: 'BTC' }, { method: 'PATCH' });
    assert.equal(patched.status, 200);
    const payment = patched.json().payment;
    assert.deepEqual({ ...payment, address: typeof payment.address }, { method: 'BTC', address: 'string', amount: '0.00042925', net: '0.000425', fee: '0.00000425', paid: null });
    const again = await cs(sb, `/invoices/${id}`, { paymentMethod: 'BTC' }, { method: 'PATCH' });
    assert.equal(again.json().payment.address, payment.address);
    const eth = await cs(sb, `/invoices/${id}`, { paymentMethod: 'ETH' }, { method: 'PATCH' });
    assert.match(eth.json().payment.address, /^0x[0-9a-f]{40}$/);
    assert.equal(eth.json().payment.amount, '0.008585'); // 0.0085 ETH + 1 %
    await cs(sb, `/invoices/${id}`, { paymentMethod: 'BTC' }, { method: 'PATCH' });

    const part = await call(`${sb.url}/_sandbox/invoices/cryptosteroid/${id}/pay-partly`, '{"crypto":"0.0002"}', {});
    assert.equal(part.json().invoice.status, 'WAITING');
    const waiting = (await cs(sb, `/invoices/${id}`, undefined, { method: 'GET', contentType: null })).json();
    assert.deepEqual({ ...waiting.payment.paid, hash: waiting.payment.paid.hash.length }, { hash: 1, received: '0.0002', fiat: '12', finished: false });
    assert.equal((await cs(sb, `/invoices/${id}`, { paymentMethod: 'ETH' }, { method: 'PATCH' })).status, 400); // not NEW any more
    sb.pay('cryptosteroid', id, { confirm: false });
    assert.equal(sb.invoice('cryptosteroid', id)?.status, 'WAITING');
    assert.equal(sb.confirm('cryptosteroid', id).status, 'PAID');
    const paid = (await cs(sb, `/invoices/${id}`, undefined, { method: 'GET', contentType: null })).json();
    assert.deepEqual(
      [paid.status, paid.payment.paid.received, paid.payment.paid.fiat, paid.payment.paid.finished, paid.payment.paid.hash.length],
      ['PAID', '0.00042925', '25.5', true, 2],
    );
    const del = await cs(sb, `/invoices/${id}`, undefined, { method: 'DELETE', contentType: null });
    assert.deepEqual([del.status, del.json()], [400, { statusCode: 400, message: 'Invoice in status PAID cannot be cancelled' }]);

    // A WAITING invoice (payment seen, not complete) can still be cancelled.
    const second = (await cs(sb, '/invoices', { fiatCurrency: 'USD', fiatAmount: '10', description: 'x', failReturnUrl: 'https://shop.example/fail' })).json();
    sb.payPartly('cryptosteroid', second.invoiceId);
    const cancelled = await cs(sb, `/invoices/${second.invoiceId}`, undefined, { method: 'DELETE', contentType: null });
    assert.deepEqual(cancelled.json(), { invoiceId: second.invoiceId, merchantId: CS.merchantId, failUrl: 'https://shop.example/fail', status: 'CANCELLED' });
  });
});

it('faults: 5xx and 429 store nothing; platform 429 is the non-JSON 1015 text', async () => {
  await withSandbox({}, async (sb) => {
    sb.addFault({ provider: 'cryptoprocessing', fault: '5xx', count: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'f5' }))).status);
    assert.deepEqual(statuses, [500, 502, 503]);
    assert.equal(sb.count('cryptoprocessing', 'f5'), 0);
    assert.equal((await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'f5' }))).status, 201);

    sb.addFault({ provider: 'alphapo', kind: 'invoice', fault: '429', count: 1 });
    const limited = await ap(sb, '/api/v2/invoices/create', invoice({ end_user_reference: 'c' }));
    assert.equal(limited.status, 429);
    assert.equal(limited.text, 'error code: 1015');
    assert.equal(limited.headers['retry-after'], undefined);
    assert.throws(() => JSON.parse(limited.text));
    // Rules match provider + kind: a payment request on AlphaPo was not limited.
    sb.addFault({ provider: 'cryptosteroid', fault: '429' });
    const csLimited = await cs(sb, '/invoices', { fiatCurrency: 'USD', fiatAmount: '10', description: 'x' });
    assert.deepEqual([csLimited.status, csLimited.json().statusCode], [429, 429]);
    sb.clearFaults();
    assert.equal((await cs(sb, '/invoices', { fiatCurrency: 'USD', fiatAmount: '10', description: 'x' })).status, 201);
    const stats = sb.stats();
    assert.equal(stats.cryptoprocessing.received, 4);
    assert.deepEqual(stats.cryptoprocessing.byStatus, { '500': 1, '502': 1, '503': 1, '201': 1 });
    assert.equal(stats.alphapo.byStatus['429'], 1);
  });
});

it('faults: reset stores nothing; commit-then-drop stores the invoice and the retry is a duplicate', async () => {
  await withSandbox({}, async (sb) => {
    sb.addFault({ fault: 'reset', count: 1 });
    await assert.rejects(cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'r1' })));
    assert.equal(sb.count('cryptoprocessing', 'r1'), 0);

    sb.addFault({ provider: 'cryptoprocessing', fault: 'commit-then-drop', count: 1 });
    await assert.rejects(cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'c1' })));
    assert.equal(sb.count('cryptoprocessing', 'c1'), 1);
    assert.equal(sb.invoice('cryptoprocessing', 'c1')?.status, 'created');
    const retry = await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'c1' }));
    assert.deepEqual(retry.json(), { errors: { foreign_id: 'The foreign id has already been taken.' } });

    sb.addFault({ provider: 'cryptosteroid', fault: 'commit-then-drop', count: 1 });
    await assert.rejects(cs(sb, '/invoices', { fiatCurrency: 'EUR', fiatAmount: '10', description: 'x', externalId: 'cs-c1' }));
    assert.equal(sb.count('cryptosteroid', 'cs-c1'), 1);
    assert.deepEqual(sb.stats().cryptoprocessing.byStatus, { reset: 1, dropped: 1, '400': 1 });
  });
});

it('faults over HTTP: latency delays, hang never answers until the client gives up', async () => {
  await withSandbox({}, async (sb) => {
    const post = (rule: unknown) => call(`${sb.url}/_sandbox/faults`, JSON.stringify(rule), { contentType: 'application/json' });
    assert.equal((await post({ fault: 'bogus' })).status, 400);
    assert.equal((await post({ provider: 'cryptoprocessing', fault: 'latency', ms: 300, count: 1 })).status, 201);
    const t0 = Date.now();
    assert.equal((await cp(sb, '/api/v2/invoices/create', invoice())).status, 201);
    assert.ok(Date.now() - t0 >= 280, 'latency applied');

    await post([{ provider: 'cryptoprocessing', fault: 'hang' }]);
    await assert.rejects(cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'h1' }), { signal: AbortSignal.timeout(200) }));
    assert.equal(sb.count('cryptoprocessing', 'h1'), 0);
    assert.equal(sb.faults().length, 1);
    const cleared = await call(`${sb.url}/_sandbox/faults`, undefined, { method: 'DELETE', contentType: null });
    assert.deepEqual(cleared.json(), { faults: [] });
    assert.equal((await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'h1' }))).status, 201);
    // A request left hanging: close() must still finish (it destroys the socket).
    sb.addFault({ fault: 'hang' });
    void cp(sb, '/api/v2/invoices/create', invoice()).catch(() => undefined);
    await waitFor(() => sb.stats().cryptoprocessing.byStatus.hang === 2, 'second hang');
  });
});

it('pay: created -> pending (no transaction) -> processing -> confirmed, one root id, signed over the exact bytes sent (with \\/ escapes)', async () => {
  const hook = await receiver();
  try {
    await withSandbox({ callbackUrls: { cryptoprocessing: hook.url }, escapeSlashes: true }, async (sb) => {
      assert.equal((await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'shop/42' }))).status, 201);
      sb.pay('cryptoprocessing', 'shop/42');
      await waitFor(() => hook.got.length >= 3, 'three callbacks');
      for (const { raw, headers } of hook.got) {
        assert.equal(headers['x-processing-key'], CP.apiKey);
        assert.ok(verifyBody(raw, String(headers['x-processing-signature']), CP.apiSecret));
        assert.ok(raw.toString().includes('shop\\/42'));
        // Re-serialising the parsed body changes the bytes: the signature no longer matches.
        assert.ok(!verifyBody(Buffer.from(JSON.stringify(JSON.parse(raw.toString()))), String(headers['x-processing-signature']), CP.apiSecret));
      }
      const [picked, processing, confirmed] = hook.bodies();
      assert.deepEqual([picked.status, processing.status, confirmed.status], ['pending', 'processing', 'confirmed']);
      // The root id is the invoice's id on every callback of the invoice.
      const id = sb.invoice('cryptoprocessing', 'shop/42')?.id;
      assert.deepEqual([picked.id, processing.id, confirmed.id], [Number(id), Number(id), Number(id)]);
      // 100 EUR at the fixed 60000 EUR/BTC: 0.00166667 BTC; the payer picked BTC, the invoice converts to EUR.
      assert.deepEqual(picked.crypto_address.convert_to, 'EUR');
      assert.deepEqual(picked.transactions, []);
      assert.deepEqual(picked.currency_sent, { currency: 'BTC', amount: '0.00166667', remaining_amount: '0.00166667' });
      assert.deepEqual(picked.currency_received, { currency: 'EUR', amount: '100.00000000' });
      assert.deepEqual(processing.currency_sent, { currency: 'BTC', amount: '0.00166667', remaining_amount: '0.00000000' });
      assert.deepEqual(processing.fees, []);
      assert.equal(confirmed.foreign_id, 'shop/42');
      assert.equal(confirmed.type, 'invoice');
      assert.equal(confirmed.error, '');
      assert.deepEqual(confirmed.currency_received, { currency: 'EUR', amount: '100.00000000' });
      assert.deepEqual(confirmed.fees, [{ type: 'fee_crypto_deposit', currency: 'BTC', amount: '0.00001667' }]);
      const [ptx] = processing.transactions;
      const [ctx] = confirmed.transactions;
      assert.deepEqual(
        { ...ctx, txid: typeof ctx.txid },
        {
          id: ptx.id,
          currency: 'BTC',
          transaction_type: 'blockchain',
          type: 'deposit',
          address: confirmed.crypto_address.address,
          tag: null,
          amount: '0.00166667',
          txid: 'string',
          confirmations: '1',
        },
      );
      assert.equal(ptx.confirmations, '0');
      assert.equal(ptx.txid, ctx.txid);
      assert.equal(sb.invoice('cryptoprocessing', 'shop/42')?.status, 'confirmed');
      assert.throws(() => sb.pay('cryptoprocessing', 'shop/42'), /already confirmed/);
    });
  } finally {
    await hook.close();
  }
});

it('installments: the documented shape, a pending callback per part with what arrived in transactions[]', async () => {
  const hook = await receiver();
  try {
    await withSandbox({ callbackUrls: { alphapo: hook.url }, escapeSlashes: false }, async (sb) => {
      // The documented example: a 0.02 BTC invoice paid 0.01 + 0.01.
      await ap(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'inst', end_user_reference: 'c', type: 'good_until_expired', timer: true, currency: 'BTC', amount: 0.02 }));
      const partly = await call(`${sb.url}/_sandbox/invoices/alphapo/inst/pay-partly`, '{"crypto":"0.01"}', {});
      assert.equal(partly.status, 200, partly.text);
      assert.equal(partly.json().invoice.cryptoReceived, '0.01');
      await waitFor(() => hook.got.length === 1, 'installment callback');
      const first = hook.bodies()[0];
      assert.equal(first.status, 'pending');
      assert.equal(first.crypto_address.convert_to, undefined); // paid in the invoice's own currency
      assert.deepEqual(first.currency_sent, { currency: 'BTC', amount: '0.02000000', remaining_amount: '0.01000000' });
      // The invoice's target, not what arrived: what arrived is in transactions[].
      assert.deepEqual(first.currency_received, { currency: 'BTC', amount: '0.02000000' });
      assert.deepEqual(
        first.transactions.map((t: any) => [t.amount, t.confirmations, t.currency, t.type]),
        [['0.01000000', '0', 'BTC', 'deposit']],
      );
      assert.deepEqual(first.fees, []);
      await call(`${sb.url}/_sandbox/invoices/alphapo/inst/pay-partly`, '{"crypto":"0.004"}', {});
      await waitFor(() => hook.got.length === 2, 'second installment');
      assert.equal(hook.bodies()[1].currency_sent.remaining_amount, '0.00600000');
      assert.equal((await call(`${sb.url}/_sandbox/invoices/alphapo/inst/pay`, '{}', {})).json().invoice.status, 'confirmed');
      await waitFor(() => hook.got.length === 4, 'processing + confirmed');
      const done = hook.bodies()[3];
      assert.equal(done.status, 'confirmed');
      assert.deepEqual(done.currency_received, { currency: 'BTC', amount: '0.02000000' });
      assert.deepEqual(
        done.transactions.map((t: any) => [t.amount, t.confirmations]),
        [
          ['0.01000000', '1'],
          ['0.00400000', '1'],
          ['0.00600000', '1'],
        ],
      );
      assert.deepEqual(done.fees, [{ type: 'fee_crypto_deposit', currency: 'BTC', amount: '0.0002' }]);
      assert.equal(new Set(hook.bodies().map((b) => b.id)).size, 1);
    });
  } finally {
    await hook.close();
  }
});

it('convert_to: the confirmed callback credits the convert_to currency for what arrived, at the fixed rate', async () => {
  const hook = await receiver();
  try {
    await withSandbox({ callbackUrls: { cryptoprocessing: hook.url }, escapeSlashes: false }, async (sb) => {
      await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'conv', amount: 26, timer: true }));
      // 26 EUR = 0.00043333 BTC; the payer sends 0.0005 BTC, 0.00006667 BTC (4.0002 EUR) too much.
      const paid = sb.pay('cryptoprocessing', 'conv', { crypto: '0.0005' });
      assert.deepEqual([paid.status, paid.cryptoAmount, paid.cryptoReceived], ['confirmed', '0.00043333', '0.0005']);
      await waitFor(() => hook.got.length === 2, 'processing + confirmed');
      const [processing, confirmed] = hook.bodies();
      assert.deepEqual(processing.currency_received, { currency: 'EUR', amount: '26.00000000' });
      assert.deepEqual(confirmed.crypto_address.convert_to, 'EUR');
      assert.deepEqual(confirmed.currency_sent, { currency: 'BTC', amount: '0.00043333', remaining_amount: '0.00000000' });
      assert.deepEqual(confirmed.currency_received, { currency: 'EUR', amount: '30.00020000' });
      assert.equal(confirmed.transactions[0].amount, '0.00050000');
      // The pick of another crypto on a created invoice converts at the same table: 26 EUR = 0.00866667 ETH.
      await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'eth', amount: 26 }));
      const picked = await call(`${sb.url}/_sandbox/invoices/cryptoprocessing/eth/pick-currency`, '{"currency":"ETH"}', {});
      assert.deepEqual([picked.json().invoice.status, picked.json().invoice.cryptoAmount], ['pending', '0.00866667']);
      await waitFor(() => hook.got.length === 3, 'pick callback');
      assert.deepEqual(hook.bodies()[2].currency_sent, { currency: 'ETH', amount: '0.00866667', remaining_amount: '0.00866667' });
      assert.deepEqual(hook.bodies()[2].transactions, []);
      assert.equal((await call(`${sb.url}/_sandbox/invoices/cryptoprocessing/eth/pick-currency`, '{}', {})).status, 409);
    });
  } finally {
    await hook.close();
  }
});

it('failed callbacks: not paid, paid less, processing too long, each with the documented error text', async () => {
  const hook = await receiver();
  try {
    await withSandbox({ callbackUrls: { cryptoprocessing: hook.url }, escapeSlashes: false }, async (sb) => {
      const btc = (fid: string) => invoice({ foreign_id: fid, timer: true, currency: 'BTC', amount: 0.01 });
      await cp(sb, '/api/v2/invoices/create', btc('none'));
      sb.expire('cryptoprocessing', 'none');
      await waitFor(() => hook.bodies().some((b) => b.foreign_id === 'none'), 'timer expired');
      const none = hook.bodies().find((b) => b.foreign_id === 'none');
      assert.deepEqual([none.status, none.error, none.transactions], ['failed', 'Timer expired. User not paid.', []]);
      assert.deepEqual(none.currency_sent, { currency: 'BTC', amount: '0.01000000', remaining_amount: '0.01000000' });
      assert.deepEqual(none.currency_received, { currency: 'BTC', amount: '0.01000000' });

      await cp(sb, '/api/v2/invoices/create', btc('less'));
      sb.payPartly('cryptoprocessing', 'less', { crypto: '0.0001' });
      sb.expire('cryptoprocessing', 'less');
      await waitFor(() => hook.bodies().some((b) => b.foreign_id === 'less' && b.status === 'failed'), 'paid less');
      const less = hook.bodies().find((b) => b.foreign_id === 'less' && b.status === 'failed');
      assert.equal(less.error, 'Timer expired. User paid less than requested.');
      assert.deepEqual(less.currency_sent, { currency: 'BTC', amount: '0.01000000', remaining_amount: '0.00990000' });
      assert.deepEqual(less.currency_received, { currency: 'BTC', amount: '0.01000000' });
      assert.deepEqual(
        less.transactions.map((t: any) => [t.amount, t.confirmations]),
        [['0.00010000', '2']],
      );

      await cp(sb, '/api/v2/invoices/create', btc('slow'));
      const held = await call(`${sb.url}/_sandbox/invoices/cryptoprocessing/slow/pay`, '{"confirm":false}', {});
      assert.equal(held.json().invoice.status, 'processing');
      sb.expire('cryptoprocessing', 'slow');
      await waitFor(() => hook.bodies().some((b) => b.foreign_id === 'slow' && b.status === 'failed'), 'processing too long');
      const slow = hook.bodies().find((b) => b.foreign_id === 'slow' && b.status === 'failed');
      assert.equal(slow.error, 'Timer expired. Transactions were in status processing too long.');
      assert.deepEqual(
        slow.transactions.map((t: any) => [t.amount, t.confirmations]),
        [['0.01000000', '0']],
      );

      // Held in the mempool, then confirmed by command.
      await cp(sb, '/api/v2/invoices/create', btc('later'));
      sb.pay('cryptoprocessing', 'later', { confirm: false });
      assert.equal(sb.confirm('cryptoprocessing', 'later').status, 'confirmed');
      assert.throws(() => sb.confirm('cryptoprocessing', 'later'), /already confirmed/);
      const bad = await call(`${sb.url}/_sandbox/invoices/cryptoprocessing/later/pay`, '{"crypto":"-1","bogus":1}', {});
      assert.equal(bad.status, 400);
    });
  } finally {
    await hook.close();
  }
});

it('transactions/info: 404 until a payment, then the documented deposit record, not_confirmed then confirmed', async () => {
  await withSandbox({ escapeSlashes: false }, async (sb) => {
    await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'tx-1', timer: true, currency: 'BTC', amount: 0.02, end_user_reference: 'cust-9' }));
    const info = (body: string) => cp(sb, '/api/v2/transactions/info', body, { method: 'GET' });
    assert.equal((await info('{"foreign_id":"tx-1"}')).status, 404);
    const none = await info('{}');
    assert.equal(none.status, 400);
    assert.ok(none.json().errors.id);
    const two = await info('{"foreign_id":"tx-1","txid":"x"}');
    assert.equal(two.status, 404);
    assert.equal(two.json().errors.code, 'not_found');

    sb.pay('cryptoprocessing', 'tx-1', { confirm: false });
    const seen = await info('{"foreign_id":"tx-1"}');
    assert.equal(seen.status, 200);
    const rec = seen.json();
    const tx = sb.invoice('cryptoprocessing', 'tx-1')?.transactions[0];
    const address = sb.invoice('cryptoprocessing', 'tx-1')?.address;
    assert.ok(tx && address);
    // Field for field the documented example: top level, no `data` wrapper.
    assert.deepEqual(rec, {
      id: tx.id,
      end_user_reference: 'cust-9',
      type: 'deposit',
      crypto_address: { id: rec.crypto_address.id, currency: 'BTC', address, foreign_id: 'tx-1', tag: null },
      currency_sent: { currency: 'BTC', amount: '0.02000000' },
      currency_received: { currency: 'BTC', amount: '0.02000000', amount_minus_fee: '0.02000000' },
      transactions: [
        {
          id: tx.id,
          currency: 'BTC',
          transaction_type: 'blockchain',
          type: 'deposit',
          address,
          tag: null,
          amount: '0.02000000',
          txid: tx.txid,
          riskscore: '0.1',
          confirmations: '0',
        },
      ],
      fees: [],
      error: '',
      status: 'not_confirmed',
    });
    assert.equal(typeof rec.crypto_address.id, 'number');

    sb.confirm('cryptoprocessing', 'tx-1');
    const done = (await info('{"foreign_id":"tx-1"}')).json();
    assert.equal(done.status, 'confirmed');
    assert.deepEqual(done.currency_received, { currency: 'BTC', amount: '0.02000000', amount_minus_fee: '0.01980000' });
    assert.deepEqual(done.fees, [{ type: 'deposit', currency: 'BTC', amount: '0.00020000' }]);
    assert.equal(done.transactions[0].confirmations, '1');
    // The same payment by its transaction id and by its txid.
    for (const body of [{ id: tx.id }, { txid: tx.txid }]) {
      const by = await info(JSON.stringify(body));
      assert.equal(by.status, 200, JSON.stringify(body));
      assert.deepEqual(by.json(), done, JSON.stringify(body));
    }
    assert.equal((await info('{"txid":"no-such-tx"}')).status, 404);
    // AlphaPo keeps its own records.
    assert.equal((await ap(sb, '/api/v2/transactions/info', '{"foreign_id":"tx-1"}', { method: 'GET' })).status, 404);
  });
});

it('platform cancel: body {}, 200 [] and one failed callback; invalid_invoice_state once ended; unknown 404', async () => {
  const hook = await receiver();
  try {
    await withSandbox({ callbackUrls: { alphapo: hook.url }, escapeSlashes: false }, async (sb) => {
      await ap(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'cx', end_user_reference: 'c' }));
      const bad = await ap(sb, '/api/v2/invoices/cx/cancel/', '[]');
      assert.deepEqual([bad.status, bad.json()], [400, { error: 'Bad content format', code: 'bad_content_format' }]);
      assert.equal((await ap(sb, '/api/v2/invoices/cx/cancel/', '{ }')).status, 400);
      assert.equal(sb.invoice('alphapo', 'cx')?.status, 'created');
      const cancelled = await ap(sb, '/api/v2/invoices/cx/cancel/', '{}');
      assert.deepEqual([cancelled.status, cancelled.json()], [200, []]);
      assert.equal(sb.invoice('alphapo', 'cx')?.status, 'failed');
      await waitFor(() => hook.got.length === 1, 'cancel callback');
      assert.deepEqual([hook.bodies()[0].status, hook.bodies()[0].error], ['failed', 'Invoice cancelled']);
      const again = await ap(sb, '/api/v2/invoices/cx/cancel/', '{}');
      assert.deepEqual([again.status, again.json()], [400, { errors: { error: 'Invoice cannot be failed in its current state.', code: 'invalid_invoice_state' } }]);
      const unknown = await ap(sb, '/api/v2/invoices/nope/cancel/', '{}');
      assert.equal(unknown.status, 404);
      // Processing (in the mempool) can still be cancelled; confirmed cannot.
      await ap(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'cx2', end_user_reference: 'c', timer: true }));
      sb.pay('alphapo', 'cx2', { confirm: false });
      assert.equal((await ap(sb, '/api/v2/invoices/cx2/cancel/', '{}')).status, 200);
      await ap(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'cx3', end_user_reference: 'c', timer: true }));
      sb.pay('alphapo', 'cx3');
      assert.equal((await ap(sb, '/api/v2/invoices/cx3/cancel/', '{}')).json().errors.code, 'invalid_invoice_state');
      await waitFor(() => hook.bodies().some((b) => b.foreign_id === 'cx3' && b.status === 'confirmed'), 'cx3 confirmed');
      // One callback per cancel: the cancelled invoice's queue holds nothing after its failed callback.
      assert.equal(hook.bodies().filter((b) => b.foreign_id === 'cx').length, 1);
      assert.equal(hook.bodies().filter((b) => b.foreign_id === 'cx2' && b.status === 'failed').length, 1);
      assert.equal((await call(`${sb.url}/_sandbox/invoices/alphapo/nope/pay`, '{}', {})).status, 404);
      assert.equal((await call(`${sb.url}/_sandbox/invoices/alphapo/cx/pay`, '{}', {})).status, 409);
    });
  } finally {
    await hook.close();
  }
});

it('account callbacks: deposit, deposit_exchange, withdrawal, withdrawal_exchange, exchange reach the merchant URL signed', async () => {
  const hook = await receiver();
  try {
    await withSandbox({ callbackUrls: { cryptoprocessing: hook.url }, escapeSlashes: false }, async (sb) => {
      const send = (type: string, body = '{}') => call(`${sb.url}/_sandbox/accounts/cryptoprocessing/callbacks/${type}`, body, {});
      const types = ['deposit', 'deposit_exchange', 'withdrawal', 'withdrawal_exchange', 'exchange'];
      for (const type of types) assert.equal((await send(type)).status, 202, type);
      await waitFor(() => hook.got.length === 5, 'five account callbacks');
      for (const { raw, headers } of hook.got) assert.ok(verifyBody(raw, String(headers['x-processing-signature']), CP.apiSecret));
      const byType = Object.fromEntries(hook.bodies().map((b) => [b.type, b]));
      assert.deepEqual(Object.keys(byType).sort(), [...types].sort());

      const dep = byType.deposit;
      assert.deepEqual(Object.keys(dep), ['id', 'type', 'crypto_address', 'currency_sent', 'currency_received', 'transactions', 'fees', 'error', 'status']);
      assert.deepEqual(dep.currency_sent, { currency: 'BTC', amount: '0.01000000' });
      assert.deepEqual(dep.currency_received, { currency: 'BTC', amount: '0.01000000', amount_minus_fee: '0.00997000' });
      assert.deepEqual(Object.keys(dep.transactions[0]), ['id', 'currency', 'transaction_type', 'type', 'address', 'tag', 'amount', 'txid', 'riskscore', 'confirmations']);
      assert.equal(dep.crypto_address.foreign_id, 'user-id:2048');
      // 0.01 BTC at 60000 EUR/BTC = 600 EUR, 1 % exchange fee.
      const dx = byType.deposit_exchange;
      assert.equal(dx.crypto_address.convert_to, 'EUR');
      assert.deepEqual(dx.currency_received, { currency: 'EUR', amount: '600.00000000', amount_minus_fee: '594.00000000' });
      assert.deepEqual(
        dx.transactions.map((t: any) => [t.transaction_type, t.type, t.amount, t.amount_to]),
        [
          ['blockchain', 'deposit', '0.01000000', undefined],
          ['exchange', 'exchange', '0.01000000', '600.00000000'],
        ],
      );
      assert.equal(byType.withdrawal.foreign_id, 'withdrawal-1');
      assert.deepEqual(
        byType.withdrawal.fees.map((f: any) => f.type),
        ['mining', 'withdrawal'],
      );
      // 100 EUR for BTC: 0.00166667 BTC.
      assert.deepEqual(byType.withdrawal_exchange.currency_received, { currency: 'BTC', amount: '0.00166667' });
      assert.deepEqual(byType.exchange.currency_received, { currency: 'EUR', amount: '600.00000000' });
      assert.equal(byType.exchange.crypto_address, undefined);

      const custom = await send('deposit', '{"currency":"ETH","amount":"0.5","foreign_id":"player-7","status":"not_confirmed"}');
      assert.deepEqual(custom.json().callback.currency_received, { currency: 'ETH', amount: '0.50000000', amount_minus_fee: '0.50000000' });
      assert.deepEqual([custom.json().callback.status, custom.json().callback.fees, custom.json().callback.crypto_address.foreign_id], ['not_confirmed', [], 'player-7']);
      assert.equal((await send('refund')).status, 404);
      assert.equal((await send('deposit', '{"amount":10}')).status, 400);
      assert.equal((await send('deposit', '{"currency":"XXX"}')).status, 400);
      await waitFor(() => sb.deliveries().filter((d) => d.kind === 'account').length === 6, 'six recorded account deliveries');
      assert.deepEqual(
        sb
          .deliveries()
          .filter((d) => d.kind === 'account')
          .map((d) => d.callbackType),
        [...types, 'deposit'],
      );
    });
  } finally {
    await hook.close();
  }
});

it('payment page: pay without confirmation, then confirm, by form posts', async () => {
  await withSandbox({}, async (sb) => {
    const created = (await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'page-1', timer: true }))).json().data;
    const token = new URL(created.url).pathname.split('/').pop();
    const form = (action: string, body: string) => call(`${sb.url}/pay/${token}/${action}`, body, { contentType: 'application/x-www-form-urlencoded' });
    assert.equal((await form('pay', 'confirm=false')).status, 303);
    assert.equal(sb.invoice('cryptoprocessing', 'page-1')?.status, 'processing');
    assert.equal((await form('confirm', '')).status, 303);
    assert.equal(sb.invoice('cryptoprocessing', 'page-1')?.status, 'confirmed');
    assert.equal((await form('confirm', '')).status, 409);
  });
});

it('redelivery after non-200, same bytes each time; CryptoSteroid webhook on PAID with Token', async () => {
  const hook = await receiver([500, 503, 200]);
  const csHook = await receiver([502, 200]);
  try {
    await withSandbox({ callbackUrls: { cryptoprocessing: hook.url }, redeliveryDelaysMs: [30, 30] }, async (sb) => {
      await cp(sb, '/api/payments/v1/requests', paymentRequest({ foreign_id: 'rd', life_time_duration: 3600 }));
      sb.expire('cryptoprocessing', 'rd');
      await waitFor(() => hook.got.length === 3, 'three attempts');
      assert.ok(hook.got.every((g) => g.raw.equals(hook.got[0]?.raw as Buffer)));
      const body = hook.bodies()[0];
      assert.deepEqual([body.type, body.status, body.payment_request_id !== undefined, body.id], ['payment_request', 'expired', true, undefined]);
      assert.equal(body.payment_request_address, null); // never fixed a rate
      assert.equal(body.currency_sent.remaining_amount, body.currency_sent.expected_amount);
      // The receiver sees a request before the sandbox has recorded its answer: wait for the record.
      await waitFor(() => sb.deliveries().length === 3, 'three recorded attempts');
      const attempts = sb.deliveries().map((d) => [d.attempt, d.result]);
      assert.deepEqual(attempts, [
        [1, 500],
        [2, 503],
        [3, 200],
      ]);

      const created = await cs(sb, '/invoices', { fiatCurrency: 'EUR', fiatAmount: '20', description: 'x', processingUrl: csHook.url, secret: 's3cr3t' });
      const id = created.json().invoiceId as string;
      sb.payPartly('cryptosteroid', id, { amount: '5' });
      assert.equal(sb.invoice('cryptosteroid', id)?.status, 'WAITING');
      sb.pay('cryptosteroid', id);
      await waitFor(() => csHook.got.length === 2, 'webhook + retry');
      for (const g of csHook.got) assert.equal(g.headers.token, 's3cr3t');
      const paid = csHook.bodies()[1];
      assert.deepEqual([paid.status, paid.invoiceId, paid.payment.paid.finished], ['PAID', id, true]);
      assert.equal(paid.payment.paid.hash.length, 2);
    });
  } finally {
    await hook.close();
    await csHook.close();
  }
});

it('habits: duplicates and older-after-newer deliveries', async () => {
  const hook = await receiver();
  try {
    await withSandbox({ callbackUrls: { cryptoprocessing: hook.url } }, async (sb) => {
      sb.setHabits({ duplicateRate: 1 });
      await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'dupcb' }));
      sb.expire('cryptoprocessing', 'dupcb');
      await waitFor(() => hook.got.length === 2, 'duplicate');
      assert.ok(hook.got[0]?.raw.equals(hook.got[1]?.raw as Buffer));
      assert.equal(hook.bodies()[0].error, 'Timer expired. User not paid.');

      sb.setHabits({ duplicateRate: 0, reorder: true });
      // A timer invoice starts pending: paying it gives exactly processing + confirmed.
      await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'late', timer: true }));
      sb.pay('cryptoprocessing', 'late');
      await waitFor(() => hook.got.length === 4, 'reordered pair');
      assert.deepEqual(
        hook
          .bodies()
          .slice(2)
          .map((b) => b.status),
        ['confirmed', 'processing'],
      );
      await waitFor(() => sb.deliveries().length === 4, 'four recorded deliveries');
      assert.equal(sb.deliveries()[3]?.late, true);
    });
  } finally {
    await hook.close();
  }
});

it('timeScale: timer invoice, payment request and CryptoSteroid expire on their own', async () => {
  const hook = await receiver();
  try {
    await withSandbox({ timeScale: 0.0005, callbackUrls: { cryptoprocessing: hook.url } }, async (sb) => {
      await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'tmr', timer: true })); // 900 s -> 450 ms
      await cp(sb, '/api/payments/v1/requests', paymentRequest({ foreign_id: 'prx', life_time_duration: 600 })); // -> 300 ms
      const c = await cs(sb, '/invoices', { fiatCurrency: 'USD', fiatAmount: '10', description: 'x' }); // 1800 s -> 900 ms
      assert.equal(sb.invoice('cryptoprocessing', 'tmr')?.status, 'pending');
      await waitFor(() => hook.got.length === 2, 'two expiry callbacks');
      const byStatus = Object.fromEntries(hook.bodies().map((b) => [b.foreign_id, [b.status, b.error]]));
      assert.deepEqual(byStatus, { tmr: ['failed', 'Timer expired. User not paid.'], prx: ['expired', undefined] });
      await waitFor(() => sb.invoice('cryptosteroid', c.json().invoiceId)?.status === 'EXPIRED', 'CryptoSteroid expiry');
    });
  } finally {
    await hook.close();
  }
});

it('schedule: new invoices are driven automatically when asked to', async () => {
  await withSandbox({ schedule: { paid: 1, delayMs: 20 } }, async (sb) => {
    await cp(sb, '/api/v2/invoices/create', invoice({ foreign_id: 'auto' }));
    await waitFor(() => sb.invoice('cryptoprocessing', 'auto')?.status === 'confirmed', 'scheduled payment');
    // No callback URL configured: attempts are recorded as such, not lost silently.
    // pending (currency picked), processing, confirmed.
    await waitFor(() => sb.deliveries().length === 3, 'recorded deliveries');
    assert.ok(sb.deliveries().every((d) => d.result === 'no-url'));
  });
});
