/**
 * What every adapter promises through the ProviderAdapter interface, run against each one with the
 * same scripted answers: valid orders pass validate(), one create sends one request, and every
 * failure surfaces as a taxonomy error that names no credential.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProviderError, ValidationError } from '../../../src/errors.ts';
import { OrderSchema, type Order } from '../../../src/invoice/order.ts';
import { createCryptoSteroidAdapter } from '../../../src/providers/cryptosteroid.ts';
import { createPlatformAdapter } from '../../../src/providers/platform.ts';
import type { ProviderAdapter } from '../../../src/providers/types.ts';
import { FakeHttp, fixtureText } from '../../fixtures/providers/fake-http.ts';

const SECRETS = ['contract-key-1', 'contract-secret-2', 'contract-token-3', 'payer@example.com'];

interface Subject {
  name: string;
  make(http: FakeHttp): ProviderAdapter;
  order: Order;
  created: string;
}

const platformOrder = (provider: 'cryptoprocessing' | 'alphapo', kind: 'invoice' | 'payment_request'): Order =>
  OrderSchema.parse({
    provider,
    kind,
    foreign_id: `contract-${kind}`,
    amount: '25.10',
    currency: 'EUR',
    ...(kind === 'invoice' ? { title: 'Contract', urls: { success: 'https://s.example.com/ok', failure: 'https://s.example.com/no' } } : { expires_in_seconds: 900 }),
    customer: { email: 'payer@example.com', reference: 'c-1' },
  });

const platformCreds = { baseUrl: 'https://sandbox.test', apiKey: 'contract-key-1', apiSecret: 'contract-secret-2' };

const SUBJECTS: Subject[] = [
  ...(['cryptoprocessing', 'alphapo'] as const).flatMap((provider) =>
    (['invoice', 'payment_request'] as const).map((kind) => ({
      name: `${provider} ${kind}`,
      make: (http: FakeHttp) => createPlatformAdapter(provider, platformCreds, { http }),
      order: platformOrder(provider, kind),
      created: fixtureText(kind === 'invoice' ? 'platform/invoice-create-201.json' : 'platform/payment-request-create-200.json'),
    })),
  ),
  {
    name: 'cryptosteroid invoice',
    make: (http: FakeHttp) =>
      createCryptoSteroidAdapter({ baseUrl: 'https://sandbox.test', apiKey: 'contract-key-1', merchantId: '5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' }, { http }),
    order: OrderSchema.parse({
      provider: 'cryptosteroid',
      foreign_id: 'contract-cs',
      amount: '25.10',
      currency: 'EUR',
      description: 'Contract',
      customer: { email: 'payer@example.com' },
    }),
    created: fixtureText('cryptosteroid/invoice-new.json'),
  },
];

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

describe('adapter contract', () => {
  for (const subject of SUBJECTS) {
    describe(subject.name, () => {
      it('accepts its valid order and creates with exactly one request carrying a string body', async () => {
        const http = new FakeHttp().reply(201, subject.created);
        const adapter = subject.make(http);
        assert.deepEqual(adapter.validate(subject.order), []);
        assert.ok(adapter.kinds.includes(subject.order.kind));
        const result = await adapter.create(subject.order, { secret: 'contract-token-3', callbackUrl: 'https://w.example.com/cb' });
        assert.equal(http.requests.length, 1);
        assert.equal(typeof http.last.body, 'string');
        assert.equal(typeof result.providerInvoiceId, 'string');
        assert.match(result.paymentUrl, /^https:\/\//);
        assert.ok(['created', 'pending'].includes(result.status));
      });

      for (const [name, script] of FAILURES) {
        it(`fails with a taxonomy error that names no secret: ${name}`, async () => {
          const http = new FakeHttp();
          script(http);
          await assert.rejects(subject.make(http).create(subject.order, { secret: 'contract-token-3' }), (err: unknown) => {
            assert.ok(err instanceof ProviderError, String(err));
            for (const secret of SECRETS) assert.ok(!err.message.includes(secret), err.message);
            return true;
          });
        });
      }

      it('refuses a malformed callback with a ValidationError and an unsigned one as not authentic', () => {
        const adapter = subject.make(new FakeHttp());
        assert.throws(() => adapter.parseCallback(Buffer.from('{')), ValidationError);
        assert.throws(() => adapter.parseCallback(Buffer.from('{}')), ValidationError);
        assert.equal(adapter.verifyCallback(Buffer.from('{}'), {}), false);
      });
    });
  }
});
