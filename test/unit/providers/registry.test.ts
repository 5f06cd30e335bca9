import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrderSchema } from '../../../src/invoice/order.ts';
import { createAdapters } from '../../../src/providers/registry.ts';
import { FakeHttp } from '../../fixtures/providers/fake-http.ts';

const all = {
  cryptoprocessing: { baseUrl: 'https://cp.sandbox.test', apiKey: 'cp-key', apiSecret: 'cp-secret' },
  alphapo: { baseUrl: 'https://ap.sandbox.test', apiKey: 'ap-key', apiSecret: 'ap-secret' },
  cryptosteroid: { baseUrl: 'https://cs.sandbox.test', apiKey: 'cs-key', merchantId: '5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' },
};

describe('registry', () => {
  it('has no adapter for a provider without credentials', () => {
    assert.equal(createAdapters({}, { http: new FakeHttp() }).size, 0);
    const only = createAdapters({ cryptosteroid: all.cryptosteroid }, { http: new FakeHttp() });
    assert.deepEqual([...only.keys()], ['cryptosteroid']);
  });

  it('builds one adapter per configured provider, with its own traits', () => {
    const adapters = createAdapters(all, { http: new FakeHttp() });
    assert.deepEqual([...adapters.keys()].sort(), ['alphapo', 'cryptoprocessing', 'cryptosteroid']);
    for (const [id, adapter] of adapters) assert.equal(adapter.id, id);
    assert.equal(adapters.get('cryptoprocessing')?.uniqueForeignId, true);
    assert.equal(adapters.get('alphapo')?.uniqueForeignId, true);
    assert.equal(adapters.get('cryptosteroid')?.uniqueForeignId, false);
    assert.deepEqual(adapters.get('alphapo')?.kinds, ['invoice', 'payment_request']);
  });

  it('gives each platform its own host and credentials', async () => {
    const http = new FakeHttp();
    const adapters = createAdapters(all, { http });
    const body = { data: { id: 1, url: 'https://invoices.example.com/invoice/a', status: 'created' } };
    http.reply(201, body).reply(201, body);
    for (const provider of ['cryptoprocessing', 'alphapo'] as const) {
      const order = OrderSchema.parse({
        provider,
        foreign_id: 'o-1',
        amount: '10',
        currency: 'EUR',
        title: 't',
        customer: { email: 'a@example.com', reference: 'c-1' },
        urls: { success: 'https://s.example.com/ok', failure: 'https://s.example.com/no' },
      });
      await adapters.get(provider)?.create(order, { secret: 's' });
    }
    assert.deepEqual(
      http.requests.map((r) => [r.provider, r.baseUrl, r.headers?.['X-Processing-Key']]),
      [
        ['cryptoprocessing', 'https://cp.sandbox.test', 'cp-key'],
        ['alphapo', 'https://ap.sandbox.test', 'ap-key'],
      ],
    );
  });
});
