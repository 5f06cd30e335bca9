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
import { schedulePoll, withoutPollJob } from '../../queues/poll.ts';
import { decodeForeignId } from '../ids.ts';
import { Periodic } from './periodic.ts';
import { laneOfId, type InvoiceStore, type StoreKeys } from '../invoice/store.ts';
import type { TrackSettings } from '../invoice/track.ts';
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
  private readonly openCursor = new Map<string, number>();
  private readonly queuedCursor = new Map<string, number>();
  private readonly periodic = new Periodic(
    async () => {
      await this.sweep();
      await this.sweepOpen();
      // Listing indexes keep no entry of a record past its retention (store.ts `trimListing`).
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
    let checked = 0;
    for (const keys of this.deps.store.allKeys()) checked += await this.sweepQueued(keys, now);
    return checked;
  }

  private async sweepQueued(keys: StoreKeys, now: number): Promise<number> {
    const { store } = this.deps;
    const page = this.deps.queuedPageSize ?? 500;
    const cursor = this.queuedCursor.get(keys.prefix) ?? 0;
    const ids = await store.queuedBefore(now - (this.deps.graceMs ?? 30_000), page, cursor, keys);
    this.queuedCursor.set(keys.prefix, ids.length < page ? 0 : cursor + ids.length);
    for (const id of ids) {
      const lane = this.deps.lanes.get(laneOfId(id));
      if (!lane || !this.mine(lane.key)) continue;
      const rec = await store.getById(id);
      if (!rec || rec.status !== 'queued' || rec.reconcile) continue;
      const job: CreateJob = { v: 1, provider: rec.provider, kind: rec.kind, foreign_id: rec.foreign_id };
      if (rec.account !== 'default') job.account = rec.account;
      await enqueueCreate(lane.createQueue, job);
    }
    return ids.length;
  }

  /** Checks one page of open invoices per lane prefix for their poll job; re-creates the missing ones. Returns how many were re-created. */
  async sweepOpen(): Promise<number> {
    const { store, track, lanes } = this.deps;
    if (!track) return 0;
    let repaired = 0;
    for (const keys of store.allKeys()) {
      const { ids, next } = await store.openPage(this.openCursor.get(keys.prefix) ?? 0, this.deps.openPageSize ?? 500, keys);
      this.openCursor.set(keys.prefix, next);
      // Grouped by lane: each lane's poll jobs live in its own queue (and slot).
      const byLane = new Map<string, string[]>();
      for (const p of ids.map(parseInvoiceId)) {
        if (p && this.mine(p.lane)) byLane.set(p.lane, [...(byLane.get(p.lane) ?? []), p.foreignId]);
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

function parseInvoiceId(id: string): { lane: string; foreignId: string } | null {
  const dot = id.indexOf('.');
  if (dot < 0) return null;
  try {
    return { lane: id.slice(0, dot), foreignId: decodeForeignId(id.slice(dot + 1)) };
  } catch {
    return null;
  }
}
