/**
 * Polling: following an open invoice when its provider says nothing. When the provider itself
 * ends an invoice (its deadline) and how often to look (the lane's cadence); when an invoice that
 * just opened is first polled, and scheduling that first poll in the poll index; and one poll
 * (`pollOnce`): ask the provider, apply its answer (track.ts), and infer the end of an invoice whose
 * provider stayed silent past its deadline. The poll jobs themselves are queues/poll.ts and
 * workers/poll.ts; the first poll becomes one in src/background/poll-scheduler.ts.
 */
import { ProviderError, ProviderRateLimited, errorSummary } from '../errors.ts';
import type { ProviderAdapter } from '../providers/types.ts';
import { providerForeignId, type InvoiceRecord } from './record.ts';
import { isTerminal, type Status } from './state.ts';
import type { InvoiceStore } from './store.ts';
import { applyUpdate, type LaneTracking, type TrackSettings } from './track.ts';

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

/**
 * When an invoice that just opened is first polled: the lane's cadence from `now`, bounded by the
 * invoice's deadline. The change that opens it writes this to the poll index in the same step
 * (`Change.firstPoll`, src/invoice/submit.ts); `schedulePoll` for everyone else.
 */
export function firstPoll(lane: LaneTracking, settings: TrackSettings, record: InvoiceRecord, now = Date.now()): number {
  return nextPollAt(lane, settings, now, deadlineOf(record, lane));
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
  // A payment seen (but never confirmed) ends `failed`, as the provider reports that case; only an
  // invoice nobody paid anything into is inferred `expired` (docs/providers.md 1.4, 2.3).
  const seen = record.received_amount !== null || record.transactions.length > 0;
  const to: Status = record.status === 'processing' || seen ? 'failed' : 'expired';
  const reason = `inferred: no word from the provider by its deadline ${new Date(due).toISOString()} plus ${graceMs} ms grace`;
  const res = await store.apply(record.lane, record.foreign_id, { status: to, source: 'deadline', reason, fields: { reason, inferred: 'deadline' } });
  return res.kind === 'applied' ? { status: to, published: res.published } : null;
}

export interface ScheduleDeps {
  store: InvoiceStore;
  /** The lanes this system runs (an invoice of another lane is left alone). */
  lanes: ReadonlyMap<string, LaneTracking>;
  track: TrackSettings;
}

/**
 * Schedules an open invoice's poll when the lane's cadence and the invoice's deadline say
 * (`firstPoll`), in the lane's poll index: the PollScheduler gives it its poll job once
 * that time comes (src/background/poll-scheduler.ts), so an invoice that ends before never costs one.
 * Called wherever an invoice becomes open: its creation, a callback adopting an invoice whose
 * create answer was lost, an operator attaching one, the sweeper. Idempotent: an earlier schedule
 * stands, and an invoice that has its poll job keeps that one. An invoice of a lane this system
 * does not run is left alone (false).
 */
export async function schedulePoll(deps: ScheduleDeps, lane: string, foreignId: string, now = Date.now(), known?: InvoiceRecord): Promise<boolean> {
  // The caller's fresh copy saves a read; the decision only needs status and deadlines.
  const record = known ?? (await deps.store.get(lane, foreignId));
  const l = deps.lanes.get(lane);
  if (!l || !record || record.status === 'queued' || isTerminal(record.status)) return false;
  await deps.store.indexPoll(lane, record.foreign_id, firstPoll(l, deps.track, record, now));
  return true;
}
