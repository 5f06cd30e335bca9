/**
 * `invoice-repairs` processor: runs a repair an operator asked for in Bull Board, through the
 * same implementation as the API and the CLI (src/invoice/repair.ts). Done: the job completes
 * with the order's new status. Not possible (or no such order): the job fails at once with the
 * reason, and changes nothing.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { REPAIRS_QUEUE, parseRepairJob, repairDeps, type RepairJob } from '../queues/repairs.ts';
import { abandon, attach, reissue, type RepairOutcome } from '../src/invoice/repair.ts';
import { laneKey } from '../src/lanes.ts';
import type { WorkerContext } from './context.ts';

export function repairsProcessor(ctx: WorkerContext) {
  const deps = repairDeps({ store: ctx.store, lanes: ctx.lanes, log: ctx.log, track: ctx.track });
  return async (job: Job<RepairJob['data']>): Promise<{ outcome: 'done'; status: string; provider_foreign_id?: string }> => {
    const parsed = parseRepairJob(job.name, job.data);
    if ('issues' in parsed) throw new UnrecoverableError(`invalid repair job: ${parsed.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
    const { action, data } = parsed.job;
    const lane = laneKey(data.provider, data.account);
    const req = { by: data.by, via: data.via, reason: data.reason };
    let out: RepairOutcome;
    switch (parsed.job.action) {
      case 'attach': {
        const d = parsed.job.data;
        out = await attach(deps, lane, d.foreign_id, { ...req, providerInvoiceId: d.provider_invoice_id, paymentUrl: d.payment_url });
        break;
      }
      case 'reissue':
        out = await reissue(deps, lane, data.foreign_id, req);
        break;
      case 'abandon':
        out = await abandon(deps, lane, data.foreign_id, { ...req, status: parsed.job.data.status });
        break;
    }
    if (out.outcome === 'not_found') throw new UnrecoverableError(`${action}: no invoice for ${lane}/${data.foreign_id}`);
    if (out.outcome === 'refused') throw new UnrecoverableError(`${action} not possible: ${lane}/${data.foreign_id} is ${out.status}; ${out.why}`);
    const fid = out.record.provider_foreign_id;
    return { outcome: 'done', status: out.status, ...(fid ? { provider_foreign_id: fid } : {}) };
  };
}

export function startRepairsWorker(ctx: WorkerContext): Worker<RepairJob['data']> {
  const worker = new Worker<RepairJob['data']>(REPAIRS_QUEUE, repairsProcessor(ctx), {
    connection: ctx.connection,
    prefix: ctx.prefix,
    concurrency: 4,
    autorun: false,
    ...ctx.workerOptions,
  });
  worker.on('error', (err) => ctx.log.error({ err }, 'repairs worker error'));
  return worker;
}
