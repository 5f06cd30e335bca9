/**
 * `invoice-poll` processor: one poll of one invoice, then the same job goes back to delayed until
 * the invoice is terminal. Provider errors never fail the job (they only reschedule it); a 429
 * also pauses the whole queue for a while. The worker's limiter bounds lookups across every
 * process: BullMQ keeps the limiter per queue in Redis, so N workers share POLL_RATE_MAX.
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { POLL_QUEUE, PollJobSchema, type PollJob } from '../queues/poll.ts';
import { pollOnce } from '../src/invoice/track.ts';
import type { WorkerContext } from './context.ts';

export function pollProcessor(ctx: WorkerContext, worker: () => Worker) {
  return async (job: Job<PollJob>, token?: string): Promise<{ status: string }> => {
    const parsed = PollJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    const { provider } = parsed.data;
    const adapter = ctx.adapters.get(provider);
    if (!adapter) throw new Error(`provider ${provider} is not configured`);
    const log = ctx.log.child({ queue: POLL_QUEUE, jobId: job.id, provider });
    const started = performance.now();
    const outcome = await pollOnce({ store: ctx.store, adapter, settings: ctx.track }, parsed.data);
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
        log.warn({ ms }, 'provider throttled a lookup; slowing the poll queue');
        await worker().rateLimit(ctx.rateLimitDelayMs);
        break;
    }
    // Same job, same id, back to delayed: still exactly one poll job for this invoice.
    await job.moveToDelayed(outcome.at, token);
    throw new DelayedError();
  };
}

export function startPollWorker(ctx: WorkerContext): Worker<PollJob> {
  let worker: Worker<PollJob> | undefined;
  worker = new Worker<PollJob>(POLL_QUEUE, pollProcessor(ctx, () => worker as Worker), {
    connection: ctx.connection,
    prefix: ctx.prefix,
    concurrency: ctx.pollConcurrency,
    limiter: ctx.pollLimiter,
    autorun: false,
    ...ctx.workerOptions,
  });
  worker.on('failed', (job, err) => {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    ctx.log.error({ queue: POLL_QUEUE, jobId: job.id, provider: job.data.provider, attempts: job.attemptsMade, err: err.message }, 'polling stopped; parked in the failed set');
  });
  worker.on('error', (err) => ctx.log.error({ err }, 'poll worker error'));
  return worker;
}
