/**
 * Money truth at the create step, against a real Redis store with scripted adapters: an echo of
 * another amount is never `created` (cancelled at the provider, parked with both figures); a lost
 * or unreadable create answer on a provider that refuses a repeated foreign_id recovers by itself
 * (the orphan cancelled, the order created again under a derived foreign_id); a capped lane never
 * sends past its own count of unpaid invoices.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { resultJobId } from '../../queues/results.ts';
import { OrderSchema, orderHash } from '../../src/invoice/order.ts';
import type { OutboxEntry } from '../../src/invoice/outbox.ts';
import { InvoiceStore } from '../../src/invoice/store.ts';
import { submitOrder } from '../../src/invoice/submit.ts';
import { DuplicateForeignId, OutcomeUnknown, ProviderUnavailable, ResponseShape } from '../../src/errors.ts';
import type { CancelResult, CreateResult, InvoiceRef, ProviderAdapter } from '../../src/providers/types.ts';
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts';

type Step = (order: { foreign_id: string }) => Promise<CreateResult>;

interface Scripted extends ProviderAdapter {
  creates: string[];
  cancelled: InvoiceRef[];
}

function adapter(opts: {
  provider: 'cryptoprocessing' | 'cryptosteroid';
  unique: boolean;
  script: Step[];
  cancel?: (ref: InvoiceRef) => Promise<CancelResult>;
  maxUnpaid?: number;
}): Scripted {
  const a: Scripted = {
    id: opts.provider,
    lane: { provider: opts.provider, account: 'default' },
    callbacks: 'merchant',
    tracking: { pollMs: 60_000, deadline: () => null },
    kinds: ['invoice'],
    uniqueForeignId: opts.unique,
    creates: [],
    cancelled: [],
    validate: () => [],
    async create(order) {
      const step = opts.script[a.creates.length];
      a.creates.push(order.foreign_id);
      if (!step) throw new Error('unexpected create call');
      return step(order);
    },
    verifyCallback: () => false,
    parseCallback: () => {
      throw new Error('not used');
    },
    lookup: async () => null,
    cancels: ['invoice'],
    async cancel(ref) {
      a.cancelled.push(ref);
      return opts.cancel ? opts.cancel(ref) : { kind: 'cancelled' };
    },
    ...(opts.maxUnpaid !== undefined ? { maxUnpaid: opts.maxUnpaid } : {}),
  };
  return a;
}

const created =
  (amount = '10', currency = 'EUR', id = 'inv-1'): Step =>
  () =>
    Promise.resolve({ providerInvoiceId: id, paymentUrl: `https://pay.example/${id}`, status: 'created', providerStatus: 'created', amount, currency });

describe('money truth at create', () => {
  const prefix = uniquePrefix('money-submit');
  const redis = new Redis(REDIS_URL);
  const store = new InvoiceStore({ redis, prefix, resultId: resultJobId });
  let n = 0;
  async function accepted(provider: 'cryptoprocessing' | 'cryptosteroid' = 'cryptoprocessing'): Promise<string> {
    const base = { foreign_id: `m-${++n}`, amount: '10.00', currency: 'EUR' };
    const order = OrderSchema.parse(
      provider === 'cryptosteroid'
        ? { provider, ...base, description: 'x' }
        : { provider, ...base, title: 't', customer: { email: 'p@example.com' }, urls: { success: 'https://s.example.com/ok', failure: 'https://s.example.com/no' } },
    );
    assert.equal(await store.accept(order, orderHash(order), 'sec'), 'accepted');
    return order.foreign_id;
  }
  const outbox = async (fid: string): Promise<OutboxEntry[]> => (await store.outboxEntries()).filter((e) => e.data.foreign_id === fid);
  before(async () => {
    await redis.ping();
  });
  after(async () => {
    redis.disconnect();
    await deleteByPrefix(prefix);
  });

  it('an echo of another amount is never created: cancelled at the provider, parked with both figures, an amount_mismatch exception', async () => {
    const fid = await accepted();
    const a = adapter({ provider: 'cryptoprocessing', unique: true, script: [created('1.00')] });
    const out = await submitOrder({ store, adapter: a }, 'cryptoprocessing', fid);
    assert.equal(out.kind, 'parked');
    const rec = await store.get('cryptoprocessing', fid);
    assert.equal(rec?.status, 'queued', 'never created');
    assert.equal(rec?.payment_url, null, 'the payment URL of the wrong invoice is not kept');
    assert.match(rec?.reconcile ?? '', /amount_mismatch: .*1\.00 EUR.*10\.00 EUR.*cancelled at the provider/);
    assert.deepEqual(
      a.cancelled.map((c) => c.foreignId),
      [fid],
    );
    const results = await outbox(fid);
    assert.ok(!results.some((r) => r.name === 'created'), 'no created result');
    const exception = results.find((r) => r.data.event === 'exception');
    assert.equal(exception?.data.exception?.type, 'amount_mismatch');
    assert.equal(exception?.data.exception?.provider_amount, '1.00');
    assert.equal(exception?.data.exception?.order_amount, '10.00');
    assert.ok(results.some((r) => r.data.event === 'parked'));
  });

  it('the same amount spelled otherwise ("10.00000000") is a match', async () => {
    const fid = await accepted();
    const a = adapter({ provider: 'cryptoprocessing', unique: true, script: [created('10.00000000')] });
    assert.equal((await submitOrder({ store, adapter: a }, 'cryptoprocessing', fid)).kind, 'created');
    assert.equal(a.cancelled.length, 0);
  });

  it('a lost answer, then "already taken": the orphan is cancelled and the order created again under a derived foreign_id, no operator', async () => {
    const fid = await accepted();
    const a = adapter({
      provider: 'cryptoprocessing',
      unique: true,
      script: [
        () => Promise.reject(new OutcomeUnknown('socket hang up', 'cryptoprocessing')),
        () => Promise.reject(new DuplicateForeignId('foreign_id already used at the provider', 'cryptoprocessing', 400)),
        created('10', 'EUR', 'inv-2'),
      ],
    });
    assert.equal((await submitOrder({ store, adapter: a }, 'cryptoprocessing', fid)).kind, 'retry');
    const out = await submitOrder({ store, adapter: a }, 'cryptoprocessing', fid);
    assert.equal(out.kind, 'created');
    assert.deepEqual(a.creates, [fid, fid, `${fid}~r1`]);
    assert.deepEqual(
      a.cancelled.map((c) => c.foreignId),
      [fid],
      'the orphan is cancelled by its foreign_id',
    );
    const rec = await store.get('cryptoprocessing', fid);
    assert.equal(rec?.status, 'created');
    assert.equal(rec?.reconcile, null, 'not parked');
    assert.equal(rec?.provider_foreign_id, `${fid}~r1`);
    assert.deepEqual(rec?.replaced_foreign_ids, [fid]);
    // A callback naming the derived id finds the order.
    assert.equal(await store.aliasOf('cryptoprocessing', `${fid}~r1`), fid);
  });

  it('a 2xx answer we cannot read is never rejected: the same recovery', async () => {
    const fid = await accepted();
    const a = adapter({
      provider: 'cryptoprocessing',
      unique: true,
      script: [() => Promise.reject(new ResponseShape('cryptoprocessing', 201, [{ field: 'data.url', message: 'Invalid URL' }])), created()],
    });
    const out = await submitOrder({ store, adapter: a }, 'cryptoprocessing', fid);
    assert.equal(out.kind, 'created');
    assert.equal(a.cancelled.length, 1);
    assert.notEqual((await store.get('cryptoprocessing', fid))?.status, 'rejected');
  });

  it('only a cancel that fails parks the order (and nothing is re-sent)', async () => {
    const fid = await accepted();
    const a = adapter({
      provider: 'cryptoprocessing',
      unique: true,
      script: [() => Promise.reject(new ResponseShape('cryptoprocessing', 200, [{ field: '(body)', message: 'not JSON' }]))],
      cancel: () => Promise.reject(new ProviderUnavailable('provider error (HTTP 502)', 'cryptoprocessing', 502)),
    });
    const out = await submitOrder({ store, adapter: a }, 'cryptoprocessing', fid);
    assert.equal(out.kind, 'parked');
    assert.equal(a.creates.length, 1);
    assert.match((await store.get('cryptoprocessing', fid))?.reconcile ?? '', /already holds this foreign_id.*cancelling it failed/);
  });

  it('a provider that does not refuse a repeated id (CryptoSteroid) is parked as before, never re-created', async () => {
    const fid = await accepted('cryptosteroid');
    const a = adapter({
      provider: 'cryptosteroid',
      unique: false,
      script: [() => Promise.reject(new ResponseShape('cryptosteroid', 201, [{ field: 'invoiceUrl', message: 'Invalid URL' }]))],
    });
    assert.equal((await submitOrder({ store, adapter: a }, 'cryptosteroid', fid)).kind, 'parked');
    assert.equal(a.cancelled.length, 0);
    assert.equal(a.creates.length, 1);
  });

  it('a capped lane never sends past its own count of unpaid invoices; a payment frees a slot', async () => {
    const a = adapter({ provider: 'cryptosteroid', unique: false, maxUnpaid: 2, script: [created('10', 'EUR', 'c1'), created('10', 'EUR', 'c2'), created('10', 'EUR', 'c3')] });
    const [f1, f2, f3] = [await accepted('cryptosteroid'), await accepted('cryptosteroid'), await accepted('cryptosteroid')];
    assert.equal((await submitOrder({ store, adapter: a }, 'cryptosteroid', f1)).kind, 'created');
    assert.equal((await submitOrder({ store, adapter: a }, 'cryptosteroid', f2)).kind, 'created');
    const held = await submitOrder({ store, adapter: a }, 'cryptosteroid', f3);
    assert.equal(held.kind, 'rate-limited');
    assert.equal(held.kind === 'rate-limited' && held.error.hint.capacity, 'unpaid_invoices', 'a capacity wait: no attempt spent');
    assert.equal(a.creates.length, 2, 'nothing sent past the cap');
    assert.equal(await store.unpaidCount('cryptosteroid'), 2);
    // A payment seen on the first invoice: it is no longer unpaid, and the third order goes out.
    const r1 = await store.get('cryptosteroid', f1);
    await store.apply('cryptosteroid', f1, { status: 'processing', source: 'callback' }, { known: r1! });
    assert.equal(await store.unpaidCount('cryptosteroid'), 1);
    assert.equal((await submitOrder({ store, adapter: a }, 'cryptosteroid', f3)).kind, 'created');
    assert.equal(await store.unpaidCount('cryptosteroid'), 2);
    // An invoice that ends (expired, cancelled, paid) frees its slot too.
    const r2 = await store.get('cryptosteroid', f2);
    await store.apply('cryptosteroid', f2, { status: 'expired', source: 'poll' }, { known: r2! });
    assert.equal(await store.unpaidCount('cryptosteroid'), 1);
  });
});
