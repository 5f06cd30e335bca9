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
 */
import type { Logger } from 'pino';
import type { InvoiceRecord, InvoiceStore } from './store.ts';
import { isTerminal, type Status } from './state.ts';

/** What repairs need of a lane's create queue: to take a waiting or failed job out of the way. */
export interface RepairLane {
  createQueue: { getJob(id: string): Promise<{ getState(): Promise<string>; remove(): Promise<void> } | undefined> };
}

export interface RepairDeps {
  store: InvoiceStore;
  lanes: ReadonlyMap<string, RepairLane>;
  log: Logger;
  /** The create job id of an order (queues/create.ts). */
  createJobId: (lane: string, foreignId: string) => string;
  /** Gives an order that became open its poll job (track.ts `schedulePoll`). */
  schedulePoll?: (lane: string, foreignId: string, record: InvoiceRecord) => Promise<unknown>;
}

export interface RepairRequest {
  /** Who (an operator's name, or the order system), for the history and the audit line. */
  by: string;
  /** Where it came from (api, cli). */
  via: string;
  /** Why, in the operator's words. */
  reason: string;
}

export type RepairOutcome =
  | { outcome: 'done'; status: Status; record: InvoiceRecord }
  | { outcome: 'not_found' }
  /** Not possible in this state: the status (and why) say what is possible instead. */
  | { outcome: 'refused'; status: Status; why: string };

/** Takes the order's create job out of the queue unless a worker holds it (which then finds the order done). */
async function dropCreateJob(deps: RepairDeps, lane: string, foreignId: string): Promise<void> {
  const job = await deps.lanes.get(lane)?.createQueue.getJob(deps.createJobId(lane, foreignId));
  if (!job) return;
  const state = await job.getState();
  if (state !== 'active' && state !== 'completed') await job.remove().catch(() => undefined);
}

function audit(deps: RepairDeps, what: string, lane: string, foreignId: string, req: RepairRequest, out: RepairOutcome): void {
  const fields = { lane, foreign_id: foreignId, by: req.by, via: req.via, why: req.reason, outcome: out.outcome, status: 'status' in out ? out.status : null };
  if (out.outcome === 'done') deps.log.info(fields, `${what}: done`);
  else deps.log.warn(fields, `${what}: refused`);
}

/** The order system withdraws an order that has not reached the provider. */
export async function cancelBeforeSending(deps: RepairDeps, lane: string, foreignId: string, req: RepairRequest): Promise<RepairOutcome> {
  const sendable = (r: InvoiceRecord): boolean => r.status === 'queued' && r.submitting === null && !r.reconcile;
  const reason = `cancelled by ${req.by} before it was sent: ${req.reason}`;
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
  const reason = `abandoned by ${req.by}: ${req.reason}`;
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

/**
 * An operator found the order's invoice at the provider. Allowed while the order is queued and
 * no request of ours is in flight that could still create another one: parked, or its submission
 * failed for good (or never ran).
 */
export async function attach(deps: RepairDeps, lane: string, foreignId: string, req: RepairRequest & { providerInvoiceId: string; paymentUrl: string }): Promise<RepairOutcome> {
  const job = await deps.lanes.get(lane)?.createQueue.getJob(deps.createJobId(lane, foreignId));
  const jobState = job ? await job.getState() : 'missing';
  const idle = ['failed', 'completed', 'missing'].includes(jobState);
  const reason = `attached by ${req.by}: ${req.reason}`;
  const res = await deps.store.apply(lane, foreignId, {
    status: 'created',
    source: `operator:${req.by}`,
    reason,
    guard: (r) => r.status === 'queued' && (!!r.reconcile || (idle && r.submitting === null) || jobState === 'failed'),
    fields: { provider_invoice_id: req.providerInvoiceId, payment_url: req.paymentUrl, provider_status: null, reconcile: null, submitting: null, last_error: null },
  });
  let out: RepairOutcome;
  if (res.kind === 'missing') out = { outcome: 'not_found' };
  else if (res.kind === 'ignored') {
    const r = res.record;
    out = {
      outcome: 'refused',
      status: r.status,
      why: r.status === 'queued' ? `its submission is still under way (job ${jobState}); attach once it is parked or failed` : `the order is already ${r.status}`,
    };
  } else {
    if (jobState === 'failed') await job?.remove().catch(() => undefined);
    await deps.schedulePoll?.(lane, foreignId, res.record);
    out = { outcome: 'done', status: 'created', record: res.record };
  }
  audit(deps, 'invoice attached', lane, foreignId, req, out);
  return out;
}
