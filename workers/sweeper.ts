/**
 * Safety net for guarantee 2: an order recorded as `queued` whose create job was never added
 * (the API process died between the two writes, or Redis refused the add) gets its job now.
 * Adding is idempotent by job id, so an order that has its job is left alone.
 */
import type { CreateQueue } from '../queues/create.ts';
import { enqueueCreate } from '../queues/create.ts';
import type { InvoiceStore } from '../src/invoice/store.ts';
import type { Logger } from 'pino';

export class QueuedSweeper {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly store: InvoiceStore,
    private readonly queue: CreateQueue,
    private readonly log: Logger,
    private readonly graceMs = 30_000,
  ) {}

  start(intervalMs = 15_000): this {
    this.timer = setInterval(() => void this.sweep().catch((err) => this.log.warn({ err }, 'sweep failed')), intervalMs);
    this.timer.unref();
    return this;
  }

  /** Re-adds the create job of every order queued longer than the grace period. Returns how many were checked. */
  async sweep(now = Date.now()): Promise<number> {
    if (this.busy) return 0;
    this.busy = true;
    try {
      const ids = await this.store.queuedBefore(now - this.graceMs);
      for (const id of ids) {
        const rec = await this.store.getById(id);
        if (!rec || rec.status !== 'queued' || rec.reconcile) continue;
        await enqueueCreate(this.queue, { v: 1, provider: rec.provider, kind: rec.kind, foreign_id: rec.foreign_id });
      }
      return ids.length;
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
