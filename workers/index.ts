/**
 * Starts everything the worker role runs: a create and a poll worker per lane this process runs,
 * one worker for the stored provider callbacks, one for the operators' repairs from Bull Board,
 * one for result webhooks when they are configured; the drain of the queues from before lanes,
 * the lost-job sweeper, the poll scheduler and the outbox relay. Stops them cleanly: one
 * idempotent close that stops taking work, waits (bounded) for jobs in flight, publishes the
 * outbox one last time and closes connections.
 */
import type { Worker } from 'bullmq';
import { startCreateWorker } from './create.ts';
import { startEventsWorker } from './events.ts';
import { drainLegacyQueues, type LegacyDrain } from './legacy.ts';
import { startPollWorker } from './poll.ts';
import { startRepairsWorker } from './repairs.ts';
import { startWebhooksWorker } from './webhooks.ts';
import { LostJobSweeper } from '../src/background/sweeper.ts';
import { PollScheduler } from '../src/background/poll-scheduler.ts';
import { within } from '../src/background/within.ts';
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
        const graceful = await within(Promise.all(workers.map((w) => w.close())), timeoutMs, 'closing the workers').then(
          () => true,
          () => false,
        );
        if (!graceful) {
          // Jobs still running are left locked; BullMQ's stalled check hands them to another worker.
          ctx.log.warn({ timeoutMs }, 'workers did not finish in time; forcing close');
          // Bounded too, then cut: a worker whose connection never answers again (seen after a
          // sentinel failover) must neither keep this from returning nor keep the process alive.
          await within(Promise.all(workers.map((w) => w.close(true))), 5000, 'forcing the workers closed').catch(async () => {
            ctx.log.error('workers did not close even when forced; disconnecting them');
            await within(Promise.all(workers.map((w) => w.disconnect())), 2000, 'disconnecting the workers').catch(() => undefined);
          });
        }
        // The last publication pass, bounded like the rest: what it leaves, the next relay publishes.
        await within(ctx.relay.flush(), 5000, 'the last relay pass').catch(() => 0);
        await ctx.relay.close();
      })();
      return closing;
    },
  };
}
