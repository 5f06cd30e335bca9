/**
 * `invoice-poll.<lane>` processor: one poll of one invoice, then the same job goes back to delayed
 * until the invoice is terminal. Provider errors never fail the job (they only reschedule it); a
 * 429 also pauses this lane's poll queue for a while. The worker's limiter bounds the lane's
 * lookups across every process: BullMQ keeps the limiter per queue in Redis, so N workers share it.
 */
import { DelayedError, UnrecoverableError, Worker } from 'bullmq';
import { PollJobSchema, type PollJob } from '../queues/poll.ts';
import { pollOnce } from '../src/invoice/polling.ts';
import { laneKey } from '../src/lanes/key.ts';
import type { Lane } from '../src/lanes/lane.ts';
import type { WorkerContext } from './context.ts';
import { laneWorker, parseJob, type OutcomeProcessor } from './lane-worker.ts';

export function pollProcessor(ctx: WorkerContext, lane: Lane, worker: () => Worker): OutcomeProcessor<PollJob, { status: string }> {
  return async (job, out, _log, token) => {
    const data = parseJob(PollJobSchema, job);
    if (laneKey(data.provider, data.account) !== lane.key) throw new UnrecoverableError(`poll job of another lane in the queue of lane ${lane.key}`);
    out.context({ foreign_id: data.foreign_id });
    const outcome = await pollOnce({ store: ctx.store, lane, settings: ctx.track }, data);
    switch (outcome.kind) {
      case 'done':
        if (outcome.published) void ctx.relay.kick();
        out.info({ status: outcome.status }, 'polling finished');
        return { status: outcome.status };
      case 'again':
        if (outcome.published) void ctx.relay.kick();
        out.debug({ status: outcome.status, inMs: outcome.at - Date.now() }, 'polled; next poll scheduled');
        break;
      case 'rate-limited':
        out.warn({ waitMs: outcome.waitMs ?? ctx.rateLimitDelayMs }, "provider throttled a lookup; slowing the lane's polls");
        await worker().rateLimit(outcome.waitMs ?? ctx.rateLimitDelayMs);
        break;
    }
    // Same job, same id, back to delayed: still exactly one poll job for this invoice.
    await job.moveToDelayed(outcome.at, token);
    throw new DelayedError();
  };
}

export function startPollWorker(ctx: WorkerContext, lane: Lane): Worker<PollJob> {
  return laneWorker(ctx, lane, {
    queue: 'poll',
    processor: (worker) => pollProcessor(ctx, lane, worker),
    lines: { retry: 'poll failed; will retry', final: 'polling stopped; parked in the failed set' },
  });
}
