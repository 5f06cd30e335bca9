/**
 * Hostile input on the callback endpoints (`/webhooks/cryptoprocessing`, `/webhooks/alphapo`,
 * `/webhooks/cryptosteroid/:invoice`), generated: random bytes and headers, bodies signed with a
 * wrong secret, genuine bodies changed after signing, correctly signed but malformed bodies,
 * wrong per-order tokens, unknown invoices, replays. Forged is 401, authentic but malformed is
 * 400 naming the field, and neither stores anything or touches a record; a replay is one job.
 * The API runs alone (role `api`), so a stored callback stays in `invoice-events` to be counted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/index.ts';
import { signBody } from '../../src/signing.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { fingerprint, headerValue, healthy, hex128, invalidJson, nastyString, raw, assertUnchanged } from './helpers.ts';

type Platform = 'cryptoprocessing' | 'alphapo';
const API_TOKEN = 'property-token-8Jw2nV5cR1';

function signed(provider: Platform, body: string, secret = SANDBOX_CREDENTIALS[provider].apiSecret): Record<string, string> {
  return { 'content-type': 'application/json', 'x-processing-key': SANDBOX_CREDENTIALS[provider].apiKey, 'x-processing-signature': signBody(body, secret) };
}

const invoiceCallback = (foreignId: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 826900,
  foreign_id: foreignId,
  type: 'invoice',
  status: 'confirmed',
  error: '',
  currency_sent: { currency: 'BTC', remaining_amount: '0' },
  currency_received: { currency: 'EUR', amount: '100.50' },
  transactions: [{ id: 1, confirmations: '1' }],
  ...extra,
});

const requestCallback = (foreignId: string): Record<string, unknown> => ({
  payment_request_id: '0190a3c2-7d1e-7b3a-9c4d-5e6f7a8b9c0d',
  foreign_id: foreignId,
  type: 'payment_request',
  status: 'paid',
  currency_sent: { currency: { iso: 'EUR' }, expected_amount: '100.50', received_amount: '100.50' },
});

/** A platform callback made invalid in exactly one way, with the field the answer must name. */
const malformedPlatform = (foreignId: string): fc.Arbitrary<{ body: string; field: string }> => {
  const notId = fc.oneof(fc.constant(null), fc.constant(''), fc.constant(-1), fc.constant(1.5), fc.boolean(), fc.object({ maxDepth: 1 }), fc.array(fc.integer(), { maxLength: 2 }));
  const mutate = (base: Record<string, unknown>, field: string, value: unknown) => ({ body: JSON.stringify({ ...base, [field]: value }), field });
  const drop = (base: Record<string, unknown>, field: string) => {
    const o = { ...base };
    delete o[field];
    return { body: JSON.stringify(o), field };
  };
  const inv = invoiceCallback(foreignId);
  const req = requestCallback(foreignId);
  return fc.oneof(
    invalidJson.map((body) => ({ body, field: '(body)' })),
    fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 })).map((v) => ({ body: JSON.stringify(v), field: '(body)' })),
    // Neither an invoice nor a payment-request callback.
    fc
      .dictionary(
        fc.string({ maxLength: 10 }).filter((k) => k !== 'type' && k !== 'payment_request_id' && k !== '__proto__'),
        fc.jsonValue({ maxDepth: 2 }),
        { maxKeys: 4 },
      )
      .map((o) => ({ body: JSON.stringify(o), field: 'type' })),
    fc.constantFrom('id', 'foreign_id', 'status').map((f) => drop(inv, f)),
    notId.map((v) => mutate(inv, 'id', v)),
    fc.oneof(fc.constant(null), fc.constant(''), fc.boolean(), fc.object({ maxDepth: 1 })).map((v) => mutate(inv, 'foreign_id', v)),
    fc.oneof(fc.constant(''), fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 })).map((v) => mutate(inv, 'status', v)),
    fc
      .oneof(fc.string(), fc.constant({ currency: '', amount: '1' }), fc.constant({ currency: 'EUR', amount: 'abc' }), fc.constant({ currency: 'EUR', amount: -5 }))
      .map((v) => mutate(inv, 'currency_received', v)),
    fc.oneof(fc.string(), fc.integer(), fc.constant([{ confirmations: { x: 1 } }])).map((v) => mutate(inv, 'transactions', v)),
    fc.oneof(fc.integer(), fc.constant({ remaining_amount: 'lots' })).map((v) => mutate(inv, 'currency_sent', v)),
    fc.oneof(fc.constant(''), fc.integer(), fc.constant(null)).map((v) => mutate(req, 'payment_request_id', v)),
    fc.constantFrom('foreign_id', 'status').map((f) => drop(req, f)),
    fc.oneof(fc.constant({ currency: { iso: '' } }), fc.constant({ received_amount: '1e5' }), fc.string()).map((v) => mutate(req, 'currency_sent', v)),
    // Parsed, but beyond what is stored (docs/providers.md: foreign_id 1-255; provider status text up to 100).
    fc.string({ minLength: 256, maxLength: 400 }).map((v) => mutate(inv, 'foreign_id', v)),
    fc.string({ minLength: 101, maxLength: 3000 }).map((v) => mutate(inv, 'status', v)),
  );
};

describe('hostile input: callback endpoints', () => {
  let t: TestSystem;
  let csRecordId: string;
  let csSecret: string;
  let base: string;
  before(async () => {
    t = await startTestSystem({ role: 'api', env: { API_TOKEN } });
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    for (const order of [sampleOrder('cryptoprocessing', 'known-cp'), sampleOrder('alphapo', 'known-ap'), sampleOrder('cryptosteroid', 'known-cs')]) {
      assert.equal((await t.post('/v1/invoices', order, auth)).status, 202);
    }
    const cs = await t.system.store.get('cryptosteroid', 'known-cs');
    assert.ok(cs);
    csRecordId = cs.id;
    csSecret = cs.secret;
    base = await fingerprint(t);
  });
  after(async () => {
    await t.close();
  });

  const unchanged = (): Promise<void> => assertUnchanged(t, base, 'nothing stored, no record touched');

  it('random bytes with random or missing signature headers are refused 401', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Platform>('cryptoprocessing', 'alphapo'),
        fc.oneof(
          fc.string({ maxLength: 500 }),
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
          fc.constant(JSON.stringify(invoiceCallback('known-cp'))),
        ),
        fc.record({
          key: fc.option(fc.oneof(headerValue(60), fc.constant(SANDBOX_CREDENTIALS.cryptoprocessing.apiKey), fc.constant(SANDBOX_CREDENTIALS.alphapo.apiKey))),
          signature: fc.option(fc.oneof(hex128, headerValue(200))),
          type: fc.option(fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded')),
        }),
        async (provider, body, h) => {
          const headers: Record<string, string> = {};
          if (h.key !== null) headers['x-processing-key'] = h.key;
          if (h.signature !== null) headers['x-processing-signature'] = h.signature;
          if (h.type !== null) headers['content-type'] = h.type;
          const res = await raw(`${t.api}/webhooks/${provider}`, body, headers);
          assert.equal(res.status, 401, `${res.status} ${JSON.stringify(res.body)}`);
          assert.equal(res.body.error, 'unauthorized');
          await unchanged();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('signed with a wrong secret, or changed after signing, or with the other provider key: 401', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Platform>('cryptoprocessing', 'alphapo'),
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 64 }).map((secret) => ({ how: 'wrong secret' as const, secret })),
          fc.constantFrom(' ', '\n', '0', '"').map((extra) => ({ how: 'tampered' as const, extra })),
          fc.constant({ how: 'other provider' as const }),
          fc.constant({ how: 'uppercase key' as const }),
        ),
        async (provider, f) => {
          const body = JSON.stringify(invoiceCallback(provider === 'alphapo' ? 'known-ap' : 'known-cp'));
          let headers = signed(provider, body);
          let sent = body;
          if (f.how === 'wrong secret') {
            if (f.secret === SANDBOX_CREDENTIALS[provider].apiSecret) return;
            headers = signed(provider, body, f.secret);
          } else if (f.how === 'tampered') {
            sent = body.replace('"confirmed"', `"confirmed${f.extra}"`);
          } else if (f.how === 'other provider') {
            const other: Platform = provider === 'alphapo' ? 'cryptoprocessing' : 'alphapo';
            headers = signed(other, body);
          } else {
            headers['x-processing-key'] = headers['x-processing-key']?.toUpperCase() ?? '';
          }
          const res = await raw(`${t.api}/webhooks/${provider}`, sent, headers);
          assert.equal(res.status, 401, `${f.how}: ${res.status} ${JSON.stringify(res.body)}`);
          await unchanged();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('correctly signed but malformed callbacks are 400 naming the field, and store nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Platform>('cryptoprocessing', 'alphapo'), malformedPlatform('known-cp'), async (provider, bad) => {
        const res = await raw(`${t.api}/webhooks/${provider}`, bad.body, signed(provider, bad.body));
        assert.equal(res.status, 400, `${res.status} ${JSON.stringify(res.body)} for ${bad.body.slice(0, 200)}`);
        assert.equal(res.body.error, 'invalid_callback');
        assert.ok(Array.isArray(res.body.issues) && res.body.issues.length > 0);
        const fields = res.body.issues.map((i: { field: string }) => i.field);
        assert.ok(
          fields.some(
            (f: string) =>
              f === bad.field ||
              f.startsWith(`${bad.field}.`) ||
              f.endsWith(`.${bad.field}`) ||
              (bad.field === 'foreign_id' && f === 'update.foreignId') ||
              (bad.field === 'status' && f === 'update.providerStatus'),
          ),
          `expected ${bad.field} named in ${JSON.stringify(res.body.issues)}`,
        );
        await unchanged();
      }),
      { numRuns: 80 },
    );
  });

  it('CryptoSteroid: unknown invoices and wrong tokens are 401; the right token with a malformed body is 400', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .oneof(nastyString, fc.string({ maxLength: 100 }), fc.constantFrom('cryptosteroid.r.nope', 'cryptoprocessing.r.known-cp', '..', '%2e%2e'))
          .filter((s) => s !== '' && s.isWellFormed()),
        fc.option(headerValue(64)),
        async (id, token) => {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (token !== null) headers.token = token;
          const res = await raw(
            `${t.api}/webhooks/cryptosteroid/${encodeURIComponent(id)}`,
            JSON.stringify({ invoiceId: 'x', invoiceUrl: 'https://pay.example/x', status: 'PAID' }),
            headers,
          );
          assert.ok([401, 404].includes(res.status), `${res.status} for ${id}`);
          await unchanged();
        },
      ),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(fc.option(headerValue(64).filter((s) => s !== csSecret)), async (token) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (token !== null) headers.token = token;
        const res = await raw(
          `${t.api}/webhooks/cryptosteroid/${encodeURIComponent(csRecordId)}`,
          JSON.stringify({ invoiceId: 'x', invoiceUrl: 'https://pay.example/x', status: 'PAID', externalId: 'known-cs' }),
          headers,
        );
        assert.equal(res.status, 401);
        await unchanged();
      }),
      { numRuns: 30 },
    );
    const malformed = fc.oneof(
      invalidJson,
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      fc.constantFrom(
        JSON.stringify({ invoiceUrl: 'https://pay.example/x', status: 'PAID' }),
        JSON.stringify({ invoiceId: 'x', invoiceUrl: 'javascript:alert(1)', status: 'PAID' }),
        JSON.stringify({ invoiceId: 'x', invoiceUrl: 'https://pay.example/x', status: '' }),
        JSON.stringify({ invoiceId: 'x', invoiceUrl: 'https://pay.example/x', status: 'PAID', payment: { paid: { received: 'lots' } } }),
        JSON.stringify({ invoiceId: {}, invoiceUrl: 'https://pay.example/x', status: 'PAID' }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(malformed, async (body) => {
        const res = await raw(`${t.api}/webhooks/cryptosteroid/${encodeURIComponent(csRecordId)}`, body, { 'content-type': 'application/json', token: csSecret });
        assert.equal(res.status, 400, `${res.status} ${JSON.stringify(res.body)} for ${body.slice(0, 200)}`);
        assert.equal(res.body.error, 'invalid_callback');
        assert.ok(res.body.issues.length > 0 && res.body.issues.every((i: { field: string }) => typeof i.field === 'string' && i.field));
        await unchanged();
      }),
      { numRuns: 40 },
    );
  });

  it('an authentic callback replayed any number of times is stored once', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Platform>('cryptoprocessing', 'alphapo'), fc.integer({ min: 2, max: 6 }), fc.boolean(), async (provider, times, escaped) => {
        n += 1;
        const before = await t.system.eventsQueue.getJobCountByTypes('wait', 'active', 'delayed', 'completed', 'failed');
        // An unknown provider status: authentic, stored for an operator, never guessed (tracking.md).
        let body = JSON.stringify(invoiceCallback(provider === 'alphapo' ? 'known-ap' : 'known-cp', { status: `replayed-${n}`, note: 'a/b' }));
        if (escaped) body = body.replace(/\//g, '\\/');
        const headers = signed(provider, body);
        for (let i = 0; i < times; i++) {
          const res = await raw(`${t.api}/webhooks/${provider}`, body, headers);
          assert.equal(res.status, 200, JSON.stringify(res.body));
        }
        const afterCount = await t.system.eventsQueue.getJobCountByTypes('wait', 'active', 'delayed', 'completed', 'failed');
        assert.equal(afterCount, before + 1, `${times} deliveries, one job`);
        assert.ok(await healthy(t));
      }),
      { numRuns: 12 },
    );
  });
});
