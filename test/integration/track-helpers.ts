/**
 * Helpers for the tracking tests: signed and forged callbacks, and the exactly-once check that
 * ties every published result to one applied transition of the invoice's history.
 */
import assert from 'node:assert/strict';
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/index.ts';
import { signBody } from '../../src/signing.ts';
import { STATUSES, type Status } from '../../src/invoice/state.ts';
import type { InvoiceResult } from '../../queues/results.ts';
import type { TestSystem } from '../helpers/system.ts';

export type Platform = 'cryptoprocessing' | 'alphapo';

export async function postRaw(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/** Headers the platform would send for these exact bytes. */
export function platformHeaders(provider: Platform, body: string, secret = SANDBOX_CREDENTIALS[provider].apiSecret): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-processing-key': SANDBOX_CREDENTIALS[provider].apiKey,
    'x-processing-signature': signBody(body, secret),
  };
}

/** A platform invoice callback body (docs/providers.md 1.5), only the fields the adapter reads plus a few. */
export function invoiceCallback(id: string, foreignId: string, status: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: Number(id),
    foreign_id: foreignId,
    type: 'invoice',
    currency_sent: { currency: 'BTC', amount: '0.0017', remaining_amount: '0' },
    currency_received: { currency: 'EUR', amount: '100.50' },
    transactions: status === 'created' || status === 'pending' ? [] : [{ id: 1, confirmations: '1' }],
    error: '',
    status,
    ...extra,
  });
}

export function requestCallback(id: string, foreignId: string, status: string, received: string, iso = 'EUR'): string {
  return JSON.stringify({
    payment_request_id: id,
    foreign_id: foreignId,
    type: 'payment_request',
    status,
    currency_sent: { currency: { iso }, expected_amount: '100.50', received_amount: received, remaining_amount: '0' },
  });
}

export async function resultsFor(t: TestSystem, provider: string, foreignId: string): Promise<InvoiceResult[]> {
  return (await t.results()).filter((r) => r.provider === provider && r.foreign_id === foreignId);
}

export async function statusOf(t: TestSystem, provider: string, foreignId: string): Promise<Status | undefined> {
  return (await t.system.store.get(provider, foreignId))?.status;
}

export async function waitStatus(t: TestSystem, provider: string, foreignId: string, status: Status, timeoutMs?: number): Promise<void> {
  await t.waitFor(async () => (await statusOf(t, provider, foreignId)) === status, `${provider}/${foreignId} ${status}`, timeoutMs);
}

/** The create went through: the provider invoice is known (status `created`, or `pending` when the provider starts there). */
export async function waitCreated(t: TestSystem, provider: string, foreignId: string, timeoutMs?: number): Promise<void> {
  await t.waitFor(
    async () => {
      const r = await t.system.store.get(provider, foreignId);
      return r?.payment_url && (r.status === 'created' || r.status === 'pending');
    },
    `${provider}/${foreignId} created`,
    timeoutMs,
  );
}

/** No callback job waiting or running, and the outbox relayed. */
export async function settle(t: TestSystem): Promise<void> {
  await t.waitFor(async () => {
    const c = await t.system.eventsQueue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
    const pending = Object.values(c).reduce((a, b) => a + b, 0);
    return pending === 0 && (await t.system.store.outboxLength()) === 0;
  }, 'events settled and outbox relayed');
  await t.system.relay.flush();
}

const RANK = new Map<Status, number>(STATUSES.map((s, i) => [s, i]));

/**
 * Guarantee 3 for one invoice: every applied transition (its history) was published exactly once,
 * nothing else was, and the history only ever moved forward. Returns the statuses in order.
 */
export async function assertPublishedExactlyOnce(t: TestSystem, provider: string, foreignId: string): Promise<Status[]> {
  const record = await t.system.store.get(provider, foreignId);
  assert.ok(record, 'record exists');
  // Transitions only: an entry whose status did not move is an operator's or the create path's note (a reissue, a recovered lost answer).
  const moves = (await t.system.store.history(record.id)).filter((h) => h.from !== null && h.from !== h.to);
  // Transitions only: exceptions and parkings are results of their own (status does not move).
  const results = (await resultsFor(t, provider, foreignId)).filter((r) => (r.event ?? 'transition') === 'transition');
  assert.deepEqual(
    results.map((r) => `${r.previous_status}->${r.status}`).sort(),
    moves.map((m) => `${m.from}->${m.to}`).sort(),
    'one result per applied transition, and no other',
  );
  for (let i = 1; i < moves.length; i++) {
    assert.equal(moves[i]!.from, moves[i - 1]!.to, 'history is a chain');
    const from = moves[i]!.from as Status;
    assert.ok((RANK.get(moves[i]!.to) ?? 0) > (RANK.get(from) ?? 0) || from === 'queued', `forward only: ${from} -> ${moves[i]!.to}`);
  }
  return moves.map((m) => m.to);
}
