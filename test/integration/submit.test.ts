/**
 * The submit rules against a real Redis store with scripted adapters: when the `submitting`
 * marker is kept or cleared decides whether a later attempt may create again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { resultJobId } from '../../queues/results.ts';
import { OrderSchema, orderHash } from '../../src/invoice/order.ts';
import { InvoiceStore } from '../../src/invoice/store.ts';
import { submitOrder } from '../../src/invoice/submit.ts';
import { MissingRecord, OutcomeUnknown, ProviderUnavailable } from '../../src/errors.ts';
import type { CreateResult, ProviderAdapter } from '../../src/providers/types.ts';
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts';

function adapter(uniqueForeignId: boolean, script: Array<() => Promise<CreateResult>>): ProviderAdapter & { calls: number } {
  const a = {
    id: 'cryptosteroid' as const,
    lane: { provider: 'cryptosteroid', account: 'default' },
    callbacks: 'per-invoice' as const,
    tracking: { pollMs: 60_000, deadline: () => null },
    kinds: ['invoice'] as const,
    uniqueForeignId,
    calls: 0,
    validate: () => [],
    async create() {
      const step = script[a.calls++];
      if (!step) throw new Error('unexpected create call');
      return step();
    },
    verifyCallback: () => false,
    parseCallback: () => {
      throw new Error('not used');
    },
    lookup: async () => null,
  };
  return a;
}

const ok = (status: 'created' | 'pending' = 'created'): Promise<CreateResult> =>
  Promise.resolve({
    providerInvoiceId: 'inv-1',
    paymentUrl: 'https://pay.example/1',
    status,
    providerStatus: status === 'pending' ? 'pending' : 'NEW',
    amount: '10',
    currency: 'EUR',
  });

describe('submit rules', () => {
  const prefix = uniquePrefix('submit');
  const redis = new Redis(REDIS_URL);
  const store = new InvoiceStore({ redis, prefix, resultId: resultJobId });
  let n = 0;
  async function accepted(): Promise<string> {
    const order = OrderSchema.parse({ provider: 'cryptosteroid', foreign_id: `s-${++n}`, amount: '10', currency: 'EUR', description: 'x' });
    assert.equal(await store.accept(order, orderHash(order), 'sec'), 'accepted');
    return order.foreign_id;
  }
  before(async () => {
    await redis.ping();
  });
  after(async () => {
    redis.disconnect();
    await deleteByPrefix(prefix);
  });

  it('a job whose order was never recorded fails at once (retrying cannot help) and calls nobody', async () => {
    const a = adapter(true, [ok]);
    await assert.rejects(submitOrder({ store, adapter: a }, 'cryptosteroid', 'never-recorded'), (e: unknown) => e instanceof MissingRecord);
    assert.equal(a.calls, 0);
  });

  it('an unexpected error from the adapter keeps the marker: a non-unique provider is then parked, not asked again', async () => {
    const id = await accepted();
    const a = adapter(false, [() => Promise.reject(new TypeError('boom')), ok]);
    assert.equal((await submitOrder({ store, adapter: a }, 'cryptosteroid', id)).kind, 'retry');
    assert.ok((await store.get('cryptosteroid', id))?.submitting, 'marker kept');
    assert.equal((await submitOrder({ store, adapter: a }, 'cryptosteroid', id)).kind, 'parked');
    assert.equal(a.calls, 1);
  });

  it('two attempts of one order at once (a worker starved past its lock, the job handed on): exactly one sends', async () => {
    const id = await accepted();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = adapter(false, [async () => (await gate, ok()), ok]);
    const first = submitOrder({ store, adapter: a }, 'cryptosteroid', id);
    const second = submitOrder({ store, adapter: a }, 'cryptosteroid', id);
    const settled = Promise.all([first, second]);
    // Let both read the record and race for the marker before the provider answers.
    await new Promise((r) => setTimeout(r, 50));
    release();
    const outcomes = await settled;
    assert.equal(a.calls, 1, 'one create request, never two');
    assert.deepEqual(outcomes.map((o) => o.kind).sort(), ['created', 'retry']);
    assert.equal((await store.get('cryptosteroid', id))?.status, 'created');
  });

  it('a 5xx-style ProviderUnavailable clears the marker, so the next attempt creates', async () => {
    const id = await accepted();
    const a = adapter(false, [() => Promise.reject(new ProviderUnavailable('503', 'cryptosteroid', 503)), ok]);
    assert.equal((await submitOrder({ store, adapter: a }, 'cryptosteroid', id)).kind, 'retry');
    assert.equal((await store.get('cryptosteroid', id))?.submitting, null);
    assert.equal((await submitOrder({ store, adapter: a }, 'cryptosteroid', id)).kind, 'created');
    assert.equal(a.calls, 2);
  });

  it('an unknown outcome on a provider that refuses duplicates is asked again', async () => {
    const id = await accepted();
    const a = adapter(true, [() => Promise.reject(new OutcomeUnknown('reset', 'cryptosteroid')), ok]);
    assert.equal((await submitOrder({ store, adapter: a }, 'cryptosteroid', id)).kind, 'retry');
    assert.equal((await submitOrder({ store, adapter: a }, 'cryptosteroid', id)).kind, 'created');
  });

  it('a provider that answers pending gives created (URL known) then pending, in that order', async () => {
    const id = await accepted();
    const out = await submitOrder({ store, adapter: adapter(true, [() => ok('pending')]) }, 'cryptosteroid', id);
    assert.equal(out.kind, 'created');
    const history = await store.history(`cryptosteroid.r.${id}`);
    assert.deepEqual(
      history.map((h) => h.to),
      ['queued', 'created', 'pending'],
    );
    const outbox = (await store.outboxEntries()).filter((e) => e.data.foreign_id === id);
    assert.deepEqual(
      outbox.map((e) => e.name),
      ['created', 'pending'],
    );
    assert.equal(outbox[1]?.data.payment_url, 'https://pay.example/1');
  });

  it('when a callback moved the invoice on while the request was in flight, the payment URL is still kept', async () => {
    const id = await accepted();
    const a = adapter(true, [
      async () => {
        await store.apply('cryptosteroid', id, { status: 'processing', source: 'callback', fields: { provider_invoice_id: 'inv-1' } });
        return ok();
      },
    ]);
    const out = await submitOrder({ store, adapter: a }, 'cryptosteroid', id);
    assert.deepEqual(out, { kind: 'done', status: 'processing' });
    const rec = await store.get('cryptosteroid', id);
    assert.equal(rec?.payment_url, 'https://pay.example/1');
    assert.equal(rec?.status, 'processing');
    assert.equal(rec?.submitting, null);
  });
});
