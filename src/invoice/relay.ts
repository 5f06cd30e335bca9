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
import type { InvoiceStore, OutboxEntry } from './store.ts';
import { publishSpans } from '../observability/tracing.ts';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/** Extends the lock if it is still ours: 1, else 0 (it expired and maybe another relay took it). */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

// Removes the published entries from the head of the outbox only while they are still there, and
// renews the lock if it is still ours. A plain "LTRIM n" is not safe to run twice or late: a trim
// resent after its reply was lost (clients resend unanswered commands on reconnect) or one run
// after the lock expired and another relay already published and trimmed would drop entries
// that nobody published. KEYS: outbox, lock. ARGV: owner, lock ms, the published entries in order.
// Returns { entries removed, 1 if the lock is still ours else 0 }.
const TRIM = `
local n = #ARGV - 2
local head = redis.call('LRANGE', KEYS[1], 0, n - 1)
local same = 0
for i = 1, n do
  if head[i] ~= ARGV[i + 2] then break end
  same = i
end
if same > 0 then redis.call('LTRIM', KEYS[1], same, -1) end
local ours = 0
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  ours = 1
end
return { same, ours }
`;

/** The scripts above, defined once per connection so each call is an EVALSHA, not the script text. */
interface RelayScripts {
  iwRelayTrim(outbox: string, lock: string, owner: string, lockMs: number, ...entries: string[]): Promise<[number, number]>;
  iwRelayRelease(lock: string, owner: string): Promise<number>;
  iwRelayRenew(lock: string, owner: string, lockMs: number): Promise<number>;
}

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
    if (!('iwRelayRenew' in redis)) {
      redis.defineCommand('iwRelayTrim', { numberOfKeys: 2, lua: TRIM });
      redis.defineCommand('iwRelayRelease', { numberOfKeys: 1, lua: RELEASE });
      redis.defineCommand('iwRelayRenew', { numberOfKeys: 1, lua: RENEW });
    }
    this.scripts = redis as unknown as RelayScripts;
  }

  private readonly scripts: RelayScripts;

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
        const [, ours] = await this.scripts.iwRelayTrim(outbox, lockKey, this.owner, lockMs, ...items);
        total += entries.length;
        this.published += entries.length;
        this.options.onPublished?.(entries);
        if (!ours) lease.lose();
        // Size batches by time: a backlog drains in fewer, larger round trips while they are quick;
        // a slow one halves the next, so one batch stays well inside the lock.
        const took = performance.now() - started;
        if (took > (lockMs * 2) / 3) batch = Math.max(least, Math.floor(batch / 2));
        else if (items.length === batch && took < lockMs / 3) batch = Math.min(most, batch * 2);
      }
    } finally {
      lease.stop();
      await this.scripts.iwRelayRelease(lockKey, this.owner);
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
          .iwRelayRenew(lockKey, this.owner, lockMs)
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
