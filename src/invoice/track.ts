/**
 * Following an invoice after creation: a provider's word (callback or lookup) becomes a
 * transition through `InvoiceStore.apply` (compare-and-set + outbox in one step), and a silent
 * provider is timed out against its own deadline (polling.ts). Decisions where docs/providers.md is silent:
 *
 * - Unknown provider status, or a message naming another provider invoice than ours: parked for
 *   an operator (`reconcile`), never guessed (docs/providers.md 5, STYLE "unresolved").
 * - Amounts are compared with the order only when the provider reports them in the order's
 *   currency; any difference is published as `received_amount` + `reason`, never swallowed.
 * - A record still `queued` (its create answer was lost) adopts the provider's invoice id and
 *   moves on: the provider just proved the invoice exists (docs/providers.md 6.1).
 * - A deadline-inferred end is marked `inferred`; if the provider later says otherwise (a paid
 *   callback redelivered after an outage) the record is parked, since results never go backwards.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { add, compare, isZero, normalize, subFloor } from '../money.ts';
import { UpdateSchema, type ProviderAdapter, type ProviderUpdate, type Transaction } from '../providers/types.ts';
import { AccountName, laneKey } from '../lanes/key.ts';
import { ProviderName } from './order.ts';
import { isTerminal, type Status } from './state.ts';
import { awaitsAcceptance, paymentHold, providerForeignId, type Change, type InvoiceRecord } from './record.ts';
import type { InvoiceStore } from './store.ts';

/** What is not the provider's to say: how often to look at an invoice with no deadline, and how long past a deadline to wait. */
export interface TrackSettings {
  pollIdleMs: number;
  graceMs: number;
}

/** The provider's side of tracking, per lane: its adapter's deadlines and cadence (lane tuning may set the cadence). */
export interface LaneTracking {
  adapter: Pick<ProviderAdapter, 'tracking'>;
  tuning: { pollMs?: number };
}

/** A provider message for an invoice we hold no record of (yet). Retried, then parked in the failed set. */
export class UnknownInvoice extends Error {
  override name = 'UnknownInvoice';
  readonly code = 'UNKNOWN_INVOICE';
}

export type TrackOutcome =
  | { kind: 'applied'; record: InvoiceRecord; published: boolean; adopted: boolean }
  /** More money under the same status (a second installment): on the record and published as a `payment` event. */
  | { kind: 'payment'; record: InvoiceRecord; published: boolean }
  /** News about an invoice already finished: published as an exception, never absorbed. */
  | { kind: 'exception'; record: InvoiceRecord; type: string; published: boolean }
  | { kind: 'ignored'; record: InvoiceRecord; reason: 'duplicate' | 'terminal' | 'backwards' | 'replaced' }
  | { kind: 'parked'; record: InvoiceRecord; reason: string }
  | { kind: 'missing' };

/** Statuses a provider may report. `queued` and `rejected` are ours alone: treated as unknown. */
function reported(update: ProviderUpdate): Status | null {
  const s = update.status;
  return s === 'unresolved' || s === 'queued' || s === 'rejected' ? null : s;
}

/** Applies one provider message to an invoice. `source` names it in the history (callback, poll). */
export async function applyUpdate(store: InvoiceStore, record: InvoiceRecord, update: ProviderUpdate, source: string): Promise<TrackOutcome> {
  const status = reported(update);
  // About an invoice this order replaced (reissue): it never moves the order; money on it is an exception.
  if (update.foreignId !== undefined && update.foreignId !== providerForeignId(record) && record.replaced_foreign_ids.includes(update.foreignId)) {
    return onReplaced(store, record, update, status, source);
  }
  // The provider created that invoice for another amount and we cancelled it: its word never moves the order.
  if (record.status === 'queued' && paymentHold(record) === 'amount_mismatch' && (!update.providerInvoiceId || update.providerInvoiceId === record.provider_invoice_id)) {
    return onReplaced(store, record, update, status, source);
  }
  const ours = record.provider_invoice_id;
  if (ours && update.providerInvoiceId && update.providerInvoiceId !== ours) {
    // Possibly a second payable invoice for one order (guarantee 1): an operator must look.
    return park(store, record, `${source} for provider invoice ${update.providerInvoiceId} (${update.providerStatus}), but this order holds ${ours}`);
  }
  if (isTerminal(record.status)) return afterEnd(store, record, update, status, source);
  if (status === null) {
    return park(store, record, `unknown provider status "${update.providerStatus}"; not guessed`, adoptId(record, update));
  }
  const adopted = record.status === 'queued';
  // `paid` only when the provider's figures cover the order (guarantee 8); short or not comparable,
  // the money is recorded, the status stays, and the order is parked as an exception.
  const cover = status === 'paid' ? coverage(record, update) : null;
  if (cover && (cover.verdict === 'short' || cover.verdict === 'unverifiable')) return unpaid(store, record, update, cover, source);
  const reason = composeReason(update.reason, amountNote(record, update, status));
  const fields: NonNullable<Change['fields']> = {
    provider_status: update.providerStatus,
    // Always written, so a note of an earlier status never leaks into this one's result.
    reason: reason ?? null,
    ...adoptId(record, update),
    ...moneyFields(record, update),
  };
  if (adopted) Object.assign(fields, { reconcile: null, submitting: null, last_error: null });
  // Parked because an earlier word did not cover the order, and now it does: no longer waiting for a person.
  if (cover && awaitsAcceptance(record)) Object.assign(fields, { reconcile: null, last_error: null });
  const res = await store.apply(record.lane, record.foreign_id, { status, source, reason, fields }, { known: record });
  if (res.kind === 'applied' && cover?.verdict === 'over') {
    // Paid, and more than due arrived: the excess is an exception the order system must see (a refund may be owed).
    const detail = { type: 'overpaid', provider_status: update.providerStatus, ...cover.detail };
    const over = await store.apply(record.lane, record.foreign_id, { source, event: { kind: 'exception', id: `${eventId(update)}.overpaid`, detail } }, { known: res.record });
    if (over.kind === 'applied') return { kind: 'applied', record: over.record, published: true, adopted };
  }
  switch (res.kind) {
    case 'missing':
      return res;
    case 'ignored':
      // The deadline (or a message that overtook this one) may have ended it while we decided.
      if (isTerminal(res.record.status)) return afterEnd(store, res.record, update, status, source);
      // One transition per status (README): a second installment under the same status moves
      // nothing, but money never goes unseen: the record learns the larger amount and a `payment`
      // event says so (once per provider message).
      if (res.reason === 'duplicate' && received(res.record, update)) {
        const detail: Record<string, unknown> = { provider_status: update.providerStatus, received_amount: update.receivedAmount };
        if (update.receivedCurrency !== undefined) detail.received_currency = update.receivedCurrency;
        if (reason) detail.reason = reason;
        const more = await store.apply(
          record.lane,
          record.foreign_id,
          {
            source,
            fields: { ...moneyFields(res.record, update), reason: reason ?? null },
            event: { kind: 'payment', id: eventId(update), detail },
          },
          { known: res.record },
        );
        if (more.kind === 'applied') return { kind: 'payment', record: more.record, published: more.published };
      }
      return { kind: 'ignored', record: res.record, reason: res.reason };
    case 'applied':
      return { kind: 'applied', record: res.record, published: res.published, adopted };
  }
}

/** Our inferred end, and the provider now says something else (e.g. paid after an outage). */
function contradictsInference(record: InvoiceRecord, status: Status | null): boolean {
  return isTerminal(record.status) && record.inferred !== null && status !== record.status;
}

/**
 * A provider message for an invoice we consider finished. Money beyond what the record holds (a
 * late, extra or partial payment after the end), a terminal status other than ours (paid after it
 * expired), or any word that contradicts an end we inferred, is an exception: stored on the record
 * and published once (its id comes from the message's dedupe key), never absorbed. An inferred
 * end that the provider contradicts is parked for an operator as well. Anything else (a
 * redelivery, an out-of-order message from before the end) changes nothing.
 */
async function afterEnd(store: InvoiceStore, record: InvoiceRecord, update: ProviderUpdate, status: Status | null, source: string): Promise<TrackOutcome> {
  const more = received(record, update) && update.receivedAmount !== undefined && !isZero(update.receivedAmount);
  const contradicted = contradictsInference(record, status);
  // Once we cancelled it, the provider ends the invoice on its side with a text we cannot know in
  // advance (docs/providers.md 6.6): its `failed` (or `expired`) is the echo of our cancel, not news.
  const echo = record.status === 'cancelled' && (status === 'failed' || status === 'expired');
  const news = status !== null && isTerminal(status) && status !== record.status && !echo;
  if (!more && !news && !contradicted) return { kind: 'ignored', record, reason: status === record.status ? 'duplicate' : 'terminal' };
  const type = status === 'paid' && record.status !== 'paid' ? 'paid_after_end' : more ? 'payment_after_end' : contradicted ? 'status_after_inferred_end' : 'status_after_end';
  const note = amountNote(record, update, 'paid');
  const reason = composeReason(update.reason, note);
  const detail: Record<string, unknown> = { type, provider_status: update.providerStatus, after: record.status };
  if (update.receivedAmount !== undefined) detail.received_amount = update.receivedAmount;
  if (update.receivedCurrency !== undefined) detail.received_currency = update.receivedCurrency;
  if (reason) detail.reason = reason;
  const fields: NonNullable<Change['fields']> = {};
  // The record shows all the money that arrived, whatever its status.
  if (more) Object.assign(fields, moneyFields(record, update));
  if (contradicted) {
    const why = `provider reports ${update.providerStatus} after we inferred ${record.status} from its deadline`;
    Object.assign(fields, { reconcile: why, last_error: why });
  }
  const res = await store.apply(record.lane, record.foreign_id, { source, fields, event: { kind: 'exception', id: eventId(update), detail } }, { known: record });
  if (res.kind === 'missing') return res;
  if (res.kind === 'ignored') return { kind: 'ignored', record: res.record, reason: 'duplicate' };
  return { kind: 'exception', record: res.record, type, published: res.published };
}

/**
 * A provider message about an invoice the order replaced by reissue (it names the old
 * provider-side foreign_id). It never moves the order. A payment on it (money, or a paid or
 * processing status) is an exception an operator and the order system must see, since the payer
 * may have paid twice; anything else (the old invoice expiring) changes nothing.
 */
async function onReplaced(store: InvoiceStore, record: InvoiceRecord, update: ProviderUpdate, status: Status | null, source: string): Promise<TrackOutcome> {
  const money = update.receivedAmount !== undefined && !isZero(update.receivedAmount);
  if (!money && status !== 'paid' && status !== 'processing') return { kind: 'ignored', record, reason: 'replaced' };
  const type = 'payment_on_replaced_invoice';
  const detail: Record<string, unknown> = { type, provider_status: update.providerStatus, after: record.status, replaced_foreign_id: update.foreignId };
  if (update.providerInvoiceId !== undefined) detail.replaced_invoice_id = update.providerInvoiceId;
  if (update.receivedAmount !== undefined) detail.received_amount = update.receivedAmount;
  if (update.receivedCurrency !== undefined) detail.received_currency = update.receivedCurrency;
  if (update.reason) detail.reason = update.reason;
  const res = await store.apply(record.lane, record.foreign_id, { source, event: { kind: 'exception', id: eventId(update), detail } }, { known: record });
  if (res.kind === 'missing') return res;
  if (res.kind === 'ignored') return { kind: 'ignored', record: res.record, reason: 'duplicate' };
  return { kind: 'exception', record: res.record, type, published: res.published };
}

/** An exception's id: from the provider message's dedupe key, so a redelivery is the same event. */
function eventId(update: ProviderUpdate): string {
  return createHash('sha256').update(update.dedupeKey).digest('hex').slice(0, 16);
}

/** True when the update reports more money than the record holds (amounts only ever grow), or a transaction it does not know. */
function received(record: InvoiceRecord, update: ProviderUpdate): boolean {
  if (update.receivedAmount === undefined) return false;
  if (record.received_amount === null) return true;
  const known = new Set(record.transactions.map((t) => t.txid));
  if ((update.transactions ?? []).some((t) => !known.has(t.txid))) return true;
  return (update.receivedCurrency ?? null) === record.received_currency && compare(update.receivedAmount, record.received_amount) > 0;
}

/**
 * The money fields a provider message sets on the record: transactions merged by txid (a later
 * message's confirmations win), what was received as their sum (or the provider's running total
 * where it lists no amounts per transaction), never less than the record already holds; fees,
 * settlement and the payer's instructions as last stated.
 */
export function moneyFields(record: Pick<InvoiceRecord, 'transactions' | 'received_amount' | 'received_currency'>, update: ProviderUpdate): Record<string, string | null> {
  const fields: Record<string, string | null> = {};
  const merged = mergeTransactions(record.transactions, update.transactions ?? []);
  if (update.transactions?.length) fields.transactions = JSON.stringify(merged);
  if (update.receivedAmount !== undefined) {
    const currency = update.receivedCurrency ?? null;
    let amount = update.receivedAmount;
    const mine = merged.filter((t) => t.currency === currency);
    if (mine.length && mine.every((t) => t.amount !== undefined)) amount = mine.reduce((sum, t) => add(sum, t.amount ?? '0'), '0');
    if (record.received_amount !== null && record.received_currency === currency && compare(record.received_amount, amount) > 0) amount = record.received_amount;
    fields.received_amount = normalize(amount);
    fields.received_currency = currency;
  }
  if (update.fees?.length) fields.fees = JSON.stringify(update.fees);
  if (update.settledAmount !== undefined && update.settledCurrency !== undefined) {
    fields.settled_amount = update.settledAmount;
    fields.settled_currency = update.settledCurrency;
  }
  if (update.payTo) fields.pay_to = JSON.stringify(update.payTo);
  return fields;
}

function mergeTransactions(known: readonly Transaction[], seen: readonly Transaction[]): Transaction[] {
  const byId = new Map(known.map((t) => [t.txid, t] as const));
  for (const t of seen) byId.set(t.txid, { ...byId.get(t.txid), ...t });
  return [...byId.values()];
}

export type Coverage = {
  verdict: 'covered' | 'short' | 'over' | 'unverifiable';
  /** The figures, for the exception and the parked reason. */
  detail: Record<string, string>;
  why: string;
};

/**
 * Whether a payment the provider calls complete covers the order (guarantee 8). Two figures can
 * say so: the invoice's value in the order's currency as the provider states it, and what the payer
 * sent against what was due in the currency sent, at the rate the provider fixed when it created
 * the invoice (whose amount and currency we checked against the order then). Short on either is
 * `short`; more sent than due is `over`; neither comparable is `unverifiable` (a currency we cannot
 * compare): never taken as paid without an operator.
 */
export function coverage(record: Pick<InvoiceRecord, 'amount' | 'currency'>, update: ProviderUpdate): Coverage {
  const order = { order_amount: record.amount, order_currency: record.currency };
  const value = update.paid?.value;
  const due = update.paid?.due;
  const sent = update.receivedAmount !== undefined && update.receivedCurrency ? { amount: update.receivedAmount, currency: update.receivedCurrency } : undefined;
  let verdict: Coverage['verdict'] = 'unverifiable';
  let detail: Record<string, string> = { ...order };
  let why = `the provider reports no figure in ${record.currency} or against what was due`;
  if (value && same(value.currency, record.currency)) {
    const c = compare(value.amount, record.amount);
    detail = { ...order, provider_amount: value.amount, provider_currency: value.currency };
    verdict = c < 0 ? 'short' : 'covered';
    why = `provider reports ${value.amount} ${value.currency} for an order of ${record.amount} ${record.currency}`;
    if (c > 0) Object.assign(detail, { excess_amount: normalize(subFloor(value.amount, record.amount)), excess_currency: value.currency });
    if (c > 0) verdict = 'over';
  }
  if (verdict !== 'short' && due && sent && same(due.currency, sent.currency)) {
    const c = compare(sent.amount, due.amount);
    if (c < 0) {
      verdict = 'short';
      detail = { ...order, provider_amount: sent.amount, provider_currency: sent.currency };
      why = `received ${sent.amount} ${sent.currency} of ${due.amount} ${due.currency} due for an order of ${record.amount} ${record.currency}`;
    } else if (c > 0) {
      verdict = 'over';
      Object.assign(detail, {
        provider_amount: sent.amount,
        provider_currency: sent.currency,
        excess_amount: normalize(subFloor(sent.amount, due.amount)),
        excess_currency: sent.currency,
      });
      why = `received ${sent.amount} ${sent.currency}, ${detail.excess_amount} more than the ${due.amount} due`;
    } else if (verdict === 'unverifiable') {
      verdict = 'covered';
      why = `received ${sent.amount} ${sent.currency}, all that was due`;
    }
  }
  if (verdict === 'unverifiable' && value) Object.assign(detail, { provider_amount: value.amount, provider_currency: value.currency });
  return { verdict, detail, why };
}

function same(a: string, b: string): boolean {
  return a.toUpperCase() === b.toUpperCase();
}

/**
 * The provider says paid, but its figures do not cover the order (or cannot be compared): the
 * money goes on the record, the status stays, and the order is parked with an exception naming
 * both figures. An operator accepts it as paid (repair `accept`) or abandons it.
 */
async function unpaid(store: InvoiceStore, record: InvoiceRecord, update: ProviderUpdate, cover: Coverage, source: string): Promise<TrackOutcome> {
  const type = cover.verdict === 'short' ? 'underpaid' : 'unverifiable_amount';
  const why = `${type}: provider says ${update.providerStatus}, but ${cover.why}`;
  const detail: Record<string, unknown> = { type, provider_status: update.providerStatus, reason: why, ...cover.detail };
  if (update.receivedAmount !== undefined) detail.received_amount = update.receivedAmount;
  if (update.receivedCurrency !== undefined) detail.received_currency = update.receivedCurrency;
  const fields = { provider_status: update.providerStatus, ...adoptId(record, update), ...moneyFields(record, update) };
  const res = await store.apply(record.lane, record.foreign_id, { source, fields, event: { kind: 'exception', id: `${eventId(update)}.${type}`, detail } }, { known: record });
  if (res.kind === 'missing') return res;
  if (res.kind === 'ignored') return { kind: 'ignored', record: res.record, reason: 'duplicate' };
  // Parked as well, so the order system and the operator's list both see that it waits for a person.
  const parked = await park(store, res.record, why, {}, 'an operator checks the payment at the provider, then accepts it as paid (repair accept) or abandons the order');
  return { kind: 'exception', record: parked.kind === 'missing' ? res.record : parked.record, type, published: true };
}

function adoptId(record: InvoiceRecord, update: ProviderUpdate): { provider_invoice_id?: string } {
  return !record.provider_invoice_id && update.providerInvoiceId ? { provider_invoice_id: update.providerInvoiceId } : {};
}

const NEXT_CHECK = 'an operator checks the invoice at the provider, then attaches it, abandons the order, or lets callbacks carry on';

async function park(store: InvoiceStore, record: InvoiceRecord, reason: string, extra: Record<string, string> = {}, next = NEXT_CHECK): Promise<TrackOutcome> {
  // Parked already for this very reason (a poll that keeps seeing the same unknown status): said once.
  if (record.reconcile === reason) return { kind: 'parked', record, reason };
  const event = { kind: 'parked' as const, id: `v${record.version}`, detail: { reason, next } };
  const res = await store.apply(record.lane, record.foreign_id, { source: 'track', fields: { reconcile: reason, last_error: reason, ...extra }, event }, { known: record });
  return res.kind === 'missing' ? res : { kind: 'parked', record: res.record, reason };
}

/**
 * Compares what arrived with what the order asked, in decimal text (no floats). Only possible
 * when the provider counts in the order's currency; crypto-denominated amounts are reported as
 * they are (`received_currency` says which).
 */
export function amountNote(
  record: Pick<InvoiceRecord, 'amount' | 'currency'>,
  update: Pick<ProviderUpdate, 'receivedAmount' | 'receivedCurrency'>,
  status: Status,
): string | undefined {
  const received = update.receivedAmount;
  if (received === undefined || !update.receivedCurrency) return undefined;
  if (update.receivedCurrency.toUpperCase() !== record.currency.toUpperCase()) return undefined;
  const c = compare(received, record.amount);
  if (c === 0 || (c < 0 && isZero(received) && status !== 'paid')) return undefined;
  const text = `received ${received} of ${record.amount} ${record.currency}`;
  if (c > 0) return `overpaid: ${text}`;
  return isTerminal(status) ? `underpaid: ${text}` : `partially paid: ${text}`;
}

/** The provider's reason, then ours; "partially paid; partially paid: ..." is said once. */
export function composeReason(provider: string | undefined, note: string | undefined): string | undefined {
  if (!note) return provider || undefined;
  if (!provider) return note;
  const [label, detail] = note.split(': ', 2) as [string, string];
  return provider.startsWith(label) ? `${provider}; ${detail}` : `${provider}; ${note}`;
}

/**
 * Whose route received a provider message: what a stored message holds besides the provider's
 * word (`update`).
 */
export const MessageRouteSchema = z.strictObject({
  provider: ProviderName,
  /** The account whose route received it (absent: the default account). */
  account: AccountName.optional(),
  /** Our record id when the route named it (a per-invoice callback URL). */
  invoice_id: z.string().min(1).max(600).optional(),
});

/** A stored provider message, as the events queue holds it: whose route received it, and its word. */
export const ProviderMessageSchema = MessageRouteSchema.extend({ update: UpdateSchema });
export type ProviderMessage = z.infer<typeof ProviderMessageSchema>;

/** Finds the invoice a message names (by our record id, its foreign_id, or the one it was reissued under) and applies it. */
export async function handleEvent(store: InvoiceStore, job: ProviderMessage): Promise<TrackOutcome> {
  const lane = laneKey(job.provider, job.account);
  const fid = job.update.foreignId;
  let record = job.invoice_id ? await store.getById(job.invoice_id) : fid ? await store.get(lane, fid) : null;
  if (!record && !job.invoice_id && fid) {
    const order = await store.aliasOf(lane, fid);
    if (order) record = await store.get(lane, order);
  }
  if (!record || record.lane !== lane) return { kind: 'missing' };
  return applyUpdate(store, record, job.update, 'callback');
}
