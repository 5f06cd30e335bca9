import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrderSchema } from '../../../src/invoice/order.ts';
import { PROVIDER_IDS, providerModules } from '../../../src/providers/registry.ts';
import type { HttpClient } from '../../../src/providers/http.ts';
import type { ProviderAdapter } from '../../../src/providers/types.ts';
import { FakeHttp } from '../../fixtures/providers/fake-http.ts';

const all: Record<string, Record<string, string>> = {
  cryptoprocessing: { base_url: 'https://cp.sandbox.test', api_key: 'cp-key', api_secret: 'cp-secret' },
  alphapo: { base_url: 'https://ap.sandbox.test', api_key: 'ap-key', api_secret: 'ap-secret' },
  cryptosteroid: { base_url: 'https://cs.sandbox.test', api_key: 'cs-key', merchant_id: '5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' },
};

function createAdapters(settings: Record<string, Record<string, string>>, deps: { http: HttpClient }): Map<string, ProviderAdapter> {
  const modules = providerModules();
  return new Map(Object.entries(settings).map(([id, raw]) => [id, modules.get(id)!.create(modules.get(id)!.settings.parse(raw), deps)]));
}

describe('registry', () => {
  it('knows every provider, each with its settings schema, callback style and environment variables', () => {
    assert.deepEqual([...PROVIDER_IDS].sort(), ['alphapo', 'cryptoprocessing', 'cryptosteroid']);
    const modules = providerModules();
    assert.equal(modules.get('cryptosteroid')?.callbacks, 'per-invoice');
    assert.equal(modules.get('alphapo')?.callbacks, 'merchant');
    // A bad entry is named by its field.
    const bad = modules.get('cryptosteroid')!.settings.safeParse({ api_key: 'k', merchant_id: 'not-a-uuid' });
    assert.equal(bad.success, false);
    assert.deepEqual(
      bad.error?.issues.map((i) => i.path.join('.')),
      ['merchant_id'],
    );
    // The default base URL is the provider's own.
    assert.deepEqual(modules.get('alphapo')!.settings.parse({ api_key: 'k', api_secret: 's' }), { baseUrl: 'https://app.alphapo.net', apiKey: 'k', apiSecret: 's' });
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
