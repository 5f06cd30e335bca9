/**
 * Following an invoice after creation: a provider's word (callback or lookup) becomes a
 * transition through `InvoiceStore.apply` (compare-and-set + outbox in one step), and a silent
 * provider is timed out against its own deadline. Decisions where docs/providers.md is silent:
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
import { ProviderError, ProviderRateLimited, errorSummary } from '../errors.ts';
import { compare, isZero } from '../money.ts';
import type { ProviderAdapter, ProviderUpdate } from '../providers/types.ts';
import { laneKey } from '../lanes.ts';
import { isTerminal, type Status } from './state.ts';
import { providerForeignId, type Change, type InvoiceRecord, type InvoiceStore } from './store.ts';

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
  const reason = composeReason(update.reason, amountNote(record, update, status));
  const fields: NonNullable<Change['fields']> = {
    provider_status: update.providerStatus,
    // Always written, so a note of an earlier status never leaks into this one's result.
    reason: reason ?? null,
    ...adoptId(record, update),
  };
  if (update.receivedAmount !== undefined) {
    fields.received_amount = update.receivedAmount;
    fields.received_currency = update.receivedCurrency ?? null;
  }
  if (adopted) Object.assign(fields, { reconcile: null, submitting: null, last_error: null });
  const res = await store.apply(record.lane, record.foreign_id, { status, source, reason, fields }, { known: record });
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
            fields: { received_amount: update.receivedAmount ?? null, received_currency: update.receivedCurrency ?? null, reason: reason ?? null },
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
  const news = status !== null && isTerminal(status) && status !== record.status;
  if (!more && !news && !contradicted) return { kind: 'ignored', record, reason: status === record.status ? 'duplicate' : 'terminal' };
  const type = status === 'paid' && record.status !== 'paid' ? 'paid_after_end' : more ? 'payment_after_end' : contradicted ? 'status_after_inferred_end' : 'status_after_end';
  const note = amountNote(record, update, 'paid');
  const reason = composeReason(update.reason, note);
  const detail: Record<string, unknown> = { type, provider_status: update.providerStatus, after: record.status };
  if (update.receivedAmount !== undefined) detail.received_amount = update.receivedAmount;
  if (update.receivedCurrency !== undefined) detail.received_currency = update.receivedCurrency;
  if (reason) detail.reason = reason;
  const fields: NonNullable<Change['fields']> = {};
  if (more) {
    // The record shows all the money that arrived, whatever its status.
    fields.received_amount = update.receivedAmount ?? null;
    fields.received_currency = update.receivedCurrency ?? null;
  }
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

/** True when the update reports more money than the record holds (amounts only ever grow). */
function received(record: InvoiceRecord, update: ProviderUpdate): boolean {
  if (update.receivedAmount === undefined) return false;
  if (record.received_amount === null) return true;
  return (update.receivedCurrency ?? null) === record.received_currency && compare(update.receivedAmount, record.received_amount) > 0;
}

function adoptId(record: InvoiceRecord, update: ProviderUpdate): { provider_invoice_id?: string } {
  return !record.provider_invoice_id && update.providerInvoiceId ? { provider_invoice_id: update.providerInvoiceId } : {};
}

async function park(store: InvoiceStore, record: InvoiceRecord, reason: string, extra: Record<string, string> = {}): Promise<TrackOutcome> {
  // Parked already for this very reason (a poll that keeps seeing the same unknown status): said once.
  if (record.reconcile === reason) return { kind: 'parked', record, reason };
  const next = 'an operator checks the invoice at the provider, then attaches it, abandons the order, or lets callbacks carry on';
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

/** A stored provider message, as the events queue holds it: whose route received it, and its word. */
export interface ProviderMessage {
  provider: string;
  account?: string;
  /** Our record id, when the route named it (a per-invoice callback URL). */
  invoice_id?: string;
  update: ProviderUpdate;
}

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

// ---------------------------------------------------------------------------------------------
// Deadlines and polling.

/** When the provider itself ends the invoice if nothing happens (ms), or null when it never does: the adapter knows. */
export function deadlineOf(record: InvoiceRecord, lane: LaneTracking): number | null {
  return lane.adapter.tracking.deadline(record);
}

/** When to look again: the connector's cadence, jittered, but never past the deadline's grace end. */
export function nextPollAt(lane: LaneTracking, s: TrackSettings, now: number, due: number | null, random: () => number = Math.random): number {
  const cadence = due === null ? s.pollIdleMs : (lane.tuning.pollMs ?? lane.adapter.tracking.pollMs);
  // Jitter spreads invoices created together, so a burst of creates is not a burst of lookups forever.
  let next = now + Math.round(cadence * (0.8 + 0.4 * random()));
  const end = due === null ? null : due + s.graceMs;
  if (end !== null && end >= now) next = Math.min(next, end + 1);
  return next;
}

export interface PollDeps {
  store: InvoiceStore;
  lane: LaneTracking & { adapter: ProviderAdapter; key: string };
  settings: TrackSettings;
  now?: () => number;
  random?: () => number;
}

export type PollOutcome =
  | { kind: 'done'; status: Status | 'missing'; published: boolean }
  | { kind: 'again'; at: number; published: boolean; status: Status }
  | { kind: 'rate-limited'; at: number; waitMs?: number };

/** One poll of one invoice: ask the provider, apply its answer, infer the end of a silent one. */
export async function pollOnce(deps: PollDeps, job: { foreign_id: string }): Promise<PollOutcome> {
  const { store, lane, settings } = deps;
  const { adapter } = lane;
  const now = deps.now?.() ?? Date.now();
  let record = await store.get(lane.key, job.foreign_id);
  if (!record) return { kind: 'done', status: 'missing', published: false };
  // Not at the provider yet, or finished: the create path schedules the poll once it is open.
  if (record.status === 'queued' || isTerminal(record.status)) return { kind: 'done', status: record.status, published: false };

  let answered = false;
  let published = false;
  try {
    const update = await adapter.lookup({ kind: record.kind, foreignId: providerForeignId(record), providerInvoiceId: record.provider_invoice_id ?? undefined });
    if (update) {
      answered = true;
      const out = await applyUpdate(store, record, update, 'poll');
      if (out.kind === 'missing') return { kind: 'done', status: 'missing', published: false };
      record = out.record;
      published = (out.kind === 'applied' || out.kind === 'exception' || out.kind === 'payment') && out.published;
    }
  } catch (err) {
    if (err instanceof ProviderRateLimited) return { kind: 'rate-limited', at: nextPollAt(lane, settings, now, null, deps.random), waitMs: err.hint.retryAfterMs };
    if (!(err instanceof ProviderError)) throw err;
    // The provider is unreachable or odd: say so on the record (once), keep polling, and let the
    // deadline below decide if it stays silent.
    const note = `lookup failed: ${errorSummary(err)}`;
    if (record.last_error !== note) await store.apply(record.lane, record.foreign_id, { source: 'poll', fields: { last_error: note } });
  }
  if (isTerminal(record.status)) return { kind: 'done', status: record.status, published };

  const due = deadlineOf(record, lane);
  if (!answered && due !== null && now >= due + settings.graceMs) {
    const out = await inferEnd(store, record, due, settings.graceMs);
    if (out) return { kind: 'done', status: out.status, published: out.published || published };
    record = (await store.get(lane.key, job.foreign_id)) ?? record;
    if (isTerminal(record.status)) return { kind: 'done', status: record.status, published };
  }
  return { kind: 'again', at: nextPollAt(lane, settings, now, deadlineOf(record, lane), deps.random), published, status: record.status };
}

/**
 * The provider's deadline and our grace passed without a word: the invoice ended at the provider.
 * Before any payment that is `expired`; with a payment seen but never confirmed it is `failed`,
 * which is what the provider itself reports for that case (docs/providers.md 1.4, 2.3).
 */
async function inferEnd(store: InvoiceStore, record: InvoiceRecord, due: number, graceMs: number): Promise<{ status: Status; published: boolean } | null> {
  const to: Status = record.status === 'processing' ? 'failed' : 'expired';
  const reason = `inferred: no word from the provider by its deadline ${new Date(due).toISOString()} plus ${graceMs} ms grace`;
  const res = await store.apply(record.lane, record.foreign_id, { status: to, source: 'deadline', reason, fields: { reason, inferred: 'deadline' } });
  return res.kind === 'applied' ? { status: to, published: res.published } : null;
}
