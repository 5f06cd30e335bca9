/**
 * `invoice-poll.<lane>` processor: one poll of one invoice, then the same job goes back to delayed
 * until the invoice is terminal. Provider errors never fail the job (they only reschedule it); a
 * 429 also pauses this lane's poll queue for a while. The worker's limiter bounds the lane's
 * lookups across every process: BullMQ keeps the limiter per queue in Redis, so N workers share it.
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { PollJobSchema, type PollJob } from '../queues/poll.ts';
import { pollOnce } from '../src/invoice/track.ts';
import { laneKey, type Lane } from '../src/lanes.ts';
import type { WorkerContext } from './context.ts';

export function pollProcessor(ctx: WorkerContext, lane: Lane, worker: () => Worker) {
  return async (job: Job<PollJob>, token?: string): Promise<{ status: string }> => {
    const parsed = PollJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    if (laneKey(parsed.data.provider, parsed.data.account) !== lane.key) throw new UnrecoverableError(`poll job of another lane in the queue of lane ${lane.key}`);
    const log = ctx.log.child({ queue: lane.pollQueue.name, jobId: job.id, lane: lane.key, attempt: job.attemptsMade + 1 });
    const started = performance.now();
    const outcome = await pollOnce({ store: ctx.store, lane, settings: ctx.track }, parsed.data);
    const ms = Math.round(performance.now() - started);
    switch (outcome.kind) {
      case 'done':
        if (outcome.published) void ctx.relay.kick();
        log.info({ ms, status: outcome.status }, 'polling finished');
        return { status: outcome.status };
      case 'again':
        if (outcome.published) void ctx.relay.kick();
        log.debug({ ms, status: outcome.status, inMs: outcome.at - Date.now() }, 'polled; next poll scheduled');
        break;
      case 'rate-limited':
        log.warn({ ms, waitMs: outcome.waitMs ?? ctx.rateLimitDelayMs }, "provider throttled a lookup; slowing the lane's polls");
        await worker().rateLimit(outcome.waitMs ?? ctx.rateLimitDelayMs);
        break;
    }
    // Same job, same id, back to delayed: still exactly one poll job for this invoice.
    await job.moveToDelayed(outcome.at, token);
    throw new DelayedError();
  };
}

export function startPollWorker(ctx: WorkerContext, lane: Lane): Worker<PollJob> {
  const worker: Worker<PollJob> = new Worker<PollJob>(
    lane.pollQueue.name,
    pollProcessor(ctx, lane, () => worker as Worker),
    {
      connection: ctx.connection,
      prefix: lane.prefix,
      concurrency: lane.tuning.pollConcurrency,
      limiter: lane.tuning.pollRateLimit,
      autorun: false,
      ...ctx.workerOptions,
    },
  );
  worker.on('failed', (job, err) => {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    ctx.log.error({ queue: lane.pollQueue.name, jobId: job.id, lane: lane.key, attempts: job.attemptsMade, err: err.message }, 'polling stopped; parked in the failed set');
  });
  worker.on('error', (err) => ctx.log.error({ err, lane: lane.key }, 'poll worker error'));
  return worker;
}
