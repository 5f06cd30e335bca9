/**
 * Ways out for an order that cannot finish by itself, one implementation behind the API and the
 * CLI. Each is a compare-and-set on the record (so it cannot race the worker into a second
 * invoice), writes a history entry naming who and why, publishes its result, and logs one audit
 * line:
 *
 * - cancel (the order system): an order not yet sent ends `cancelled` and is never sent; refused
 *   once it may be at the provider (a request went out, or it is parked).
 * - abandon (an operator): any open order ends `cancelled` or `failed` with the operator's reason.
 *   A provider message about it afterwards (a late payment) is an exception, never absorbed.
 * - attach (an operator): the invoice of a parked or failed order was found at the provider;
 *   given its id and payment URL the order becomes `created` and is followed from there.
 * - reissue (an operator, providers that refuse a repeated foreign_id): the invoice of a parked
 *   order cannot be found (the platform has no lookup, and its URL was only in the lost answer), so
 *   a new one is created under a provider-side foreign_id derived from the order's. Callbacks for
 *   either id land on the order; money on the replaced one is an exception (track.ts).
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { FieldIssue } from '../errors.ts';
import { providerForeignId, type InvoiceRecord, type InvoiceStore } from './store.ts';
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

/** What repairs need of a lane: its create queue (to take a job out of the way) and what its provider refuses. */
export interface RepairLane {
  createQueue: { getJob(id: string): Promise<{ getState(): Promise<string>; remove(): Promise<void> } | undefined> };
  adapter: { uniqueForeignId: boolean };
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
  /** Sends an order's create job through its lane's queue again, with a fresh attempt budget (src/retry.ts `resendCreate`). */
  resend: (record: InvoiceRecord) => Promise<unknown>;
  /** Gives an order that became open its poll job (track.ts `schedulePoll`). */
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

/** The order system withdraws an order that has not reached the provider. */
export async function cancelBeforeSending(deps: RepairDeps, lane: string, foreignId: string, req: RepairRequest): Promise<RepairOutcome> {
  const sendable = (r: InvoiceRecord): boolean => r.status === 'queued' && r.submitting === null && !r.reconcile;
  const reason = `cancelled by ${who(req)} before it was sent: ${req.reason}`;
  const res = await deps.store.apply(lane, foreignId, { status: 'cancelled', source: `${req.via}:${req.by}`, reason, guard: sendable, fields: { reason } });
  let out: RepairOutcome;
  if (res.kind === 'missing') out = { outcome: 'not_found' };
  else if (res.kind === 'ignored') {
    const r = res.record;
    const why = isTerminal(r.status)
      ? `the order is already ${r.status}`
      : r.status === 'queued'
        ? 'a request for it may already be at the provider; an operator can abandon it'
        : `the invoice exists at the provider (${r.status}); it ends by payment or expiry, or an operator abandons it`;
    out = { outcome: 'refused', status: r.status, why };
  } else {
    await dropCreateJob(deps, lane, foreignId);
    out = { outcome: 'done', status: res.record.status, record: res.record };
  }
  audit(deps, 'order cancelled before sending', lane, foreignId, req, out);
  return out;
}

/** An operator ends an open order for good: `cancelled` (default) or `failed`. */
export async function abandon(deps: RepairDeps, lane: string, foreignId: string, req: RepairRequest & { status?: 'cancelled' | 'failed' }): Promise<RepairOutcome> {
  const to = req.status ?? 'cancelled';
  const reason = `abandoned by ${who(req)}: ${req.reason}`;
  const res = await deps.store.apply(lane, foreignId, {
    status: to,
    source: `operator:${req.by}`,
    reason,
    guard: (r) => !isTerminal(r.status),
    fields: { reason, reconcile: null, submitting: null, last_error: null },
  });
  let out: RepairOutcome;
  if (res.kind === 'missing') out = { outcome: 'not_found' };
  else if (res.kind === 'ignored') out = { outcome: 'refused', status: res.record.status, why: `the order is already ${res.record.status}` };
  else {
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
