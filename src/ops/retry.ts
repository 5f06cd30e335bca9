/**
 * Operator retries of submissions, shared by the API, the CLI and (for listing) the ops tools.
 * They work on the create queues' jobs (failed set, attempts, job state), so this lives beside the
 * queues rather than in the invoice domain.
 * A retry only sends the create job back through the same idempotent processor: an order that
 * already reached the provider is answered as done, and one parked for reconciliation is re-sent
 * only after the operator confirms the provider does not hold it.
 */
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { createJobId, enqueueCreate, type CreateJob, type CreateQueue } from '../../queues/create.ts';
import { DEFAULT_ACCOUNT } from '../lanes/key.ts';
import type { ProviderId } from '../invoice/order.ts';
import type { InvoiceRecord } from '../invoice/record.ts';
import type { InvoiceStore } from '../invoice/store.ts';

export interface RetryDeps {
  store: InvoiceStore;
  /** Every lane's create queue, by lane key. */
  lanes: ReadonlyMap<string, { provider: string; account: string; createQueue: CreateQueue }>;
  log: Logger;
  onRetried?: (count: number) => void;
}

export interface RetryRequest {
  /** The actor (the API key id, the signed-in user, the CLI's operator), for the history and the audit line. */
  by: string;
  /** What the caller said about who asked (a body's `by`): kept beside the actor, never as it. */
  note?: string;
  /** Where the request came from (api, cli). */
  via: string;
  /** The operator checked at the provider that no invoice exists for a parked order. */
  confirmNotCreated?: boolean;
}

export type RetryOutcome =
  | { outcome: 'retrying'; previous_job_state: string }
  | { outcome: 'not_found' }
  | { outcome: 'not_retryable'; status: string }
  | { outcome: 'needs_reconciliation'; reconcile: string };

/** Sends one order's create job back to its lane's queue (the single-invoice retry). `lane` is the lane key. */
export async function retrySubmission(deps: RetryDeps, lane: string, foreignId: string, req: RetryRequest): Promise<RetryOutcome> {
  const record = await deps.store.get(lane, foreignId);
  if (!record) return { outcome: 'not_found' };
  if (record.status !== 'queued') return { outcome: 'not_retryable', status: record.status };
  const queue = deps.lanes.get(lane)?.createQueue;
  if (!queue) return { outcome: 'not_retryable', status: `${record.status} (lane ${lane} is not configured here)` };
  if (record.reconcile) {
    if (!req.confirmNotCreated) return { outcome: 'needs_reconciliation', reconcile: record.reconcile };
    // Written to the history: this is the decision that may make a second invoice if it was wrong.
    const who = req.note && req.note !== req.by ? `${req.by} (note: ${req.note})` : req.by;
    await deps.store.apply(lane, foreignId, {
      source: `operator:${req.by}`,
      reason: `confirmed not created at the provider by ${who}; sent again (was: ${record.reconcile})`,
      recorded: true,
      fields: { reconcile: null, submitting: null, last_error: null },
    });
  }
  const state = await resendCreate(queue, record);
  deps.log.info(
    {
      lane,
      foreign_id: foreignId,
      jobId: createJobId(lane, foreignId),
      by: req.by,
      ...(req.note ? { note: req.note } : {}),
      via: req.via,
      previousJobState: state,
      confirmedNotCreated: !!record.reconcile,
    },
    'submission retried',
  );
  deps.onRetried?.(1);
  return { outcome: 'retrying', previous_job_state: state };
}

/**
 * Sends an order's create job through its lane's queue again, with a fresh attempt budget (the
 * operator acts after fixing the cause, so backoff starts over). Answers the job's state before.
 */
export async function resendCreate(queue: CreateQueue, record: Pick<InvoiceRecord, 'provider' | 'account' | 'kind' | 'foreign_id' | 'lane'>): Promise<string> {
  const data: CreateJob = { v: 1, provider: record.provider, kind: record.kind, foreign_id: record.foreign_id };
  if (record.account !== DEFAULT_ACCOUNT) data.account = record.account;
  const job = await queue.getJob(createJobId(record.lane, record.foreign_id));
  const state = job ? await job.getState() : 'missing';
  if (job && state === 'failed') await job.retry('failed', { resetAttemptsMade: true });
  else if (job && state === 'completed') {
    await job.remove();
    await enqueueCreate(queue, data);
  } else if (!job) await enqueueCreate(queue, data);
  // waiting, delayed or active: it is already on its way; nothing to add.
  return state;
}

export interface FailedFilter {
  provider?: string;
  /** With `provider`: only this account's lane. */
  account?: string;
  /** Case-insensitive substring of the job's failure reason or the record's last error. */
  reason?: string;
  limit?: number;
}

export interface FailedItem {
  provider: ProviderId;
  account: string;
  /** The lane key (`provider` or `provider@account`), as the retry calls take it. */
  lane: string;
  foreign_id: string;
  job_id: string;
  attempts: number;
  failed_reason: string;
  failed_at: string | null;
  /** The invoice's status (`queued` when nothing reached the provider), or `missing`. */
  status: string;
  last_error: string | null;
  reconcile: string | null;
  /** Whether a bulk retry would send it again (queued and not parked for reconciliation). */
  retryable: boolean;
}

const PAGE = 500;

/** Jobs in the lanes' create failed sets that match, lane by lane, oldest failure first, with their record. */
export async function listFailed(deps: Pick<RetryDeps, 'store' | 'lanes'>, filter: FailedFilter = {}): Promise<FailedItem[]> {
  const limit = filter.limit ?? 100;
  const out: FailedItem[] = [];
  for (const [key, lane] of deps.lanes) {
    if (out.length >= limit) break;
    if (filter.provider && lane.provider !== filter.provider) continue;
    if (filter.account && lane.account !== filter.account) continue;
    await listFailedIn(deps.store, key, lane.createQueue, filter, limit, out);
  }
  return out;
}

async function listFailedIn(store: InvoiceStore, lane: string, queue: CreateQueue, filter: FailedFilter, limit: number, out: FailedItem[]): Promise<void> {
  const needle = filter.reason?.toLowerCase();
  const total = (await queue.getJobCounts('failed')).failed ?? 0;
  // Read the whole matching page set first; retrying while paging would shift the pages.
  for (let start = 0; start < total && out.length < limit; start += PAGE) {
    const jobs = (await queue.getJobs(['failed'], start, start + PAGE - 1, true)) as Array<Job<CreateJob> | undefined>;
    if (!jobs.length) break;
    const candidates = jobs.filter((j): j is Job<CreateJob> => !!j?.data?.provider);
    const records = await Promise.all(candidates.map((j) => store.get(lane, j.data.foreign_id)));
    candidates.forEach((job, i) => {
      if (out.length >= limit) return;
      const record = records[i];
      const failedReason = job.failedReason ?? '';
      if (needle && !failedReason.toLowerCase().includes(needle) && !(record?.last_error ?? '').toLowerCase().includes(needle)) return;
      out.push({
        provider: job.data.provider,
        account: job.data.account ?? DEFAULT_ACCOUNT,
        lane,
        foreign_id: job.data.foreign_id,
        job_id: String(job.id),
        attempts: job.attemptsMade,
        failed_reason: failedReason,
        failed_at: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
        status: record?.status ?? 'missing',
        last_error: record?.last_error ?? null,
        reconcile: record?.reconcile ?? null,
        retryable: record?.status === 'queued' && !record.reconcile,
      });
    });
  }
}

export interface BulkRetryResult {
  dry_run: boolean;
  matched: number;
  retried: Array<{ provider: string; foreign_id: string }>;
  skipped: Array<{ provider: string; foreign_id: string; why: string }>;
}

/** Retries every matching failed submission (up to `limit`); with `dryRun`, only says what it would do. */
export async function retryFailed(deps: RetryDeps, filter: FailedFilter, req: RetryRequest & { dryRun?: boolean }): Promise<BulkRetryResult> {
  const items = await listFailed(deps, filter);
  const result: BulkRetryResult = { dry_run: !!req.dryRun, matched: items.length, retried: [], skipped: [] };
  for (const item of items) {
    const ref = { provider: item.provider, account: item.account, foreign_id: item.foreign_id };
    if (!item.retryable) {
      result.skipped.push({ ...ref, why: item.reconcile ? 'needs reconciliation: retry it alone with confirmation' : `invoice is ${item.status}` });
      continue;
    }
    if (req.dryRun) {
      result.retried.push(ref);
      continue;
    }
    // Never confirms reconciliation in bulk: that takes a look at the provider, order by order.
    const outcome = await retrySubmission(deps, item.lane, item.foreign_id, { by: req.by, note: req.note, via: req.via });
    if (outcome.outcome === 'retrying') result.retried.push(ref);
    else result.skipped.push({ ...ref, why: outcome.outcome === 'not_retryable' ? `invoice is ${outcome.status}` : outcome.outcome });
  }
  deps.log.info(
    {
      by: req.by,
      ...(req.note ? { note: req.note } : {}),
      via: req.via,
      dryRun: !!req.dryRun,
      provider: filter.provider ?? null,
      reason: filter.reason ?? null,
      matched: result.matched,
      retried: result.retried.length,
      skipped: result.skipped.length,
    },
    'bulk retry of failed submissions',
  );
  return result;
}
