/**
 * The poll scheduler, run in the worker role beside the lost-job sweeper: it turns the first polls
 * that fell due in each lane's poll index (src/invoice/poll-index.ts) into poll jobs. From its first
 * poll on, an invoice is followed by its own delayed poll job (workers/poll.ts), as before.
 *
 * Why the first poll waits in an index instead of a delayed job added at creation: most invoices
 * end (paid, by callback) before their first poll is due (a minute for CryptoSteroid, five for the
 * platform). For those the job was pure cost: a BullMQ add of about ten commands inside Lua, a job
 * hash of about 600 bytes for as long as the invoice was open, and its removal. An index entry is
 * one ZADD and about 100 bytes, removed by the change that finishes the invoice.
 *
 * Claiming moves entries a lease ahead (`leaseMs`), so two worker processes never add the same
 * jobs twice in a row, and entries claimed by a process that died are claimed again when the
 * lease runs out. Adding is idempotent by job id: an invoice that already has its poll job keeps it;
 * jobs go through queues/poll.ts's typed enqueue, each checked against `PollJobSchema`.
 */
import type { Logger } from 'pino';
import { enqueuePoll, enqueuePollBulk, pollJobOf, type PollJob } from '../../queues/poll.ts';
import { isTerminal } from '../invoice/state.ts';
import type { InvoiceStore } from '../invoice/store.ts';
import type { Lanes } from '../lanes/lane.ts';
import { Periodic } from './periodic.ts';
import { inOrderTrace, tracingActive } from '../observability/tracing.ts';

export interface PollSchedulerDeps {
  store: InvoiceStore;
  lanes: Lanes;
  /** Lanes this process works (undefined: all). */
  run?: readonly string[];
  log: Logger;
  /** How often to look for due polls (ms). */
  intervalMs?: number;
  /** Entries claimed per round trip. */
  batch?: number;
  /** How long a claim holds entries back from other schedulers (ms). */
  leaseMs?: number;
}

export class PollScheduler {
  private readonly periodic = new Periodic(
    () => this.schedule(),
    (err) => this.deps.log.warn({ err }, 'poll scheduling failed; the claimed polls are tried again when their lease runs out'),
  );

  constructor(private readonly deps: PollSchedulerDeps) {}

  start(): this {
    this.periodic.start(this.deps.intervalMs ?? 250);
    return this;
  }

  /** Adds the poll jobs of every first poll due by `now`, lane by lane. Returns how many were added. */
  async schedule(now = Date.now()): Promise<number> {
    const batch = this.deps.batch ?? 500;
    let added = 0;
    for (const lane of this.deps.lanes.values()) {
      if (this.deps.run && !this.deps.run.includes(lane.key)) continue;
      // A bounded number of batches per lane and tick, so one lane's backlog never starves the others.
      for (let round = 0; round < 20; round++) {
        const ids = await this.deps.store.claimDuePolls(lane.key, now, batch, this.deps.leaseMs ?? 30_000);
        if (!ids.length) break;
        const targets = await Promise.all(ids.map((id) => this.deps.store.pollTarget(id)));
        const jobs: Array<{ data: PollJob; trace?: string }> = [];
        for (const t of targets) {
          // Finished or gone since it was scheduled (a late-arriving schedule): nothing to follow.
          if (t && t.status !== 'queued' && !isTerminal(t.status)) jobs.push({ data: pollJobOf(t).data, trace: t.trace });
        }
        if (tracingActive()) {
          // Each poll job in its own order's trace (one add each: a batch would be a trace of its own).
          await Promise.all(jobs.map((j) => inOrderTrace(j.trace, () => enqueuePoll(lane.pollQueue, j.data))));
        } else {
          await enqueuePollBulk(
            lane.pollQueue,
            jobs.map((j) => j.data),
          );
        }
        await this.deps.store.pollsScheduled(lane.key, ids);
        added += jobs.length;
        if (ids.length < batch) break;
      }
    }
    return added;
  }

  /** Stops the interval and waits (a bounded while) for a round in flight. */
  async stop(): Promise<void> {
    await this.periodic.stop();
  }
}
