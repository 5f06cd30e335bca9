/**
 * Starts every processor of the worker role (a create and a poll worker per lane this process
 * runs, one events worker, one for the operators' repairs from Bull Board) and stops them cleanly: one idempotent close that stops taking work,
 * waits (bounded) for jobs in flight and closes connections.
 */
import type { Worker } from 'bullmq';
import { startCreateWorker } from './create.ts';
import { startEventsWorker } from './events.ts';
import { drainLegacyQueues, type LegacyDrain } from './legacy.ts';
import { startPollWorker } from './poll.ts';
import { startRepairsWorker } from './repairs.ts';
import { startWebhooksWorker } from './webhooks.ts';
import { LostJobSweeper } from '../src/lost-jobs.ts';
import { PollScheduler } from '../src/poll-scheduler.ts';
import type { WorkerContext } from './context.ts';

export interface RunningWorkers {
  workers: Worker[];
  sweeper: LostJobSweeper;
  polls: PollScheduler;
  close(timeoutMs?: number): Promise<void>;
}

export function startWorkers(ctx: WorkerContext, options: { sweepIntervalMs?: number; sweepGraceMs?: number } = {}): RunningWorkers {
  const lanes = [...ctx.lanes.values()].filter((l) => !ctx.run || ctx.run.includes(l.key));
  const workers: Worker[] = [startEventsWorker(ctx), startRepairsWorker(ctx)];
  if (ctx.webhooks) workers.push(startWebhooksWorker(ctx, ctx.webhooks));
  for (const lane of lanes) workers.push(startCreateWorker(ctx, lane), startPollWorker(ctx, lane));
  for (const w of workers) void w.run();
  const legacy: Promise<LegacyDrain | undefined> = drainLegacyQueues(ctx.connection, ctx.prefix, ctx.lanes, ctx.log).catch((err: unknown) => {
    ctx.log.error({ err }, 'could not check the queues from before lanes');
    return undefined;
  });
  const sweeper = new LostJobSweeper({
    store: ctx.store,
    lanes: ctx.lanes,
    run: ctx.run,
    track: ctx.track,
    log: ctx.log,
    graceMs: options.sweepGraceMs,
  }).start(options.sweepIntervalMs);
  const polls = new PollScheduler({ store: ctx.store, lanes: ctx.lanes, run: ctx.run, log: ctx.log }).start();
  ctx.relay.start();
  let closing: Promise<void> | undefined;
  return {
    workers,
    sweeper,
    polls,
    close(timeoutMs = 25_000) {
      closing ??= (async () => {
        await sweeper.stop();
        await polls.stop();
        await (await legacy)?.close();
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
          // Bounded too: a worker whose connection never answers again (seen once after a sentinel
          // failover) must not keep the process from stopping; its connections end with the process.
          let forced: NodeJS.Timeout | undefined;
          const gaveUp = await Promise.race([
            Promise.all(workers.map((w) => w.close(true))).then(() => false),
            new Promise<boolean>((resolve) => (forced = setTimeout(() => resolve(true), 5000))),
          ]);
          clearTimeout(forced);
          if (gaveUp) ctx.log.error('workers did not close even when forced; stopping without them');
        }
        await ctx.relay.flush().catch(() => 0);
        await ctx.relay.close();
      })();
      return closing;
    },
  };
}
