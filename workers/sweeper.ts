/**
 * Safety nets for guarantee 2, run in the worker role:
 * - an order recorded as `queued` whose create job was never added (the API process died between
 *   the two writes, or Redis refused the add) gets its job;
 * - an open invoice whose poll job is gone (removed by hand, lost with a Redis failover) gets a
 *   new one, so it is still followed to its end. This one is a rolling scan, a page per tick, so
 *   100,000 open invoices cost a few hundred EXISTS calls a tick, not a storm.
 * Adding is idempotent by job id, so work that has its job is left alone.
 */
import type { Logger } from 'pino';
import { enqueueCreate, type CreateQueue } from '../queues/create.ts';
import { pollJobId, type PollQueue } from '../queues/poll.ts';
import { decodeForeignId } from '../src/ids.ts';
import type { InvoiceStore } from '../src/invoice/store.ts';
import { schedulePoll, type TrackSettings } from '../src/invoice/track.ts';
import { PROVIDERS, type ProviderId } from '../src/invoice/order.ts';

export interface SweeperDeps {
  store: InvoiceStore;
  createQueue: CreateQueue;
  pollQueue?: PollQueue;
  track?: TrackSettings;
  log: Logger;
  graceMs?: number;
  openPageSize?: number;
  queuedPageSize?: number;
}

export class QueuedSweeper {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private openCursor = 0;
  private queuedCursor = 0;
  /** Poll jobs re-created so far (for tests and logs). */
  repaired = 0;

  constructor(private readonly deps: SweeperDeps) {}

  start(intervalMs = 15_000): this {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
    return this;
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.sweep();
      await this.sweepOpen();
    } catch (err) {
      this.deps.log.warn({ err }, 'sweep failed');
    } finally {
      this.busy = false;
    }
  }

  /** Re-adds the create job of a page of orders queued longer than the grace period. Returns how many were checked. */
  async sweep(now = Date.now()): Promise<number> {
    const { store, createQueue } = this.deps;
    const page = this.deps.queuedPageSize ?? 500;
    const ids = await store.queuedBefore(now - (this.deps.graceMs ?? 30_000), page, this.queuedCursor);
    this.queuedCursor = ids.length < page ? 0 : this.queuedCursor + ids.length;
    for (const id of ids) {
      const rec = await store.getById(id);
      if (!rec || rec.status !== 'queued' || rec.reconcile) continue;
      await enqueueCreate(createQueue, { v: 1, provider: rec.provider, kind: rec.kind, foreign_id: rec.foreign_id });
    }
    return ids.length;
  }

  /** Checks one page of open invoices for their poll job; re-creates the missing ones. Returns how many were re-created. */
  async sweepOpen(): Promise<number> {
    const { store, pollQueue, track } = this.deps;
    if (!pollQueue || !track) return 0;
    const { ids, next } = await store.openPage(this.openCursor, this.deps.openPageSize ?? 500);
    this.openCursor = next;
    if (!ids.length) return 0;
    const parsed = ids.map(parseInvoiceId);
    const pipeline = store.redis.pipeline();
    for (const p of parsed) if (p) pipeline.exists(pollQueue.toKey(pollJobId(p.provider, p.foreignId)));
    const exists = ((await pipeline.exec()) ?? []).map(([, v]) => v === 1);
    let repaired = 0;
    let i = 0;
    for (const p of parsed) {
      if (!p) continue;
      if (!exists[i++] && (await schedulePoll({ store, pollQueue, track }, p.provider, p.foreignId))) repaired++;
    }
    if (repaired) this.deps.log.warn({ repaired }, 'open invoices had lost their poll job; rescheduled');
    this.repaired += repaired;
    return repaired;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

function parseInvoiceId(id: string): { provider: ProviderId; foreignId: string } | null {
  const dot = id.indexOf('.');
  const provider = id.slice(0, dot);
  if (dot < 0 || !(PROVIDERS as readonly string[]).includes(provider)) return null;
  try {
    return { provider: provider as ProviderId, foreignId: decodeForeignId(id.slice(dot + 1)) };
  } catch {
    return null;
  }
}
