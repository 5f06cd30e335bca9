/**
 * Starts every processor of the worker role and stops them cleanly: one idempotent close that
 * stops taking work, waits (bounded) for jobs in flight and closes connections.
 */
import type { Worker } from 'bullmq';
import { startCreateWorker } from './create.ts';
import { startEventsWorker } from './events.ts';
import { startPollWorker } from './poll.ts';
import { QueuedSweeper } from './sweeper.ts';
import type { WorkerContext } from './context.ts';
import type { CreateQueue } from '../queues/create.ts';

export interface RunningWorkers {
  workers: Worker[];
  sweeper: QueuedSweeper;
  close(timeoutMs?: number): Promise<void>;
}

export function startWorkers(ctx: WorkerContext, createQueue: CreateQueue, options: { sweepIntervalMs?: number; sweepGraceMs?: number } = {}): RunningWorkers {
  const workers: Worker[] = [startCreateWorker(ctx), startEventsWorker(ctx), startPollWorker(ctx)];
  for (const w of workers) void w.run();
  const sweeper = new QueuedSweeper({
    store: ctx.store,
    createQueue,
    pollQueue: ctx.pollQueue,
    track: ctx.track,
    log: ctx.log,
    graceMs: options.sweepGraceMs,
  }).start(options.sweepIntervalMs);
  ctx.relay.start();
  let closing: Promise<void> | undefined;
  return {
    workers,
    sweeper,
    close(timeoutMs = 25_000) {
      closing ??= (async () => {
        sweeper.stop();
        const graceful = Promise.all(workers.map((w) => w.close()));
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        });
        const result = await Promise.race([graceful.then(() => 'ok' as const), timeout]);
        clearTimeout(timer);
        if (result === 'timeout') {
          // Jobs still running are left locked; BullMQ's stalled check hands them to another worker.
          ctx.log.warn({ timeoutMs }, 'workers did not finish in time; forcing close');
          await Promise.all(workers.map((w) => w.close(true)));
        }
        await ctx.relay.flush().catch(() => 0);
        await ctx.relay.close();
      })();
      return closing;
    },
  };
}
