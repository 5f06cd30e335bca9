/**
 * `invoice-create` processor: parse the job, submit through the provider adapter, and turn the
 * outcome into BullMQ terms. Retries spend attempts with backoff; 429 slows the whole queue
 * without spending one (up to a ceiling); refusals end the job at once.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { CREATE_QUEUE, CreateJobSchema, type CreateJob } from '../queues/create.ts';
import { submitOrder, describe, type SubmitDeps } from '../src/invoice/submit.ts';
import type { InvoiceStore } from '../src/invoice/store.ts';
import { schedulePoll } from '../src/invoice/track.ts';
import type { ProviderAdapter } from '../src/providers/types.ts';
import type { ProviderId } from '../src/invoice/order.ts';
import type { WorkerContext } from './context.ts';

/** After this many throttled answers for one order, 429s start spending attempts. */
const RATE_LIMIT_CEILING = 50;

/** Errors whose attempt the processor already logged, so the `failed` listener does not log them twice. */
const LOGGED = new WeakSet<Error>();
function logged<E extends Error>(err: E): E {
  LOGGED.add(err);
  return err;
}

export function createProcessor(ctx: WorkerContext, worker: () => Worker) {
  return async (job: Job<CreateJob>): Promise<{ status: string }> => {
    const parsed = CreateJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    const { provider, foreign_id } = parsed.data;
    const log = ctx.log.child({ queue: CREATE_QUEUE, jobId: job.id, provider, foreign_id, attempt: job.attemptsMade + 1 });
    const adapter = ctx.adapters.get(provider as ProviderId);
    if (!adapter) throw new Error(`provider ${provider} is not configured`);
    const started = performance.now();
    const deps: SubmitDeps = { store: ctx.store, adapter, callbackUrl: ctx.callbackUrl };
    const outcome = await submitOrder(deps, provider, foreign_id);
    const ms = Math.round(performance.now() - started);
    ctx.metrics?.submission(provider, outcome.kind === 'rejected' && outcome.auth ? 'auth_error' : outcome.kind);
    switch (outcome.kind) {
      case 'created':
        void ctx.relay.kick();
        // Before the job completes: a crash here re-runs the job, which lands in 'done' below.
        await schedulePoll(ctx, provider, foreign_id, Date.now(), outcome.record);
        log.info({ ms, status: 'created' }, 'invoice created');
        return { status: 'created' };
      case 'done':
        void ctx.relay.kick();
        await schedulePoll(ctx, provider, foreign_id);
        log.info({ ms, status: outcome.status }, 'already submitted');
        return { status: outcome.status };
      case 'parked':
        log.warn({ ms, reason: outcome.reason }, 'parked for reconciliation');
        return { status: 'queued' };
      case 'rejected':
        void ctx.relay.kick();
        if (outcome.auth) log.error({ ms, reason: outcome.reason }, 'provider refused our credentials');
        else log.warn({ ms, reason: outcome.reason }, 'provider rejected the order');
        throw logged(new UnrecoverableError(outcome.reason));
      case 'rate-limited':
        if (outcome.hits <= RATE_LIMIT_CEILING) {
          log.warn({ ms, hits: outcome.hits }, 'provider throttled us; slowing the queue');
          await worker().rateLimit(ctx.rateLimitDelayMs);
          throw Worker.RateLimitError();
        }
        log.warn({ ms, hits: outcome.hits }, 'provider keeps throttling; spending an attempt');
        throw logged(outcome.error);
      case 'retry': {
        const attempts = job.opts.attempts ?? 1;
        if (job.attemptsMade + 1 >= attempts) log.error({ ms, err: describe(outcome.error), of: attempts }, 'submission failed for good; parked in the failed set');
        else log.warn({ ms, err: describe(outcome.error), of: attempts }, 'submission failed; will retry');
        throw logged(outcome.error);
      }
    }
  };
}

export function startCreateWorker(ctx: WorkerContext): Worker<CreateJob> {
  let worker: Worker<CreateJob> | undefined;
  worker = new Worker<CreateJob>(CREATE_QUEUE, createProcessor(ctx, () => worker as Worker), {
    connection: ctx.connection,
    prefix: ctx.prefix,
    concurrency: ctx.concurrency,
    autorun: false,
    ...ctx.workerOptions,
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) {
      // An error the processor did not expect (Redis, a bug) still gets its one outcome line.
      if (!LOGGED.has(err)) ctx.log.warn({ queue: CREATE_QUEUE, jobId: job.id, provider: job.data.provider, attempt: job.attemptsMade, err: describe(err) }, 'submission failed; will retry');
      return;
    }
    // Out of attempts: the job stays in the failed set, and the record says why (guarantee 2).
    void markExhausted(ctx.store, job.data, describe(err)).catch((e) => ctx.log.error({ err: e }, 'could not record final failure'));
    // The processor already wrote this attempt's outcome line for the failures it understood.
    if (LOGGED.has(err)) return;
    ctx.log.error({ queue: CREATE_QUEUE, jobId: job.id, provider: job.data.provider, attempts: job.attemptsMade, err: describe(err) }, 'submission failed for good; parked in the failed set');
  });
  worker.on('error', (err) => ctx.log.error({ err }, 'create worker error'));
  return worker;
}

async function markExhausted(store: InvoiceStore, data: CreateJob, reason: string): Promise<void> {
  const rec = await store.get(data.provider, data.foreign_id);
  if (!rec || rec.status !== 'queued') return;
  await store.apply(data.provider, data.foreign_id, { source: 'create', fields: { last_error: `failed after retries: ${reason}` } });
}

export type { ProviderAdapter };
