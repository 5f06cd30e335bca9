/**
 * What every adapter promises through the ProviderAdapter interface, as one suite each adapter's
 * own test calls with its subjects (a new connector's test calls it too): a valid order creates
 * with exactly one request; a callback signed as the provider signs it is authentic and maps to its
 * status, a forged one is not; a lookup maps the provider's answer (or, for a kind without lookup,
 * sends nothing); an unknown provider status is `unresolved` (parked for an operator), never
 * guessed; every failure surfaces as a taxonomy error that names no credential.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { ProviderError, ValidationError } from '../../src/errors.ts';
import type { Order } from '../../src/invoice/order.ts';
import type { Status } from '../../src/invoice/state.ts';
import type { InvoiceRef, ProviderAdapter } from '../../src/providers/types.ts';
import { FakeHttp } from '../fixtures/providers/fake-http.ts';

/** The per-order secret every subject's create and callbacks use. */
export const ORDER_SECRET = 'contract-token-3';

export interface ContractSubject {
  name: string;
  make(http: FakeHttp): ProviderAdapter;
  order: Order;
  /** The provider's answer body to a create. */
  created: string;
  /** Values that must never appear in an error message (credentials, personal data). */
  secrets: readonly string[];
  callback: {
    /** A callback body the provider sends, and the status it means. */
    known: { raw: Buffer; status: Status };
    /** A callback body with a provider status nobody documented. */
    unknown: Buffer;
    /** Signs a callback as the provider would with `credential` (the account's secret, or the order's token). */
    sign: (raw: Buffer, credential: string) => IncomingHttpHeaders;
    /** The credential the adapter holds. */
    credential: string;
    /** The signature covers the body (HMAC); false: a token authenticates the sender, not the bytes. */
    signsBody: boolean;
  };
  /** Absent: this kind has no lookup (it answers null and sends nothing). */
  lookup?: {
    ref: InvoiceRef;
    /** An answer body, and the status it means. */
    known: { body: string; status: Status };
    /** An answer body with an unknown provider status; absent where the lookup reads evidence of payment, not a status (the platform's transaction record). */
    unknown?: string;
  };
}

/** Answers the adapter meets, each of which must end as a taxonomy error. */
const FAILURES: Array<[string, (http: FakeHttp) => void]> = [
  ['5xx', (h) => h.reply(500, 'oops')],
  ['429', (h) => h.reply(429, '')],
  ['1015', (h) => h.reply(429, 'error code: 1015')],
  ['401', (h) => h.reply(401, '{}')],
  ['400', (h) => h.reply(400, '{"errors":{"amount":"too small"}}')],
  ['2xx garbage', (h) => h.reply(200, '{"data":[]}')],
  ['2xx not JSON', (h) => h.reply(201, 'OK')],
  ['thrown', (h) => h.fail(new Error('socket hang up'))],
];

export function providerContract(subjects: readonly ContractSubject[]): void {
  for (const subject of subjects) {
    describe(`adapter contract: ${subject.name}`, () => {
      it('accepts its valid order and creates with exactly one request carrying a string body', async () => {
        const http = new FakeHttp().reply(201, subject.created);
        const adapter = subject.make(http);
        assert.deepEqual(adapter.validate(subject.order), []);
        assert.ok(adapter.kinds.includes(subject.order.kind));
        const result = await adapter.create(subject.order, { secret: ORDER_SECRET, callbackUrl: 'https://w.example.com/cb' });
        assert.equal(http.requests.length, 1);
        assert.equal(typeof http.last.body, 'string');
        assert.equal(typeof result.providerInvoiceId, 'string');
        assert.match(result.paymentUrl, /^https:\/\//);
        assert.ok(['created', 'pending'].includes(result.status));
      });

      it('a callback signed as the provider signs it is authentic and maps to its status', () => {
        const { known, sign, credential } = subject.callback;
        const adapter = subject.make(new FakeHttp());
        assert.equal(adapter.verifyCallback(known.raw, sign(known.raw, credential), ORDER_SECRET), true);
        const update = adapter.parseCallback(known.raw);
        assert.equal(update.status, known.status);
        assert.equal(typeof update.dedupeKey, 'string');
      });

      it('a forged callback is not authentic: another credential, none, or other bytes under a real signature', () => {
        const { known, sign, credential, signsBody } = subject.callback;
        const adapter = subject.make(new FakeHttp());
        assert.equal(adapter.verifyCallback(known.raw, sign(known.raw, `${credential}x`), ORDER_SECRET), false, 'another credential');
        assert.equal(adapter.verifyCallback(known.raw, {}, ORDER_SECRET), false, 'no credential');
        const other = Buffer.concat([known.raw, Buffer.from(' ')]);
        if (signsBody) assert.equal(adapter.verifyCallback(other, sign(known.raw, credential), ORDER_SECRET), false, 'other bytes');
      });

      it('an unknown provider status is unresolved (parked for an operator), never guessed', async () => {
        const adapter = subject.make(new FakeHttp());
        assert.equal(adapter.parseCallback(subject.callback.unknown).status, 'unresolved');
        if (!subject.lookup?.unknown) return;
        const http = new FakeHttp().reply(200, subject.lookup.unknown);
        assert.equal((await subject.make(http).lookup(subject.lookup.ref))?.status, 'unresolved');
      });

      it(subject.lookup ? 'a lookup asks once and maps the answer' : 'offers no lookup for this kind: null, nothing sent', async () => {
        const http = new FakeHttp();
        if (!subject.lookup) {
          assert.equal(await subject.make(http).lookup({ kind: subject.order.kind, foreignId: subject.order.foreign_id, providerInvoiceId: 'x' }), null);
          assert.equal(http.requests.length, 0);
          return;
        }
        http.reply(200, subject.lookup.known.body);
        assert.equal((await subject.make(http).lookup(subject.lookup.ref))?.status, subject.lookup.known.status);
        assert.equal(http.requests.length, 1);
      });

      for (const [name, script] of FAILURES) {
        it(`create fails with a taxonomy error that names no secret: ${name}`, async () => {
          const http = new FakeHttp();
          script(http);
          await assert.rejects(subject.make(http).create(subject.order, { secret: ORDER_SECRET }), (err: unknown) => {
            assert.ok(err instanceof ProviderError, String(err));
            for (const secret of [...subject.secrets, ORDER_SECRET]) assert.ok(!err.message.includes(secret), err.message);
            return true;
          });
        });
        if (subject.lookup) {
          const ref = subject.lookup.ref;
          it(`lookup fails with a taxonomy error (or no answer) that names no secret: ${name}`, async () => {
            const http = new FakeHttp();
            script(http);
            const outcome = await subject
              .make(http)
              .lookup(ref)
              .then(
                (v) => ({ v }),
                (err: unknown) => ({ err }),
              );
            if ('v' in outcome) return assert.equal(outcome.v, null, 'an answer it cannot read is no answer, never a guess');
            assert.ok(outcome.err instanceof ProviderError, String(outcome.err));
            for (const secret of subject.secrets) assert.ok(!outcome.err.message.includes(secret), outcome.err.message);
          });
        }
      }

      it('refuses a malformed callback with a ValidationError and an unsigned one as not authentic', () => {
        const adapter = subject.make(new FakeHttp());
        assert.throws(() => adapter.parseCallback(Buffer.from('{')), ValidationError);
        assert.throws(() => adapter.parseCallback(Buffer.from('{}')), ValidationError);
        assert.equal(adapter.verifyCallback(Buffer.from('{}'), {}), false);
      });
    });
  }
}
