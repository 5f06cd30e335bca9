/**
 * The outbox relay: moves results from the store's outbox list to `invoice-results`, oldest
 * first. One relay at a time holds a short lock, so per-invoice order is the outbox order. Entries
 * are removed only after the queue accepted them; a crash in between re-adds them under the same
 * deterministic job ids, which BullMQ stores once. Exactly once, in order, even across crashes.
 *
 * The lock is renewed on a timer while a pass runs, not only between batches: under load a batch
 * waits behind every job's commands on the store's connection and once took longer than the whole
 * lock (3 s), which then expired mid-pass while the relay went on publishing as if it held it
 * (docs/soak.md). A relay that finds its lock gone stops after the batch in hand (its trim is safe
 * either way) and leaves the rest to whoever holds the lock now. Batches grow while the outbox
 * has a backlog and each batch is quick, so a backlog drains in fewer round trips.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { InvoiceResult } from './result.ts';
import type { OutboxEntry } from './outbox.ts';
import type { InvoiceStore } from './store.ts';
import { publishSpans } from '../observability/tracing.ts';
import { LuaScript, luaOn, type LuaOn } from '../redis/lua.ts';

/** The lock and the trim, one Lua step each (./lua/relay-*.lua say what each takes and returns). */
const SCRIPTS = {
  trim: new LuaScript<[outbox: string, lock: string, owner: string, lockMs: number, ...entries: string[]], [number, number, number]>(
    'iwRelayTrim',
    2,
    new URL('./lua/relay-trim.lua', import.meta.url),
  ),
  release: new LuaScript<[lock: string, owner: string], number>('iwRelayRelease', 1, new URL('./lua/relay-release.lua', import.meta.url)),
  renew: new LuaScript<[lock: string, owner: string, lockMs: number], number>('iwRelayRenew', 1, new URL('./lua/relay-renew.lua', import.meta.url)),
};

/**
 * The lock is renewed every third of this while a pass runs (and after every batch), so it only
 * has to outlive a third of itself plus a renewal's round trip, whatever a batch takes. Kept short because it also survives a Redis restart (AOF)
 * or a relay that froze: a long one would hold publication back that long.
 */
const DEFAULT_LOCK_MS = 3000;
/** Entries per batch at first (and at least); a backlog grows batches up to `maxBatch`. */
const DEFAULT_BATCH = 200;
const DEFAULT_MAX_BATCH = 2000;

/** Where results go (the `invoice-results` queue, queues/results.ts): added under their own job ids, so a re-add is one job. */
export interface ResultsSink {
  readonly name?: string;
  addBulk(jobs: Array<{ name: string; data: InvoiceResult; opts: { jobId: string; telemetry?: { metadata: string } } }>): Promise<unknown>;
}

export interface RelayOptions {
  /** Entries per batch at first and at least (200). */
  batch?: number;
  /**
   * Batches double while they come back full in under a third of the lock, up to this (2000),
   * and halve when one takes more than two thirds of it.
   */
  maxBatch?: number;
  intervalMs?: number;
  lockMs?: number;
  /** Told about every batch the results queue accepted (metrics); must not throw. */
  onPublished?: (entries: OutboxEntry[]) => void;
  /**
   * More places each batch goes (result webhooks), awaited before the outbox is trimmed: a crash
   * in between re-relays the batch, so the fan-out must be idempotent (job ids per result).
   */
  fanout?: (entries: OutboxEntry[]) => Promise<void>;
}

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly owner = randomUUID();
  published = 0;

  constructor(
    private readonly store: InvoiceStore,
    private readonly results: ResultsSink,
    private readonly log: Logger,
    private readonly options: RelayOptions = {},
  ) {
    const redis = store.outboxConnection();
    this.scripts = luaOn(redis, SCRIPTS);
  }

  private readonly scripts: LuaOn<typeof SCRIPTS>;

  /** Starts the safety-net interval (catches entries left by a process that died). */
  start(): this {
    this.timer = setInterval(() => this.kick(), this.options.intervalMs ?? 1000);
    this.timer.unref();
    return this;
  }

  /** Asks for a flush soon; concurrent kicks coalesce into one more pass. */
  kick(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.flush();
        } while (this.again && !this.closed);
      } catch (err) {
        this.log.warn({ err }, 'outbox relay pass failed');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Publishes everything in every lane prefix's outbox now. Returns how many entries were relayed. */
  async flush(): Promise<number> {
    let total = 0;
    // Each lane prefix has its own outbox and lock (in its own slot); order only matters per invoice, so per outbox.
    for (const keys of this.store.allKeys()) total += await this.flushOne(keys.outbox);
    return total;
  }

  private async flushOne(outbox: string): Promise<number> {
    const redis = this.store.outboxConnection();
    const least = this.options.batch ?? DEFAULT_BATCH;
    const most = Math.max(least, this.options.maxBatch ?? DEFAULT_MAX_BATCH);
    const lockMs = this.options.lockMs ?? DEFAULT_LOCK_MS;
    const lockKey = `${outbox}:lock`;
    let total = 0;
    const locked = await redis.set(lockKey, this.owner, 'PX', lockMs, 'NX');
    if (!locked) return 0; // another relay is at it; its pass will cover our entries
    const lease = this.renewWhileHeld(lockKey, lockMs);
    let batch = least;
    try {
      for (;;) {
        if (lease.lost) {
          this.log.warn({ outbox, published: total }, 'outbox relay lost its lock mid-pass; stopping, whoever holds it now goes on');
          break;
        }
        const started = performance.now();
        const items = await redis.lrange(outbox, 0, batch - 1);
        if (!items.length) break;
        const entries = items.map((s) => JSON.parse(s) as OutboxEntry);
        // Durability mode: a result is published only once a replica holds the change it announces
        // (a failover must never take back a state the order system was told about).
        await this.store.settle();
        // Tracing on: each result is published in its own order's trace (src/observability/tracing.ts).
        const spans = publishSpans(entries, this.results.name ?? 'invoice-results');
        try {
          await this.results.addBulk(entries.map((e, i) => ({ name: e.name, data: e.data, opts: { jobId: e.jobId, ...spans.telemetry(i) } })));
          await this.options.fanout?.(entries);
        } catch (err) {
          spans.end(err);
          throw err;
        }
        spans.end();
        // Only what we published is removed; entries appended meanwhile stay at the tail.
        const [, ours, left] = await this.scripts.trim(outbox, lockKey, this.owner, lockMs, ...items);
        total += entries.length;
        this.published += entries.length;
        this.options.onPublished?.(entries);
        if (!ours) lease.lose();
        // Nothing was appended meanwhile: done, without reading the empty outbox once more.
        if (left === 0 && !lease.lost) break;
        // Size batches by time: a backlog drains in fewer, larger round trips while they are quick;
        // a slow one halves the next, so one batch stays well inside the lock.
        const took = performance.now() - started;
        if (took > (lockMs * 2) / 3) batch = Math.max(least, Math.floor(batch / 2));
        else if (items.length === batch && took < lockMs / 3) batch = Math.min(most, batch * 2);
      }
    } finally {
      lease.stop();
      await this.scripts.release(lockKey, this.owner);
    }
    return total;
  }

  /**
   * Renews the lock every third of its time until stopped; `lost` turns true when a renewal (or a
   * batch's trim, `lose()`) finds it is no longer ours: it ran out while this process could not
   * renew it (a freeze, Redis away) and maybe another relay holds it now.
   */
  private renewWhileHeld(lockKey: string, lockMs: number): { readonly lost: boolean; lose(): void; stop(): void } {
    let lost = false;
    let renewing = false;
    const timer = setInterval(
      () => {
        if (renewing || lost) return;
        renewing = true;
        this.scripts
          .renew(lockKey, this.owner, lockMs)
          .then(
            (ok) => {
              if (!ok) lost = true;
            },
            // Redis away: the next tick tries again; if the lock runs out meanwhile, that one says so.
            () => undefined,
          )
          .finally(() => {
            renewing = false;
          });
      },
      Math.max(10, Math.floor(lockMs / 3)),
    );
    timer.unref();
    return {
      get lost() {
        return lost;
      },
      lose: () => {
        lost = true;
      },
      stop: () => clearInterval(timer),
    };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
    this.closed = true;
  }
}
