/**
 * `invoice-events` processor: parse the stored callback, apply it to its invoice, publish. An
 * event for an invoice we do not hold is retried with backoff (a record written by another
 * process may still be on its way) and then stays in the failed set for an operator: it was
 * authentic, so it is never dropped (README guarantee 2).
 */
import type { Worker } from 'bullmq';
import { EVENTS_QUEUE, EventJobSchema, type EventJob } from '../queues/events.ts';
import { schedulePoll } from '../src/invoice/polling.ts';
import { UnknownInvoice, handleEvent } from '../src/invoice/track.ts';
import type { WorkerContext } from './context.ts';
import { parseJob, startWorker, type OutcomeProcessor } from './lane-worker.ts';

const CALLBACK = { retry: 'callback could not be applied; will retry', final: 'callback could not be applied; parked in the failed set' };

export function eventsProcessor(ctx: WorkerContext): OutcomeProcessor<EventJob, { outcome: string; status?: string }> {
  return async (job, out) => {
    const data = parseJob(EventJobSchema, job);
    const { provider, update } = data;
    out.context({ provider });
    const outcome = await handleEvent(ctx.store, data);
    switch (outcome.kind) {
      case 'missing':
        out.failed({ providerStatus: update.providerStatus }, 'callback for an unknown invoice; will retry', `callback for an unknown invoice; ${CALLBACK.final}`);
        throw new UnknownInvoice(`no invoice record for this ${provider} callback (provider invoice ${update.providerInvoiceId ?? 'unknown'})`);
      case 'applied':
        void ctx.relay.kick();
        // Still open (e.g. adopted from `queued`): make sure it is being polled.
        await schedulePoll(ctx, outcome.record.lane, outcome.record.foreign_id, Date.now(), outcome.record);
        out.info({ status: outcome.record.status, adopted: outcome.adopted }, 'callback applied');
        return { outcome: 'applied', status: outcome.record.status };
      case 'ignored':
        out.info({ status: outcome.record.status, proposed: update.status, why: outcome.reason }, 'callback changes nothing');
        return { outcome: outcome.reason, status: outcome.record.status };
      case 'parked':
        void ctx.relay.kick();
        out.warn({ status: outcome.record.status, reason: outcome.reason }, 'callback parked for an operator');
        return { outcome: 'parked', status: outcome.record.status };
      case 'payment':
        void ctx.relay.kick();
        out.info({ status: outcome.record.status, receivedAmount: update.receivedAmount }, 'callback brought more money under the same status; payment event published');
        return { outcome: 'payment', status: outcome.record.status };
      case 'exception':
        void ctx.relay.kick();
        out.warn({ status: outcome.record.status, type: outcome.type, providerStatus: update.providerStatus }, 'provider news after the end; exception published');
        return { outcome: 'exception', status: outcome.record.status };
    }
  };
}

export function startEventsWorker(ctx: WorkerContext): Worker<EventJob> {
  return startWorker(ctx, {
    queue: EVENTS_QUEUE,
    name: 'events',
    prefix: ctx.prefix,
    concurrency: ctx.eventsConcurrency,
    processor: () => eventsProcessor(ctx),
    lines: CALLBACK,
  });
}
