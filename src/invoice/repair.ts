/**
 * Ways out for an order that cannot finish by itself, one implementation behind the API and the
 * CLI. Each is a compare-and-set on the record (so it cannot race the worker into a second
 * invoice), writes a history entry naming who and why, publishes its result, and logs one audit
 * line:
 *
 * - cancel (the order system): an order not yet sent ends `cancelled` and is never sent; once the
 *   invoice exists, it is cancelled at the provider where the provider can cancel, and the order
 *   ends `cancelled` only when the provider confirmed (already paid: refused with its words).
 *   Refused while a request may be in flight (the invoice may or may not exist).
 * - abandon (an operator): any open order ends `cancelled` or `failed` with the operator's reason;
 *   an invoice at the provider is cancelled there first, where the provider can cancel.
 *   A provider message about it afterwards (a late payment) is an exception, never absorbed.
 * - accept (an operator): a payment the provider called complete that did not cover the order, or
 *   could not be compared (track.ts `coverage`), is taken as paid as it is.
 * - attach (an operator): the invoice of a parked or failed order was found at the provider;
 *   given its id and payment URL the order becomes `created` and is followed from there.
 * - reissue (an operator, providers that refuse a repeated foreign_id): the invoice of a parked
 *   order cannot be found (the platform has no lookup, and its URL was only in the lost answer), so
 *   a new one is created under a provider-side foreign_id derived from the order's. Callbacks for
 *   either id land on the order; money on the replaced one is an exception (track.ts).
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { errorSummary } from '../errors.ts';
import type { Kind } from './order.ts';
import type { FieldIssue } from '../errors.ts';
import { awaitsAcceptance, providerForeignId, type InvoiceRecord } from './record.ts';
import type { InvoiceStore } from './store.ts';
import { isTerminal, type Status } from './state.ts';

// What each repair takes (API bodies, CLI options, Bull Board repair jobs).
export const Who = z.string().trim().min(1).max(100);
export const Why = z.string().trim().min(1).max(500);
/**
 * A body's `by`: a note of who asked, in the caller's words, kept beside the actor (the API key or
 * the signed-in user), never as the actor.
 */
const Note = Who.describe('a note of who asked, kept beside the actor (the API key id); never the actor itself').optional();

export const CancelSchema = z.strictObject({ reason: Why.optional(), by: Note });
export const AbandonSchema = z.strictObject({ reason: Why, by: Note, status: z.enum(['cancelled', 'failed']).default('cancelled') });
export const AttachSchema = z.strictObject({
  provider_invoice_id: z.string().trim().min(1).max(255),
  // A pattern, not only zod's URL check, so the OpenAPI document says http(s) too.
  payment_url: z
    .string()
    .max(2048)
    .regex(/^https?:\/\/\S+$/, 'must be an http(s) URL')
    .refine((u) => URL.canParse(u), 'must be a URL')
    .describe("the invoice's hosted payment page: https, on a payment host known for the lane (the provider's, or the account's `payment_hosts`)"),
  reason: Why,
  by: Note,
});

export const ReissueSchema = z.strictObject({ reason: Why, by: Note });
export const AcceptSchema = z.strictObject({ reason: Why, by: Note });

/** The provider's answer to a cancel (src/providers/types.ts `CancelResult`). */
type CancelAnswer = { kind: 'cancelled'; providerStatus?: string } | { kind: 'refused'; message: string; code?: string };

/** Thrown when the provider could not be asked to cancel (no answer): nothing changed, the caller may try again. */
export class CancelUnavailable extends Error {
  override name = 'CancelUnavailable';
  readonly code = 'CANCEL_UNAVAILABLE';
}

/** What repairs need of a lane: its create queue (to take a job out of the way) and what its provider refuses. */
export interface RepairLane {
  createQueue: { getJob(id: string): Promise<{ getState(): Promise<string>; remove(): Promise<void> } | undefined> };
  adapter: {
    uniqueForeignId: boolean;
    /** Kinds the provider can cancel (empty or absent: none documented). */
    cancels?: readonly Kind[];
    cancel?(ref: { kind: Kind; foreignId: string; providerInvoiceId?: string }): Promise<CancelAnswer>;
  };
  /** Where this lane's payment pages live (see {@link knownPaymentUrl}); none: attach is refused. */
  paymentHosts?: readonly string[];
}

/**
 * Whether a payment URL an operator attaches points where the lane's provider hosts payment
 * pages: https on one of `hosts` (a host name, matched exactly), or an exact origin listed
 * (`http://127.0.0.1:3100`: the built-in sandbox). Anything else could send payers to a page of
 * someone else's choosing, published as the order's `created` result.
 */
export function knownPaymentUrl(url: string, hosts: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  return hosts.some((h) => (h.includes('://') ? u.origin === h : u.protocol === 'https:' && u.hostname === h.toLowerCase() && (u.port === '' || u.port === '443')));
}

export interface RepairDeps {
  store: InvoiceStore;
  lanes: ReadonlyMap<string, RepairLane>;
  log: Logger;
  /** The create job id of an order (queues/create.ts). */
  createJobId: (lane: string, foreignId: string) => string;
  /** Sends an order's create job through its lane's queue again, with a fresh attempt budget (src/ops/retry.ts `resendCreate`). */
  resend: (record: InvoiceRecord) => Promise<unknown>;
  /** Gives an order that became open its first poll (polling.ts `schedulePoll`). */
  schedulePoll?: (lane: string, foreignId: string, record: InvoiceRecord) => Promise<unknown>;
}

export interface RepairRequest {
  /** The actor: the API key id or the signed-in user (the CLI: the operator's name), for the history and the audit line. */
  by: string;
  /** What the caller said about who asked (a body's `by`): kept beside the actor, never as it. */
  note?: string;
  /** Where it came from (api, cli). */
  via: string;
  /** Why, in the operator's words. */
  reason: string;
}

export type RepairOutcome =
  | { outcome: 'done'; status: Status; record: InvoiceRecord }
  | { outcome: 'not_found' }
  /** Refused before looking at the order: the fields named are not acceptable for this lane. */
  | { outcome: 'invalid'; issues: FieldIssue[] }
  /** Not possible in this state: the status (and why) say what is possible instead. */
  | { outcome: 'refused'; status: Status; why: string };

/** Takes the order's create job out of the queue unless a worker holds it (which then finds the order done). */
async function dropCreateJob(deps: RepairDeps, lane: string, foreignId: string): Promise<void> {
  const job = await deps.lanes.get(lane)?.createQueue.getJob(deps.createJobId(lane, foreignId));
  if (!job) return;
  const state = await job.getState();
  if (state !== 'active' && state !== 'completed') await job.remove().catch(() => undefined);
}

/** The actor, and the caller's note when there is one, as the history's reason names them. */
function who(req: RepairRequest): string {
  return req.note && req.note !== req.by ? `${req.by} (note: ${req.note})` : req.by;
}

function audit(deps: RepairDeps, what: string, lane: string, foreignId: string, req: RepairRequest, out: RepairOutcome): void {
  const fields = {
    lane,
    foreign_id: foreignId,
    by: req.by,
    ...(req.note ? { note: req.note } : {}),
    via: req.via,
    why: req.reason,
    outcome: out.outcome,
    status: 'status' in out ? out.status : null,
  };
  if (out.outcome === 'done') deps.log.info(fields, `${what}: done`);
  else deps.log.warn(fields, `${what}: refused`);
}

/** Ended with no money seen, as the provider's callback about a cancel ends it (`cancelled`, or `failed` with an unknown text). */
function endedByCancel(r: InvoiceRecord): boolean {
  return (r.status === 'cancelled' || r.status === 'failed') && r.received_amount === null;
}

/** Statuses in which the invoice exists at the provider and may still be paid. */
const AT_PROVIDER: ReadonlySet<Status> = new Set(['created', 'pending', 'processing']);

/**
 * Asks the provider to cancel the record's invoice. `unsupported` where the provider documents no
 * cancel for this kind; throws `CancelUnavailable` when the provider could not answer.
 */
async function cancelAtProvider(deps: RepairDeps, record: InvoiceRecord, foreignId = providerForeignId(record)): Promise<CancelAnswer | { kind: 'unsupported' }> {
  const adapter = deps.lanes.get(record.lane)?.adapter;
  if (!adapter?.cancel || !adapter.cancels?.includes(record.kind)) return { kind: 'unsupported' };
  try {
    return await adapter.cancel({ kind: record.kind, foreignId, ...(record.provider_invoice_id ? { providerInvoiceId: record.provider_invoice_id } : {}) });
  } catch (err) {
    throw new CancelUnavailable(`the provider could not be asked to cancel (${errorSummary(err)}); nothing changed, try again`, { cause: err });
  }
}

/**
 * The order system withdraws an order. Not yet sent: it ends `cancelled` and is never sent. At the
 * provider: cancelled there first (where the provider can), and `cancelled` here once it confirmed;
 * a provider that refuses (already paid) or documents no cancel leaves the order as it is (409).
 */
export async function cancelBeforeSending(deps: RepairDeps, lane: string, foreignId: string, req: RepairRequest): Promise<RepairOutcome> {
  const sendable = (r: InvoiceRecord): boolean => r.status === 'queued' && r.submitting === null && !r.reconcile;
  const reason = `cancelled by ${who(req)} before it was sent: ${req.reason}`;
  const res = await deps.store.apply(lane, foreignId, { status: 'cancelled', source: `${req.via}:${req.by}`, reason, guard: sendable, fields: { reason } });
  let out: RepairOutcome;
  if (res.kind === 'missing') out = { outcome: 'not_found' };
  else if (res.kind === 'ignored') {
    const r = res.record;
    if (AT_PROVIDER.has(r.status) && !r.reconcile) out = await cancelAtTheProvider(deps, r, req);
    else {
      const why = isTerminal(r.status)
        ? `the order is already ${r.status}`
        : r.status === 'queued'
          ? 'a request for it may already be at the provider; an operator can abandon it'
          : `the order is parked for an operator (${r.reconcile ?? ''}); an operator can abandon it`;
      out = { outcome: 'refused', status: r.status, why };
    }
  } else {
    await dropCreateJob(deps, lane, foreignId);
    out = { outcome: 'done', status: res.record.status, record: res.record };
  }
  audit(deps, 'order cancelled', lane, foreignId, req, out);
  return out;
}

/** The order system's cancel of an invoice that exists: the provider first, then the record, only as the provider confirmed. */
async function cancelAtTheProvider(deps: RepairDeps, record: InvoiceRecord, req: RepairRequest): Promise<RepairOutcome> {
  const answer = await cancelAtProvider(deps, record);
  if (answer.kind === 'unsupported') {
    return {
      outcome: 'refused',
      status: record.status,
      why: `the invoice exists at the provider (${record.status}) and the provider documents no cancel for it; it ends by payment or expiry`,
    };
  }
  if (answer.kind === 'refused') return { outcome: 'refused', status: record.status, why: `the provider refused to cancel the invoice: ${answer.message}` };
  const reason = `cancelled at the provider by ${who(req)}: ${req.reason}`;
  const res = await deps.store.apply(record.lane, record.foreign_id, {
    status: 'cancelled',
    source: `${req.via}:${req.by}`,
    reason,
    fields: { reason, provider_status: answer.providerStatus ?? 'cancelled', reconcile: null, last_error: null },
  });
  if (res.kind === 'missing') return { outcome: 'not_found' };
  if (res.kind === 'ignored') {
    // The provider's own word on the cancel (its callback) may overtake this answer: the order
    // then ended by it, as the provider confirmed; anything else overtook the cancel.
    if (endedByCancel(res.record)) return { outcome: 'done', status: res.record.status, record: res.record };
    return { outcome: 'refused', status: res.record.status, why: `the order is already ${res.record.status}` };
  }
  return { outcome: 'done', status: 'cancelled', record: res.record };
}

/**
 * An operator ends an open order for good: `cancelled` (default) or `failed`. An invoice that
 * exists at the provider is cancelled there first where the provider can cancel, so an abandoned
 * order is not left payable; a provider that refuses (already paid) leaves the order as it is.
 */
export async function abandon(deps: RepairDeps, lane: string, foreignId: string, req: RepairRequest & { status?: 'cancelled' | 'failed' }): Promise<RepairOutcome> {
  const to = req.status ?? 'cancelled';
  let reason = `abandoned by ${who(req)}: ${req.reason}`;
  const before = await deps.store.get(lane, foreignId);
  let cancelledThere = false;
  if (before && AT_PROVIDER.has(before.status)) {
    const answer = await cancelAtProvider(deps, before);
    if (answer.kind === 'refused') {
      const out: RepairOutcome = { outcome: 'refused', status: before.status, why: `the provider refused to cancel the invoice: ${answer.message}` };
      audit(deps, 'order abandoned', lane, foreignId, req, out);
      return out;
    }
    cancelledThere = answer.kind === 'cancelled';
    reason += cancelledThere ? ' (cancelled at the provider)' : ' (the provider documents no cancel for it: it stays payable there until it expires)';
  }
  const res = await deps.store.apply(lane, foreignId, {
    status: to,
    source: `operator:${req.by}`,
    reason,
    guard: (r) => !isTerminal(r.status),
    fields: { reason, reconcile: null, submitting: null, last_error: null },
  });
  let out: RepairOutcome;
  if (res.kind === 'missing') out = { outcome: 'not_found' };
  else if (res.kind === 'ignored') {
    // The provider's callback about our cancel may have ended it first: done, as the provider confirmed.
    out =
      cancelledThere && endedByCancel(res.record)
        ? { outcome: 'done', status: res.record.status, record: res.record }
        : { outcome: 'refused', status: res.record.status, why: `the order is already ${res.record.status}` };
  } else {
    await dropCreateJob(deps, lane, foreignId);
    out = { outcome: 'done', status: to, record: res.record };
  }
  audit(deps, 'order abandoned', lane, foreignId, req, out);
  return out;
}

/** The order's create job and its state (`missing` when there is none). */
async function createJob(deps: RepairDeps, lane: string, foreignId: string) {
  const job = await deps.lanes.get(lane)?.createQueue.getJob(deps.createJobId(lane, foreignId));
  return { job, jobState: job ? await job.getState() : 'missing' };
}

/**
 * Whether an operator may give the order an invoice (attach, reissue): it is queued and no request
 * of ours is in flight that could still create one: parked, or its submission failed for good (or
 * never ran).
 */
function repairable(jobState: string): (r: InvoiceRecord) => boolean {
  const idle = jobState === 'failed' || jobState === 'completed' || jobState === 'missing';
  return (r) => r.status === 'queued' && (!!r.reconcile || (idle && r.submitting === null) || jobState === 'failed');
}

/**
 * An operator found the order's invoice at the provider. Allowed while the order is queued and
 * no request of ours is in flight that could still create another one: parked, or its submission
 * failed for good (or never ran).
 */
export async function attach(deps: RepairDeps, lane: string, foreignId: string, req: RepairRequest & { providerInvoiceId: string; paymentUrl: string }): Promise<RepairOutcome> {
  const hosts = deps.lanes.get(lane)?.paymentHosts ?? [];
  if (!knownPaymentUrl(req.paymentUrl, hosts)) {
    const named = hosts.filter((h) => !h.includes('://')).join(', ') || 'none configured';
    const out: RepairOutcome = {
      outcome: 'invalid',
      issues: [{ field: 'payment_url', message: `must be https on a payment host of ${lane} (${named}); an account adds hosts with payment_hosts` }],
    };
    audit(deps, 'invoice attached', lane, foreignId, req, out);
    return out;
  }
  const { job, jobState } = await createJob(deps, lane, foreignId);
  const reason = `attached by ${who(req)}: ${req.reason}`;
  const res = await deps.store.apply(lane, foreignId, {
    status: 'created',
    source: `operator:${req.by}`,
    reason,
    guard: repairable(jobState),
    fields: { provider_invoice_id: req.providerInvoiceId, payment_url: req.paymentUrl, provider_status: null, reconcile: null, submitting: null, last_error: null },
  });
  let out: RepairOutcome;
  if (res.kind === 'missing') out = { outcome: 'not_found' };
  else if (res.kind === 'ignored') out = refusedRepair(res.record, jobState);
  else {
    if (jobState === 'failed') await job?.remove().catch(() => undefined);
    await deps.schedulePoll?.(lane, foreignId, res.record);
    out = { outcome: 'done', status: 'created', record: res.record };
  }
  audit(deps, 'invoice attached', lane, foreignId, req, out);
  return out;
}

/** Longest foreign_id the platform takes (docs/providers.md 1.2). */
const MAX_FOREIGN_ID = 255;

/**
 * The provider-side foreign_id of the n-th reissue: the order's own with `~r<n>` appended (cut to
 * fit, by code points). Taken ids (another order's, an earlier reservation) are skipped by `reissue`.
 */
export function reissuedForeignId(foreignId: string, n: number): string {
  const suffix = `~r${n}`;
  const points = Array.from(foreignId);
  return points.slice(0, MAX_FOREIGN_ID - suffix.length).join('') + suffix;
}

/**
 * An operator has the order sent again as a new invoice under a derived provider-side foreign_id.
 * Allowed where attach is (queued, no request of ours in flight), and only on lanes whose provider
 * refuses a repeated foreign_id: elsewhere a retry (with confirm_not_created) already re-sends it.
 */
export async function reissue(deps: RepairDeps, lane: string, foreignId: string, req: RepairRequest): Promise<RepairOutcome> {
  const laneOf = deps.lanes.get(lane);
  const record = await deps.store.get(lane, foreignId);
  let out: RepairOutcome;
  if (!record) out = { outcome: 'not_found' };
  else if (!laneOf?.adapter.uniqueForeignId) {
    out = {
      outcome: 'refused',
      status: record.status,
      why: `${lane} does not refuse a repeated foreign_id, so no new id is needed: retry the order (with confirm_not_created once you checked it is not at the provider)`,
    };
  } else out = await reissueOn(deps, laneOf, record, req);
  audit(deps, 'order reissued', lane, foreignId, req, out);
  return out;
}

async function reissueOn(deps: RepairDeps, lane: RepairLane, record: InvoiceRecord, req: RepairRequest): Promise<RepairOutcome> {
  const { jobState } = await createJob(deps, record.lane, record.foreign_id);
  const open = repairable(jobState);
  if (!open(record)) return refusedRepair(record, jobState);
  // The next free derived id, reserved in the lane's foreign_id namespace before anything is sent.
  let providerFid: string | null = null;
  for (let n = record.replaced_foreign_ids.length + 1; n <= record.replaced_foreign_ids.length + 20 && !providerFid; n++) {
    const candidate = reissuedForeignId(record.foreign_id, n);
    if (await deps.store.reserveAlias(record.lane, candidate, record.foreign_id)) providerFid = candidate;
  }
  if (!providerFid) return { outcome: 'refused', status: record.status, why: 'no free derived foreign_id (20 taken in a row); abandon the order and send a new one' };
  const replaced = [...record.replaced_foreign_ids, providerForeignId(record)];
  const reason = `reissued by ${who(req)} as ${providerFid} (replacing ${providerForeignId(record)}): ${req.reason}`;
  const res = await deps.store.apply(
    record.lane,
    record.foreign_id,
    {
      source: `operator:${req.by}`,
      reason,
      recorded: true,
      // Decided again under the compare-and-set, and only on the copy the id was derived from.
      guard: (r) => open(r) && providerForeignId(r) === providerForeignId(record),
      fields: {
        provider_foreign_id: providerFid,
        replaced_foreign_ids: JSON.stringify(replaced),
        provider_invoice_id: null,
        provider_status: null,
        payment_url: null,
        reconcile: null,
        submitting: null,
        last_error: null,
        submit_attempts: 0,
      },
    },
    { known: record },
  );
  if (res.kind === 'missing') return { outcome: 'not_found' };
  if (res.kind === 'ignored') return refusedRepair(res.record, jobState);
  // The invoice being replaced may exist at the provider with nobody holding its URL: cancelled
  // there (after the order moved to the new id, so the provider's word on it is news about a
  // replaced invoice, never a change of the order). Best effort: a refusal means it is gone or
  // finished already, and money on it stays an exception (track.ts `onReplaced`).
  const old = providerForeignId(record);
  const note = await cancelAtProvider(deps, record, old).then(
    (a) => (a.kind === 'cancelled' ? 'cancelled at the provider' : a.kind === 'refused' ? `not cancelled: ${a.message}` : 'the provider documents no cancel'),
    (err: unknown) => `not cancelled: ${errorSummary(err)}`,
  );
  deps.log.info({ lane: record.lane, foreign_id: record.foreign_id, replaced: old, outcome: note }, 'replaced invoice: cancel at the provider');
  await deps.resend(res.record);
  return { outcome: 'done', status: res.record.status, record: res.record };
}

function refusedRepair(r: InvoiceRecord, jobState: string): RepairOutcome {
  return {
    outcome: 'refused',
    status: r.status,
    why: r.status === 'queued' ? `its submission is still under way (job ${jobState}); wait until it is parked or failed` : `the order is already ${r.status}`,
  };
}

/**
 * An operator takes a payment as it is: the provider called it complete but its figures did not
 * cover the order, or could not be compared (the order is parked with an `underpaid` or
 * `unverifiable_amount` exception). The order ends `paid`; who and why are in the history.
 */
export async function acceptPayment(deps: RepairDeps, lane: string, foreignId: string, req: RepairRequest): Promise<RepairOutcome> {
  const reason = `payment accepted as it is by ${who(req)}: ${req.reason}`;
  const waiting = (r: InvoiceRecord): boolean => !isTerminal(r.status) && awaitsAcceptance(r);
  const res = await deps.store.apply(lane, foreignId, {
    status: 'paid',
    source: `operator:${req.by}`,
    reason,
    guard: waiting,
    fields: { reason, reconcile: null, last_error: null },
  });
  let out: RepairOutcome;
  if (res.kind === 'missing') out = { outcome: 'not_found' };
  else if (res.kind === 'ignored') {
    const r = res.record;
    out = {
      outcome: 'refused',
      status: r.status,
      why: isTerminal(r.status) ? `the order is already ${r.status}` : 'only a payment parked as underpaid or unverifiable can be accepted',
    };
  } else out = { outcome: 'done', status: 'paid', record: res.record };
  audit(deps, 'payment accepted', lane, foreignId, req, out);
  return out;
}
