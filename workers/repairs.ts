/**
 * `invoice-repairs` processor: runs a repair an operator asked for in Bull Board, through the
 * same implementation as the API and the CLI (src/invoice/repair.ts). Done: the job completes
 * with the order's new status. Not possible (or no such order): the job fails at once with the
 * reason, and changes nothing.
 */
import { UnrecoverableError, type Job, type Worker } from 'bullmq';
import { startWorker, type OutcomeProcessor } from './lane-worker.ts';
import { REPAIRS_QUEUE, parseRepairJob, type RepairJob } from '../queues/repairs.ts';
import { repairDeps } from '../src/ops/repairs.ts';
import { abandon, acceptPayment, attach, reissue, type RepairOutcome } from '../src/invoice/repair.ts';
import { laneKey } from '../src/lanes/key.ts';
import type { WorkerContext } from './context.ts';

type RepairDone = { outcome: 'done'; status: string; provider_foreign_id?: string };

export function repairsProcessor(ctx: WorkerContext): OutcomeProcessor<RepairJob['data'], RepairDone> {
  const deps = repairDeps({ store: ctx.store, lanes: ctx.lanes, log: ctx.log, track: ctx.track });
  return async (job: Job<RepairJob['data']>, out) => {
    const parsed = parseRepairJob(job.name, job.data);
    if ('issues' in parsed) throw new UnrecoverableError(`invalid repair job: ${parsed.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
    const { action, data } = parsed.job;
    const lane = laneKey(data.provider, data.account);
    out.context({ lane, foreign_id: data.foreign_id, action, by: data.by });
    // `by` was written by the board's route (the signed-in user), never typed; a typed one is the note.
    const req = { by: data.by, via: data.via, reason: data.reason, ...(data.note ? { note: data.note } : {}) };
    let done: RepairOutcome;
    switch (parsed.job.action) {
      case 'attach': {
        const d = parsed.job.data;
        done = await attach(deps, lane, d.foreign_id, { ...req, providerInvoiceId: d.provider_invoice_id, paymentUrl: d.payment_url });
        break;
      }
      case 'reissue':
        done = await reissue(deps, lane, data.foreign_id, req);
        break;
      case 'abandon':
        done = await abandon(deps, lane, data.foreign_id, { ...req, status: parsed.job.data.status });
        break;
      case 'accept':
        done = await acceptPayment(deps, lane, data.foreign_id, req);
        break;
    }
    if (done.outcome === 'invalid') throw new UnrecoverableError(`${action} not possible: ${done.issues.map((i) => `${i.field} ${i.message}`).join('; ')}`);
    if (done.outcome === 'not_found') throw new UnrecoverableError(`${action}: no invoice for ${lane}/${data.foreign_id}`);
    if (done.outcome === 'refused') throw new UnrecoverableError(`${action} not possible: ${lane}/${data.foreign_id} is ${done.status}; ${done.why}`);
    const fid = done.record.provider_foreign_id;
    out.info({ status: done.status, ...(fid ? { provider_foreign_id: fid } : {}) }, 'repair done');
    return { outcome: 'done', status: done.status, ...(fid ? { provider_foreign_id: fid } : {}) };
  };
}

export function startRepairsWorker(ctx: WorkerContext): Worker<RepairJob['data']> {
  return startWorker(ctx, {
    queue: REPAIRS_QUEUE,
    name: 'repairs',
    prefix: ctx.prefix,
    concurrency: 4,
    processor: () => repairsProcessor(ctx),
    lines: { retry: 'repair failed; will retry', final: 'repair not done' },
  });
}
