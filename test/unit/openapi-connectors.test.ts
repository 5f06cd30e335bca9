/**
 * The connectors' required fields as the OpenAPI document states them (openapi-components.ts
 * `CONNECTOR_RULES`, one `oneOf` variant per provider and kind) match what each connector's
 * `validate` refuses: a valid order passes, and the same order without any one of the stated
 * fields is refused naming that field. Every registered provider has its variants.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrderSchema } from '../../src/invoice/order.ts';
import { CONNECTOR_RULES } from '../../src/http/openapi-components.ts';
import { openApiDocument } from '../../src/http/openapi.ts';
import { createCryptoSteroidAdapter } from '../../src/providers/cryptosteroid.ts';
import { createPlatformAdapter } from '../../src/providers/platform.ts';
import { PROVIDER_IDS } from '../../src/providers/registry.ts';
import type { ProviderAdapter } from '../../src/providers/types.ts';
import { FakeHttp } from '../fixtures/providers/fake-http.ts';

const adapters: Record<string, ProviderAdapter> = {
  cryptoprocessing: createPlatformAdapter('cryptoprocessing', { baseUrl: 'https://sandbox.test', apiKey: 'k', apiSecret: 's' }, { http: new FakeHttp() }),
  alphapo: createPlatformAdapter('alphapo', { baseUrl: 'https://sandbox.test', apiKey: 'k', apiSecret: 's' }, { http: new FakeHttp() }),
  cryptosteroid: createCryptoSteroidAdapter(
    { baseUrl: 'https://sandbox.test', apiKey: 'k', merchantId: 'm' },
    {
      http: new FakeHttp(),
    },
  ),
};

/** A complete order of the provider and kind. */
function complete(provider: string, kind: 'invoice' | 'payment_request'): Record<string, unknown> {
  const base = { provider, foreign_id: 'o-1', amount: '10.00', currency: 'EUR' };
  if (kind === 'payment_request') return { ...base, kind, expires_in_seconds: 3600 };
  return {
    ...base,
    title: 'Order 1',
    description: 'Two mugs',
    customer: { email: 'payer@example.com', reference: 'cust-42' },
    urls: { success: 'https://shop.example.com/ok', failure: 'https://shop.example.com/fail' },
  };
}

function without(order: Record<string, unknown>, path: string): Record<string, unknown> {
  const copy = structuredClone(order);
  const [head, tail] = path.split('.', 2) as [string, string | undefined];
  if (tail) delete (copy[head] as Record<string, unknown>)[tail];
  else delete copy[head];
  return copy;
}

describe('OpenAPI connector variants', () => {
  it('every registered provider has a variant, and the document carries them', () => {
    assert.deepEqual([...new Set(CONNECTOR_RULES.map((r) => r.provider))].sort(), [...PROVIDER_IDS].sort());
    const order = openApiDocument() as unknown as { components: { schemas: { Order: { oneOf: unknown[]; properties: { provider: { enum: string[] } } } } } };
    assert.equal(order.components.schemas.Order.oneOf.length, CONNECTOR_RULES.length);
    assert.deepEqual(order.components.schemas.Order.properties.provider.enum, [...PROVIDER_IDS]);
  });

  for (const rule of CONNECTOR_RULES) {
    it(`${rule.provider} ${rule.kind}: each stated field is required by the connector`, () => {
      const adapter = adapters[rule.provider] as ProviderAdapter;
      const good = complete(rule.provider, rule.kind);
      assert.deepEqual(adapter.validate(OrderSchema.parse(good)), [], 'a complete order passes');
      for (const field of rule.required) {
        const parsed = OrderSchema.safeParse(without(good, field));
        const fields = parsed.success ? adapter.validate(parsed.data).map((i) => i.field) : parsed.error.issues.map((i) => i.path.join('.'));
        assert.ok(fields.includes(field), `${field} missing is refused naming it (got ${fields.join(', ')})`);
      }
    });
  }
});
