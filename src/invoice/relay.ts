/**
 * The outbox relay: moves results from the store's outbox list to `invoice-results`, oldest
 * first. One relay at a time holds a short lock, so per-invoice order is the outbox order. Entries
 * are removed only after the queue accepted them; a crash in between re-adds them under the same
 * deterministic job ids, which BullMQ stores once. Exactly once, in order, even across crashes.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { InvoiceResult } from './result.ts';
import type { InvoiceStore, OutboxEntry } from './store.ts';
import { publishSpans } from '../tracing.ts';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

// Removes the published entries from the head of the outbox only while they are still there, and
// renews the lock if it is still ours. A plain "LTRIM n" is not safe to run twice or late: a trim
// resent after its reply was lost (clients resend unanswered commands on reconnect) or one run
// after the lock expired and another relay already published and trimmed would drop entries
// that nobody published. KEYS: outbox, lock. ARGV: owner, lock ms, the published entries in order.
const TRIM = `
local n = #ARGV - 2
local head = redis.call('LRANGE', KEYS[1], 0, n - 1)
local same = 0
for i = 1, n do
  if head[i] ~= ARGV[i + 2] then break end
  same = i
end
if same > 0 then redis.call('LTRIM', KEYS[1], same, -1) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return same
`;

/** The scripts above, defined once per connection so each call is an EVALSHA, not the script text. */
interface RelayScripts {
  iwRelayTrim(outbox: string, lock: string, owner: string, lockMs: number, ...entries: string[]): Promise<number>;
  iwRelayRelease(lock: string, owner: string): Promise<number>;
}

/**
 * The lock is renewed after every batch, so it only has to outlive one batch. Kept short because
 * it also survives a Redis restart (AOF): a long one would hold publication back that long.
 */
const DEFAULT_LOCK_MS = 3000;

/** Where results go (the `invoice-results` queue, queues/results.ts): added under their own job ids, so a re-add is one job. */
export interface ResultsSink {
  readonly name?: string;
  addBulk(jobs: Array<{ name: string; data: InvoiceResult; opts: { jobId: string; telemetry?: { metadata: string } } }>): Promise<unknown>;
}

export interface RelayOptions {
  batch?: number;
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
    if (!('iwRelayTrim' in redis)) {
      redis.defineCommand('iwRelayTrim', { numberOfKeys: 2, lua: TRIM });
      redis.defineCommand('iwRelayRelease', { numberOfKeys: 1, lua: RELEASE });
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
    const batch = this.options.batch ?? 200;
    const lockMs = this.options.lockMs ?? DEFAULT_LOCK_MS;
    const lockKey = `${outbox}:lock`;
    let total = 0;
    const locked = await redis.set(lockKey, this.owner, 'PX', lockMs, 'NX');
    if (!locked) return 0; // another relay is at it; its pass will cover our entries
    try {
      for (;;) {
        const items = await redis.lrange(outbox, 0, batch - 1);
        if (!items.length) break;
        const entries = items.map((s) => JSON.parse(s) as OutboxEntry);
        // Durability mode: a result is published only once a replica holds the change it announces
        // (a failover must never take back a state the order system was told about).
        await this.store.settle();
        // Tracing on: each result is published in its own order's trace (src/tracing.ts).
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
        await this.scripts.iwRelayTrim(outbox, lockKey, this.owner, lockMs, ...items);
        total += entries.length;
        this.published += entries.length;
        this.options.onPublished?.(entries);
      }
    } finally {
      await this.scripts.iwRelayRelease(lockKey, this.owner);
    }
    return total;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
    this.closed = true;
  }
}
