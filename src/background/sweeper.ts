/**
 * The lost-job sweeper: safety nets for guarantee 2, run in the worker role (it processes no
 * queue; it finds work whose job is missing and adds the job):
 * - an order recorded as `queued` whose create job was never added (the API process died between
 *   the two writes, or Redis refused the add) gets its job;
 * - an open invoice with neither its poll job nor a first poll in the poll index (removed by
 *   hand, lost with a Redis failover) is scheduled again, so it is still followed to its end.
 *   This one is a rolling scan, a page per tick, so 100,000 open invoices cost a few hundred
 *   EXISTS calls a tick, not a storm.
 * Adding is idempotent by job id, so work that has its job is left alone.
 */
import type { Logger } from 'pino';
import { enqueueCreate, type CreateJob } from '../../queues/create.ts';
import { pollJobId, type PollQueue } from '../../queues/poll.ts';
import { Periodic } from './periodic.ts';
import type { ScanCursor } from '../invoice/indexes.ts';
import { schedulePoll } from '../invoice/polling.ts';
import type { InvoiceStore } from '../invoice/store.ts';
import type { TrackSettings } from '../invoice/track.ts';
import { DEFAULT_ACCOUNT } from '../lanes/key.ts';
import type { Lanes } from '../lanes/lane.ts';

export interface SweeperDeps {
  store: InvoiceStore;
  lanes: Lanes;
  /** Lanes this process works (undefined: all): their orders are the ones it repairs. */
  run?: readonly string[];
  track?: TrackSettings;
  log: Logger;
  graceMs?: number;
  openPageSize?: number;
  queuedPageSize?: number;
}

export class LostJobSweeper {
  /** Rolling cursors, one per lane prefix (lanes with hash tags of their own have their own indexes). */
  private readonly openCursor: ScanCursor = new Map();
  private readonly queuedCursor: ScanCursor = new Map();
  private readonly periodic = new Periodic(
    async () => {
      await this.sweep();
      await this.sweepOpen();
      // Listing indexes keep no entry of a record past its retention (src/invoice/listing.ts `trim`).
      await this.deps.store.trimListing([...this.deps.lanes.keys()].filter((l) => this.mine(l)));
    },
    (err) => this.deps.log.warn({ err }, 'sweep failed'),
  );

  constructor(private readonly deps: SweeperDeps) {}

  start(intervalMs = 15_000): this {
    this.periodic.start(intervalMs);
    return this;
  }

  private mine(lane: string): boolean {
    return this.deps.lanes.has(lane) && (!this.deps.run || this.deps.run.includes(lane));
  }

  /** Re-adds the create job of a page of orders queued longer than the grace period, per lane prefix. Returns how many were checked. */
  async sweep(now = Date.now()): Promise<number> {
    const { store } = this.deps;
    let checked = 0;
    for await (const page of store.queuedScan(now - (this.deps.graceMs ?? 30_000), this.deps.queuedPageSize ?? 500, this.queuedCursor)) {
      for (const { id, lane: key } of page) {
        const lane = this.deps.lanes.get(key);
        if (!lane || !this.mine(lane.key)) continue;
        const rec = await store.getById(id);
        if (!rec || rec.status !== 'queued' || rec.reconcile) continue;
        const job: CreateJob = { v: 1, provider: rec.provider, kind: rec.kind, foreign_id: rec.foreign_id };
        if (rec.account !== DEFAULT_ACCOUNT) job.account = rec.account;
        await enqueueCreate(lane.createQueue, job);
      }
      checked += page.length;
    }
    return checked;
  }

  /** Checks one page of open invoices per lane prefix for their poll job; re-creates the missing ones. Returns how many were re-created. */
  async sweepOpen(): Promise<number> {
    const { store, track, lanes } = this.deps;
    if (!track) return 0;
    let repaired = 0;
    for await (const page of store.openScan(this.deps.openPageSize ?? 500, this.openCursor)) {
      // Grouped by lane: each lane's poll jobs live in its own queue (and slot).
      const byLane = new Map<string, string[]>();
      for (const p of page) {
        if (this.mine(p.lane)) byLane.set(p.lane, [...(byLane.get(p.lane) ?? []), p.foreignId]);
      }
      for (const [lane, foreignIds] of byLane) {
        const jobless = await withoutPollJob(lanes.get(lane)!.pollQueue, lane, foreignIds);
        // Before its first poll an invoice waits in the poll index, without a job: not lost.
        const waiting = await store.inPollIndex(lane, jobless);
        for (const [i, foreignId] of jobless.entries()) {
          if (!waiting[i] && (await schedulePoll({ store, lanes, track }, lane, foreignId))) repaired++;
        }
      }
    }
    if (repaired) this.deps.log.warn({ repaired }, 'open invoices had lost their poll job; scheduled again');
    return repaired;
  }

  /** Stops the interval and waits (a bounded while) for a sweep in flight, so nothing sweeps after it resolves. */
  async stop(): Promise<void> {
    await this.periodic.stop();
  }
}

/** The invoices of one lane, among these, that have no poll job (their job's state is `unknown`). */
async function withoutPollJob(queue: PollQueue, lane: string, foreignIds: readonly string[]): Promise<string[]> {
  if (!foreignIds.length) return [];
  const states = await Promise.all(foreignIds.map((id) => queue.getJobState(pollJobId(lane, id))));
  return foreignIds.filter((_, i) => states[i] === 'unknown');
}
