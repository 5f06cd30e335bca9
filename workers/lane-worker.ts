/**
 * What every processor shares: exactly one outcome line per job attempt, one way to build the
 * Worker (`startWorker`; `laneWorker` for a lane's queues) and one way to parse a job (`parseJob`).
 *
 * The outcome line carries the queue, the job id, the lane (or provider, or endpoint), the
 * duration in ms and `attempt: "N of M"`. A processor says what its attempt came to through
 * `out` (the last word wins); when it throws without saying (a Redis error, a bug) the line says
 * whether the job will retry or stays in the failed set. Lines about other things (a lane's
 * breaker opening) are the processor's own and stay on `log`.
 */
import { DelayedError, RateLimitError, UnrecoverableError, WaitingChildrenError, WaitingError, Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { errorSummary } from '../src/errors.ts';
import type { Lane } from '../src/lanes/lane.ts';
import type { WorkerContext } from './context.ts';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** What one attempt came to, as the processor says it. */
export interface JobOutcome {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
  /** A failure that may be retried: `msg` while attempts are left, `finalMsg` (at error) on the last one. */
  failed(fields: Record<string, unknown>, msg: string, finalMsg: string): void;
  /** Fields the line carries whatever it says (what the processor learnt from the parsed job). */
  context(fields: Record<string, unknown>): void;
}

export interface OutcomeLines {
  /** The queue's name, as the line names it. */
  queue: string;
  /** `lane`, `provider` or `endpoint` of the job, for the line (read from the raw job data: it may be invalid). */
  about: (job: Job) => Record<string, unknown>;
  /** Said when the processor threw without saying what happened. */
  retry: string;
  final: string;
}

/** `log` gives the attempt's logger (queue, job id and lane bound), made on first use: most attempts write only their outcome line. */
export type OutcomeProcessor<D, R> = (job: Job<D>, out: JobOutcome, log: () => Logger, token?: string) => Promise<R>;

/** The errors by which a processor hands its job back to wait (a lane paused, a poll later): not failures. */
function handedBack(err: unknown): boolean {
  return err instanceof RateLimitError || err instanceof DelayedError || err instanceof WaitingError || err instanceof WaitingChildrenError;
}

/** What one attempt said (the last word wins) and the fields its line carries; one object per attempt, no closures. */
class Attempt implements JobOutcome {
  said: { level: Level; fields: Record<string, unknown>; msg: string; finalMsg?: string } | undefined;
  fields: Record<string, unknown> | undefined;

  debug(fields: Record<string, unknown>, msg: string): void {
    this.said = { level: 'debug', fields, msg };
  }
  info(fields: Record<string, unknown>, msg: string): void {
    this.said = { level: 'info', fields, msg };
  }
  warn(fields: Record<string, unknown>, msg: string): void {
    this.said = { level: 'warn', fields, msg };
  }
  error(fields: Record<string, unknown>, msg: string): void {
    this.said = { level: 'error', fields, msg };
  }
  failed(fields: Record<string, unknown>, msg: string, finalMsg: string): void {
    this.said = { level: 'warn', fields, msg, finalMsg };
  }
  context(fields: Record<string, unknown>): void {
    this.fields = { ...this.fields, ...fields };
  }
}

/** Wraps a processor so each attempt writes exactly one outcome line. */
export function withOutcomeLine<D, R>(rootLog: Logger, lines: OutcomeLines, processor: OutcomeProcessor<D, R>): Processor<D, R> {
  return async (job: Job<D>, token?: string): Promise<R> => {
    const started = performance.now();
    const attempts = job.opts.attempts ?? 1;
    const attempt = job.attemptsMade + 1;
    const bindings = { queue: lines.queue, jobId: job.id, ...lines.about(job as Job) };
    let child: Logger | undefined;
    const log = (): Logger => (child ??= rootLog.child(bindings));
    const out = new Attempt();
    const write = (final: boolean, fallback: { level: Level; msg: string; err?: unknown }): void => {
      // The same fields a child logger would bind, without making one for each attempt.
      const fields = { ...bindings, ...out.fields, ms: Math.round(performance.now() - started), attempt: `${attempt} of ${attempts}` };
      const said = out.said;
      if (said && final && said.finalMsg) rootLog.error({ ...fields, ...said.fields }, said.finalMsg);
      else if (said) rootLog[said.level]({ ...fields, ...said.fields }, said.msg);
      else rootLog[fallback.level]({ ...fields, ...(fallback.err !== undefined ? { err: errorSummary(fallback.err) } : {}) }, fallback.msg);
    };
    try {
      const result = await processor(job, out, log, token);
      write(false, DONE);
      return result;
    } catch (err) {
      if (handedBack(err)) write(false, WAITS);
      else {
        const final = err instanceof UnrecoverableError || attempt >= attempts;
        write(final, final ? { level: 'error', msg: lines.final, err } : { level: 'warn', msg: lines.retry, err });
      }
      throw err;
    }
  };
}

const DONE = { level: 'info', msg: 'job done' } as const;
const WAITS = { level: 'debug', msg: 'job waits' } as const;

/**
 * BullMQ's Worker, except that a rate-limit wait begun once close() has started returns at once.
 * close() aborts the wait running when it is called, but a job still in flight that ends in a pause
 * (a 429, a capacity limit, an open breaker: `rateLimit` then `RateLimitError`) sends the main loop
 * into a new wait of up to `maximumRateLimitDelay` (30 s), which close() then awaited: SIGTERM
 * took 30 s whenever a lane paused during shutdown, past a default Kubernetes grace period.
 * Nothing is lost by not waiting: the paused jobs are already back in the queue.
 */
export class ClosableWorker<D = unknown, R = unknown> extends Worker<D, R> {
  override async delay(...args: Parameters<Worker['delay']>): Promise<void> {
    if (this.closing) return;
    await super.delay(...args);
  }
}

/** How one queue's Worker is built: its queue, where and how fast it works, its processor and its lines. */
export interface WorkerSpec<D, R> {
  /** The queue's name, as BullMQ and the outcome line name it. */
  queue: string;
  /** Names the worker in its error line: `<name> worker error`. */
  name: string;
  /** Key prefix of the queue: a lane's own, or the system's. */
  prefix: string;
  concurrency: number;
  /** BullMQ's limiter: at most `max` jobs per `duration` ms across every process working the queue. */
  limiter?: { max: number; duration: number };
  /** BullMQ worker settings (a backoff strategy of its own). */
  settings?: WorkerOptions['settings'];
  /** Fields of every line about this worker, its outcome lines and its error line (`lane` for a lane's queue). */
  fields?: Record<string, unknown>;
  processor: (worker: () => Worker) => OutcomeProcessor<D, R>;
  lines: Pick<OutcomeLines, 'retry' | 'final'>;
  /** Told once a job has failed for good (out of attempts, or unrecoverable). */
  onFinalFailure?: (job: Job<D>, err: Error) => void;
}

/** A queue's Worker (not yet running): its concurrency and limiter, the outcome lines, the failed and error listeners. */
export function startWorker<D, R>(ctx: Pick<WorkerContext, 'connection' | 'log' | 'workerOptions'>, spec: WorkerSpec<D, R>): Worker<D, R> {
  const fields = spec.fields ?? {};
  const lines: OutcomeLines = { queue: spec.queue, about: () => fields, ...spec.lines };
  const worker: Worker<D, R> = new ClosableWorker<D, R>(
    spec.queue,
    withOutcomeLine(
      ctx.log,
      lines,
      spec.processor(() => worker as Worker),
    ),
    {
      connection: ctx.connection,
      prefix: spec.prefix,
      concurrency: spec.concurrency,
      ...(spec.limiter ? { limiter: spec.limiter } : {}),
      autorun: false,
      ...ctx.workerOptions,
      ...(spec.settings ? { settings: spec.settings } : {}),
    },
  );
  worker.on('failed', (job, err) => {
    if (!job || !spec.onFinalFailure) return;
    if (err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1)) spec.onFinalFailure(job, err);
  });
  worker.on('error', (err) => ctx.log.error({ err, ...fields }, `${spec.name} worker error`));
  return worker;
}

export interface LaneWorkerSpec<D, R> extends Pick<WorkerSpec<D, R>, 'processor' | 'lines' | 'onFinalFailure'> {
  /** Which of the lane's queues: `create` or `poll`. */
  queue: 'create' | 'poll';
}

/** The Worker of one of a lane's queues: the lane's prefix, and the queue's concurrency and limiter from the lane's tuning. */
export function laneWorker<D, R>(ctx: WorkerContext, lane: Lane, spec: LaneWorkerSpec<D, R>): Worker<D, R> {
  const create = spec.queue === 'create';
  return startWorker(ctx, {
    queue: create ? lane.createQueue.name : lane.pollQueue.name,
    name: spec.queue,
    prefix: lane.prefix,
    concurrency: create ? lane.tuning.concurrency : lane.tuning.pollConcurrency,
    limiter: create ? lane.tuning.rateLimit : lane.tuning.pollRateLimit,
    fields: { lane: lane.key },
    processor: spec.processor,
    lines: spec.lines,
    onFinalFailure: spec.onFinalFailure,
  });
}

/** A job's data, checked against its queue's schema: data that does not fit fails the job at once, naming the fields. */
export function parseJob<S extends z.ZodType>(schema: S, job: Pick<Job, 'data'>): z.output<S> {
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  return parsed.data;
}
