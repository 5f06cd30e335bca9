/**
 * `invoice-create.<lane>` processor: parse the job, ask the lane's breaker (src/lanes/gate.ts),
 * submit through the lane's adapter, and turn the outcome into BullMQ terms. Retries spend
 * attempts with backoff; a 429 slows this lane's queue alone (for `Retry-After` when the provider
 * says) without spending one, up to a ceiling; an open breaker holds the lane's orders back
 * without spending any; refusals end the job at once.
 */
import { UnrecoverableError, Worker } from 'bullmq';
import { CreateJobSchema, createJobLane, type CreateJob } from '../queues/create.ts';
import { MissingRecord, errorSummary } from '../src/errors.ts';
import { submitOrder, type SubmitDeps } from '../src/invoice/submit.ts';
import { firstPoll, schedulePoll } from '../src/invoice/polling.ts';
import type { InvoiceStore } from '../src/invoice/store.ts';
import { LaneGate, holdLane } from '../src/lanes/gate.ts';
import type { Lane } from '../src/lanes/lane.ts';
import type { WorkerContext } from './context.ts';
import { laneWorker, parseJob, type OutcomeProcessor } from './lane-worker.ts';

/** After this many throttled answers for one order, 429s start spending attempts. */
const RATE_LIMIT_CEILING = 50;

/** What `submitOrder` is given for a lane: its adapter, callback URLs, and the first poll, scheduled in the same step as the change to created. */
export function submitDeps(ctx: WorkerContext, lane: Lane): SubmitDeps {
  return {
    store: ctx.store,
    adapter: lane.adapter,
    callbackUrl: ctx.callbackUrl,
    firstPoll: (record) => firstPoll(lane, ctx.track, record),
  };
}

export function createProcessor(ctx: WorkerContext, lane: Lane, worker: () => Worker): OutcomeProcessor<CreateJob, { status: string }> {
  // The same for every job of the lane: made once, not per attempt.
  const deps = submitDeps(ctx, lane);
  const pauseQueue = (ms: number): Promise<void> => worker().rateLimit(ms);
  const breakerOpened = (key: string): void => ctx.metrics?.breakerOpened(key);
  return async (job, out, jobLog) => {
    const data = parseJob(CreateJobSchema, job);
    const { foreign_id } = data;
    if (createJobLane(data) !== lane.key) throw new UnrecoverableError(`job of lane ${createJobLane(data)} in the queue of lane ${lane.key}`);
    out.context({ foreign_id });
    // Only the breaker's rare lines need it: a child logger per job costs more than the job's own line.
    let child: ReturnType<typeof jobLog> | undefined;
    const gate = new LaneGate(lane, {
      pauseQueue,
      waits: (fields, msg) => out.debug(fields, msg),
      log: () => (child ??= jobLog().child({ foreign_id })),
      breakerOpened,
    });
    await gate.enter();

    const started = performance.now();
    const outcome = await submitOrder(deps, lane.key, foreign_id).catch((err: unknown) => {
      throw err instanceof MissingRecord ? new UnrecoverableError(err.message) : err;
    });
    const ms = Math.round(performance.now() - started);
    ctx.metrics?.submission(lane.provider, outcome.kind === 'rejected' && outcome.auth ? 'auth_error' : outcome.kind, lane.key);
    await gate.leave(outcome, ms);

    switch (outcome.kind) {
      case 'created':
        void ctx.relay.kick();
        out.info({ providerMs: ms, status: 'created' }, 'invoice created');
        return { status: 'created' };
      case 'done':
        void ctx.relay.kick();
        await schedulePoll(ctx, lane.key, foreign_id);
        out.info({ providerMs: ms, status: outcome.status }, 'already submitted');
        return { status: outcome.status };
      case 'parked':
        void ctx.relay.kick();
        out.warn({ providerMs: ms, reason: outcome.reason }, 'parked for reconciliation');
        return { status: 'queued' };
      case 'rejected':
        void ctx.relay.kick();
        if (outcome.auth) out.error({ providerMs: ms, reason: outcome.reason }, 'provider refused our credentials');
        else out.warn({ providerMs: ms, reason: outcome.reason }, 'provider rejected the order');
        throw new UnrecoverableError(outcome.reason);
      case 'rate-limited': {
        const { capacity, retryAfterMs } = outcome.error.hint;
        const waitMs = retryAfterMs ?? ctx.rateLimitDelayMs;
        ctx.metrics?.laneThrottled(lane.key, capacity ? 'capacity' : 'rate_limit');
        // A capacity limit is the account's state, not this order's: it never spends the order's attempts.
        if (capacity || outcome.hits <= RATE_LIMIT_CEILING) {
          out.warn(
            { providerMs: ms, hits: outcome.hits, waitMs, capacity: capacity ?? null },
            capacity ? 'account at a provider capacity limit; lane waits' : 'provider throttled us; slowing the lane',
          );
          return holdLane(lane, capacity ? 'capacity' : 'rate_limit', waitMs, pauseQueue);
        }
        out.failed(
          { providerMs: ms, hits: outcome.hits },
          'provider keeps throttling; spending an attempt',
          'provider kept throttling; submission failed for good; parked in the failed set',
        );
        throw outcome.error;
      }
      case 'retry':
        out.failed({ providerMs: ms, err: errorSummary(outcome.error) }, SUBMISSION.retry, SUBMISSION.final);
        throw outcome.error;
    }
  };
}

/** What a create attempt's line says when it failed without the processor saying more. */
const SUBMISSION = { retry: 'submission failed; will retry', final: 'submission failed for good; parked in the failed set' };

export function startCreateWorker(ctx: WorkerContext, lane: Lane): Worker<CreateJob> {
  return laneWorker(ctx, lane, {
    queue: 'create',
    processor: (worker) => createProcessor(ctx, lane, worker),
    lines: SUBMISSION,
    // Out of attempts: the job stays in the failed set, and the record says why (guarantee 2).
    onFinalFailure: (job, err) =>
      void markExhausted(ctx.store, lane.key, job.data, errorSummary(err)).catch((e: unknown) => ctx.log.error({ err: e }, 'could not record final failure')),
  });
}

async function markExhausted(store: InvoiceStore, lane: string, data: CreateJob, reason: string): Promise<void> {
  const rec = await store.get(lane, data.foreign_id);
  if (!rec || rec.status !== 'queued') return;
  await store.apply(lane, data.foreign_id, { source: 'create', fields: { last_error: `failed after retries: ${reason}` } });
}
