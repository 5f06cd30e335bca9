/**
 * Tracking rules without I/O: provider deadlines per connector, the poll schedule, amount checks
 * against the order, and the event job identity that makes a redelivered callback one job.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventJobSchema, eventJobId } from '../../queues/events.ts';
import { pollJobId } from '../../queues/poll.ts';
import type { Order } from '../../src/invoice/order.ts';
import type { InvoiceRecord } from '../../src/invoice/record.ts';
import { deadlineOf, nextPollAt } from '../../src/invoice/polling.ts';
import { amountNote, composeReason, type LaneTracking, type TrackSettings } from '../../src/invoice/track.ts';
import { providerModules } from '../../src/providers/registry.ts';
import { FakeHttp } from '../fixtures/providers/fake-http.ts';

const S = {
  pollCryptoSteroidMs: 60_000,
  pollPlatformMs: 300_000,
  pollIdleMs: 1_800_000,
  graceMs: 3_600_000,
} satisfies TrackSettings & Record<string, number>;

/** Each provider's tracking as its adapter declares it, with the environment's defaults. */
const SETTINGS: Record<string, Record<string, unknown>> = {
  cryptoprocessing: { api_key: 'k', api_secret: 's' },
  alphapo: { api_key: 'k', api_secret: 's' },
  cryptosteroid: { api_key: 'k', merchant_id: '5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' },
};
function laneOf(r: InvoiceRecord): LaneTracking {
  const module = providerModules().get(r.provider)!;
  return { adapter: module.create(module.settings.parse(SETTINGS[r.provider]), { http: new FakeHttp() }), tuning: {} };
}
const D = (r: InvoiceRecord): number | null => deadlineOf(r, laneOf(r));
const N = (r: InvoiceRecord, s: TrackSettings, now: number, due: number | null, random?: () => number): number => nextPollAt(laneOf(r), s, now, due, random);
const T0 = Date.parse('2026-05-01T12:00:00Z');
const MIN = 60_000;

function rec(over: Omit<Partial<InvoiceRecord>, 'order'> & { order?: Partial<Order> } = {}): InvoiceRecord {
  const { order, ...rest } = over;
  const provider = rest.provider ?? 'cryptoprocessing';
  return {
    id: 'x',
    provider,
    account: 'default',
    lane: provider,
    kind: 'invoice',
    foreign_id: 'f-1',
    status: 'created',
    version: 3,
    hash: 'h',
    order: { provider, kind: rest.kind ?? 'invoice', foreign_id: 'f-1', amount: '100.50', currency: 'EUR', ...order },
    secret: 's',
    amount: '100.50',
    currency: 'EUR',
    provider_invoice_id: '826900',
    provider_status: 'created',
    payment_url: 'https://pay.example/x',
    received_amount: null,
    reason: null,
    last_error: null,
    submitting: null,
    submit_attempts: 1,
    rate_limited_hits: 0,
    reconcile: null,
    accepted_at: new Date(T0 - 5 * MIN).toISOString(),
    updated_at: new Date(T0).toISOString(),
    expires_at: null,
    received_currency: null,
    opened_at: T0,
    status_at: T0,
    inferred: null,
    events: [],
    provider_foreign_id: null,
    replaced_foreign_ids: [],
    settled_amount: null,
    settled_currency: null,
    transactions: [],
    fees: [],
    pay_to: null,
    ...rest,
  };
}

describe('deadlineOf: the provider deadline per connector (docs/providers.md 5)', () => {
  it('platform timer invoice: 15 minutes from creation, or what the provider said', () => {
    assert.equal(D(rec({ order: { timer: true } })), T0 + 15 * MIN);
    const said = new Date(T0 + 14 * MIN).toISOString();
    assert.equal(D(rec({ order: { timer: true }, expires_at: said })), T0 + 14 * MIN);
  });

  it('measures from creation at the provider, not from acceptance (a backed-up create queue must not expire it early)', () => {
    const r = rec({ order: { timer: true }, accepted_at: new Date(T0 - 60 * MIN).toISOString(), opened_at: T0 });
    assert.equal(D(r), T0 + 15 * MIN);
  });

  it('platform invoice without timer: no deadline while created (it may stay so forever); 15 minutes once pending', () => {
    assert.equal(D(rec({ order: { timer: false } })), null);
    assert.equal(D(rec({ status: 'pending', status_at: T0 + 7 * MIN })), T0 + 22 * MIN);
  });

  it('processing stretches invoices to 24 h from the mempool sighting', () => {
    assert.equal(D(rec({ order: { timer: true }, status: 'processing', status_at: T0 + 10 * MIN })), T0 + 10 * MIN + 24 * 60 * MIN);
    assert.equal(D(rec({ provider: 'cryptosteroid', status: 'processing', status_at: T0 + 3 * MIN })), T0 + 3 * MIN + 24 * 60 * MIN);
  });

  it('payment request: its lifetime, as the provider said, else from the order; processing does not stretch it', () => {
    const said = new Date(T0 + 60 * MIN).toISOString();
    assert.equal(D(rec({ kind: 'payment_request', expires_at: said })), T0 + 60 * MIN);
    assert.equal(D(rec({ kind: 'payment_request', expires_at: said, status: 'processing' })), T0 + 60 * MIN);
    assert.equal(D(rec({ kind: 'payment_request', order: { expires_in_seconds: 600 } })), T0 + 10 * MIN);
    assert.equal(D(rec({ kind: 'payment_request', order: { expires_at: said } })), T0 + 60 * MIN);
  });

  it('CryptoSteroid: 30 minutes, or the provider expiresAt', () => {
    assert.equal(D(rec({ provider: 'cryptosteroid' })), T0 + 30 * MIN);
    const said = new Date(T0 + 29 * MIN).toISOString();
    assert.equal(D(rec({ provider: 'cryptosteroid', status: 'pending', expires_at: said })), T0 + 29 * MIN);
  });
});

describe('nextPollAt: cadence per connector, bounded by the deadline', () => {
  const mid = () => 0.5; // no jitter
  it('CryptoSteroid polls at its own cadence, the platform at its slower one', () => {
    assert.equal(N(rec({ provider: 'cryptosteroid' }), S, T0, T0 + 30 * MIN, mid), T0 + S.pollCryptoSteroidMs);
    assert.equal(N(rec({ order: { timer: true } }), S, T0, T0 + 15 * MIN, mid), T0 + S.pollPlatformMs);
  });
  it('an invoice without a deadline is polled at the slow idle cadence', () => {
    assert.equal(N(rec(), S, T0, null, mid), T0 + S.pollIdleMs);
  });
  it('wakes right after deadline + grace instead of sleeping past it', () => {
    const due = T0 + 2 * MIN;
    const at = N(rec({ order: { timer: true } }), { ...S, graceMs: MIN }, T0 + 2 * MIN, due, mid);
    assert.equal(at, due + MIN + 1);
  });
  it('never spins: with the deadline long past (the provider answered, so nothing was inferred) it keeps the cadence', () => {
    const at = N(rec({ provider: 'cryptosteroid' }), S, T0 + 5 * 60 * MIN, T0, mid);
    assert.equal(at, T0 + 5 * 60 * MIN + S.pollCryptoSteroidMs);
  });
  it('jitter stays within 80-120 % of the cadence', () => {
    for (const r of [0, 0.25, 0.999]) {
      const d = N(rec(), S, T0, null, () => r) - T0;
      assert.ok(d >= 0.8 * S.pollIdleMs && d <= 1.2 * S.pollIdleMs, String(d));
    }
  });
});

describe('amountNote: received vs ordered, in decimal text', () => {
  const order = { amount: '100.50', currency: 'EUR' };
  it('exact payment (any spelling of the same value) says nothing', () => {
    assert.equal(amountNote(order, { receivedAmount: '100.50000000', receivedCurrency: 'EUR' }, 'paid'), undefined);
  });
  it('underpaid and overpaid paid invoices are named, with both amounts', () => {
    assert.equal(amountNote(order, { receivedAmount: '100.49', receivedCurrency: 'EUR' }, 'paid'), 'underpaid: received 100.49 of 100.50 EUR');
    assert.equal(amountNote(order, { receivedAmount: '120', receivedCurrency: 'eur' }, 'paid'), 'overpaid: received 120 of 100.50 EUR');
  });
  it('a failed or expired invoice with money received is underpaid; an open one partially paid', () => {
    assert.equal(amountNote(order, { receivedAmount: '50', receivedCurrency: 'EUR' }, 'failed'), 'underpaid: received 50 of 100.50 EUR');
    assert.equal(amountNote(order, { receivedAmount: '50', receivedCurrency: 'EUR' }, 'processing'), 'partially paid: received 50 of 100.50 EUR');
    assert.equal(amountNote(order, { receivedAmount: '0', receivedCurrency: 'EUR' }, 'expired'), undefined);
  });
  it('amounts in another currency (the payer crypto) are not compared', () => {
    assert.equal(amountNote(order, { receivedAmount: '0.5', receivedCurrency: 'BTC' }, 'paid'), undefined);
    assert.equal(amountNote(order, { receivedAmount: '50' }, 'paid'), undefined);
  });
  it('the reason keeps the provider text first and says "partially paid" once', () => {
    assert.equal(composeReason('partially paid', 'partially paid: received 50 of 100 BTC'), 'partially paid; received 50 of 100 BTC');
    assert.equal(composeReason('Timer expired.', 'underpaid: received 50 of 100 BTC'), 'Timer expired.; underpaid: received 50 of 100 BTC');
    assert.equal(composeReason(undefined, undefined), undefined);
    assert.equal(composeReason('restricted', undefined), 'restricted');
  });
});

describe('job identities', () => {
  it('the same provider message is the same event job; different messages or providers are not', () => {
    const a = eventJobId('cryptoprocessing', 'invoice:826900:confirmed:1');
    assert.equal(a, eventJobId('cryptoprocessing', 'invoice:826900:confirmed:1'));
    assert.notEqual(a, eventJobId('cryptoprocessing', 'invoice:826900:processing:1'));
    assert.notEqual(a, eventJobId('alphapo', 'invoice:826900:confirmed:1'));
    assert.ok(!a.includes(':'), 'BullMQ job ids may not contain ":"');
  });
  it('one poll job id per invoice', () => {
    assert.equal(pollJobId('cryptosteroid', 'o:1'), pollJobId('cryptosteroid', 'o:1'));
    assert.notEqual(pollJobId('cryptosteroid', 'o:1'), pollJobId('cryptosteroid', 'o:2'));
    assert.ok(!pollJobId('cryptosteroid', 'o:1').includes(':'));
  });
  it('event jobs carry the normalized update only, and refuse anything else', () => {
    const ok = { v: 1, provider: 'alphapo', update: { providerStatus: 'confirmed', status: 'paid', dedupeKey: 'k', foreignId: 'f' }, received_at: new Date(T0).toISOString() };
    assert.equal(EventJobSchema.safeParse(ok).success, true);
    assert.equal(EventJobSchema.safeParse({ ...ok, raw: '{"end_user_email":"a@b.c"}' }).success, false);
    assert.equal(EventJobSchema.safeParse({ ...ok, update: { ...ok.update, status: 'weird' } }).success, false);
    assert.equal(EventJobSchema.safeParse({ ...ok, update: { ...ok.update, status: 'unresolved' } }).success, true);
  });
});
