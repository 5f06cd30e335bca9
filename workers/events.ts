/**
 * `invoice-events` processor: parse the stored callback, apply it to its invoice, publish. An
 * event for an invoice we do not hold is retried with backoff (a record written by another
 * process may still be on its way) and then stays in the failed set for an operator: it was
 * authentic, so it is never dropped (README guarantee 2).
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { EVENTS_QUEUE, EventJobSchema, type EventJob } from '../queues/events.ts';
import { schedulePoll } from '../queues/poll.ts';
import { UnknownInvoice, handleEvent } from '../src/invoice/track.ts';
import type { WorkerContext } from './context.ts';

export function eventsProcessor(ctx: WorkerContext) {
  return async (job: Job<EventJob>): Promise<{ outcome: string; status?: string }> => {
    const parsed = EventJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    const { provider, update } = parsed.data;
    const log = ctx.log.child({ queue: EVENTS_QUEUE, jobId: job.id, provider, attempt: job.attemptsMade + 1 });
    const started = performance.now();
    const outcome = await handleEvent(ctx.store, parsed.data);
    const ms = Math.round(performance.now() - started);
    switch (outcome.kind) {
      case 'missing':
        log.warn({ ms, providerStatus: update.providerStatus, of: job.opts.attempts ?? 1 }, 'callback for an unknown invoice; will retry');
        throw new UnknownInvoice(`no invoice record for this ${provider} callback (provider invoice ${update.providerInvoiceId ?? 'unknown'})`);
      case 'applied':
        void ctx.relay.kick();
        // Still open (e.g. adopted from `queued`): make sure it is being polled.
        await schedulePoll(ctx, outcome.record.lane, outcome.record.foreign_id, Date.now(), outcome.record);
        log.info({ ms, status: outcome.record.status, adopted: outcome.adopted }, 'callback applied');
        return { outcome: 'applied', status: outcome.record.status };
      case 'ignored':
        log.info({ ms, status: outcome.record.status, proposed: update.status, why: outcome.reason }, 'callback changes nothing');
        return { outcome: outcome.reason, status: outcome.record.status };
      case 'parked':
        void ctx.relay.kick();
        log.warn({ ms, status: outcome.record.status, reason: outcome.reason }, 'callback parked for an operator');
        return { outcome: 'parked', status: outcome.record.status };
      case 'payment':
        void ctx.relay.kick();
        log.info({ ms, status: outcome.record.status, receivedAmount: update.receivedAmount }, 'callback brought more money under the same status; payment event published');
        return { outcome: 'payment', status: outcome.record.status };
      case 'exception':
        void ctx.relay.kick();
        log.warn({ ms, status: outcome.record.status, type: outcome.type, providerStatus: update.providerStatus }, 'provider news after the end; exception published');
        return { outcome: 'exception', status: outcome.record.status };
    }
  };
}

export function startEventsWorker(ctx: WorkerContext): Worker<EventJob> {
  const worker = new Worker<EventJob>(EVENTS_QUEUE, eventsProcessor(ctx), {
    connection: ctx.connection,
    prefix: ctx.prefix,
    concurrency: ctx.eventsConcurrency,
    autorun: false,
    ...ctx.workerOptions,
  });
  worker.on('failed', (job, err) => {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    ctx.log.error(
      { queue: EVENTS_QUEUE, jobId: job.id, provider: job.data.provider, attempts: job.attemptsMade, err: err.message },
      'callback could not be applied; parked in the failed set',
    );
  });
  worker.on('error', (err) => ctx.log.error({ err }, 'events worker error'));
  return worker;
}
