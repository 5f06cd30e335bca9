/**
 * Durability mode (`DURABILITY=replica`): the writes that matter are acknowledged, or acted on, only
 * once Redis `WAIT` says `DURABILITY_REPLICAS` replicas hold them. Without it, Redis replicates
 * asynchronously and a primary that dies (then a promoted replica) loses the last writes it had
 * already answered, including orders the API answered 202.
 *
 * What WAIT covers. WAIT is per connection: it blocks until the replicas acknowledged the
 * replication offset of that connection's last write. Every write of the invoice store goes
 * through its own connection (`storeRedis` in src/system.ts), and ioredis sends a connection's
 * commands in the order they are called (auto-pipelines are sent one after the other), so a WAIT
 * called after a write's reply came back is executed after that write. A replica applies the
 * replication stream in order, so once it has offset N it has every write before N, whichever
 * connection or process made it. Before each WAIT this module writes a small fence key on the
 * same connection: that moves the connection's offset past everything this process has seen, so
 * the WAIT also covers a record another process wrote (an `existing` answer for an order some other
 * API process accepted a moment ago) and never returns early for lack of a write of our own.
 *
 * Reconnects. A WAIT that ioredis re-sends on a new connection (the old one closed, e.g. the primary
 * died; see `autoResendUnfulfilledCommands`) would measure the new connection, which wrote nothing:
 * it could report replicas for writes that were lost with the old primary. Each caller therefore
 * takes a `mark()` (the connection's epoch, bumped on every close) before its writes, and a
 * confirmation only counts when no close happened between the mark and the WAIT's reply.
 *
 * Cost. Off: no object, no extra command (the store checks for `undefined`). On: one fence write
 * and one WAIT per group of confirmations (group commit): every caller that asks while a WAIT is
 * pending joins it, and callers that ask while one is in flight share the next one. A batch of
 * 1,000 accepts is one WAIT; 50 concurrent submissions are a WAIT or two per round trip to the
 * replica. WAIT blocks the store connection while it runs, so this process's other store commands
 * wait behind it: about one primary-to-replica round trip when the replica is healthy, up to
 * `DURABILITY_TIMEOUT_MS` when it is not.
 *
 * Redis Cluster: refused by the configuration (WAIT would have to go to the node that owns the
 * prefix's slot, on the very connection that wrote there; not done here).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Where a confirmation is asked for, for logs, errors and the shortfall metric. */
export const DURABLE_POINTS = ['accept', 'submit', 'created', 'terminal', 'settle'] as const;
export type DurablePoint = (typeof DURABLE_POINTS)[number];

/**
 * A replica did not confirm in time (or the connection changed under the WAIT). Carries HTTP 503
 * for the API (the producer retries; orders are idempotent by foreign_id) and is an ordinary,
 * retryable error for a job.
 */
export class DurabilityShortfall extends Error {
  override name = 'DurabilityShortfall';
  readonly code = 'DURABILITY_SHORTFALL';
  /** The status an HTTP layer should answer with, and that its message may be shown. */
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = true;
  constructor(
    readonly point: DurablePoint,
    /** Replicas that acknowledged (0 after a reconnect). */
    readonly acked: number,
    readonly wanted: number,
    readonly reason: 'timeout' | 'reconnected',
  ) {
    super(
      reason === 'reconnected'
        ? `not confirmed by a replica: the Redis connection was re-established before WAIT answered (${point})`
        : `not confirmed by a replica: ${acked} of ${wanted} acknowledged in time (${point}); please retry`,
    );
  }
}

export interface DurabilityOptions {
  /** Replicas that must acknowledge (`DURABILITY_REPLICAS`). */
  replicas: number;
  /** How long one WAIT may block (`DURABILITY_TIMEOUT_MS`). */
  timeoutMs: number;
  /** The fence key written before each WAIT (one per deployment, e.g. `<prefix>:store:fence`). */
  fenceKey: string;
  log?: Logger;
}

interface Waiter {
  point: DurablePoint;
  mark: number;
  resolve(): void;
  reject(err: Error): void;
}

/** WAIT-based confirmation on the store's connection. One per connection. */
export class Durability {
  private epoch = 0;
  private pending: Waiter[] | undefined;
  private inflight = false;
  /** Counters since start: WAITs sent, confirmations given, shortfalls (each caller counted). */
  readonly stats = { waits: 0, confirmed: 0, shortfalls: 0 };
  /**
   * Shortfalls by point since start (each caller counted: a batch of 1,000 accepts that one WAIT
   * failed to confirm is 1,000 at `accept`), for `invoice_worker_durability_shortfall_total`.
   */
  readonly shortfallsAt: Record<DurablePoint, number> = { accept: 0, submit: 0, created: 0, terminal: 0, settle: 0 };

  constructor(
    private readonly redis: Redis,
    readonly options: DurabilityOptions,
  ) {
    redis.on('close', () => {
      this.epoch++;
    });
  }

  /** Take before the writes a later `confirm` must cover. */
  mark(): number {
    return this.epoch;
  }

  /**
   * Resolves once the writes this connection issued before the call (and every write before them)
   * are on the replicas; rejects with `DurabilityShortfall` when they are not confirmed in time, or
   * with the connection's error.
   */
  confirm(point: DurablePoint, mark: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { point, mark, resolve, reject };
      if (this.pending) {
        this.pending.push(waiter);
        return;
      }
      this.pending = [waiter];
      // Everyone who asks in this turn of the event loop (a batch's accepts resolve together) joins.
      if (!this.inflight) process.nextTick(() => this.flush());
    });
  }

  /** Confirms everything this process has written or read so far (a fence, then WAIT). */
  settle(): Promise<void> {
    return this.confirm('settle', this.mark());
  }

  /** Logs a shortfall the caller decided to carry on after (created, terminal). Never throws. */
  degraded(err: unknown, context: Record<string, unknown>): void {
    this.options.log?.warn({ ...context, err: err instanceof Error ? err.message : String(err) }, 'durability: change written on the primary but not confirmed by a replica');
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = undefined;
    if (!batch?.length) return;
    this.inflight = true;
    this.stats.waits++;
    const { replicas, timeoutMs, fenceKey } = this.options;
    // Both go out in the same write (auto-pipelined), after every command called before them.
    const fence = this.redis.set(fenceKey, String(Date.now()));
    const wait = this.redis.wait(replicas, timeoutMs);
    Promise.all([fence, wait])
      .then(
        ([, acked]) => {
          const now = this.epoch;
          let short = 0;
          for (const w of batch) {
            if (w.mark !== now) w.reject(new DurabilityShortfall(w.point, 0, replicas, 'reconnected'));
            else if (acked < replicas) w.reject(new DurabilityShortfall(w.point, acked, replicas, 'timeout'));
            else {
              w.resolve();
              continue;
            }
            short++;
            this.shortfallsAt[w.point]++;
          }
          this.stats.confirmed += batch.length - short;
          this.stats.shortfalls += short;
          if (short) this.options.log?.warn({ acked, wanted: replicas, timeoutMs, callers: short, points: [...new Set(batch.map((w) => w.point))] }, 'durability: WAIT fell short');
        },
        (err: unknown) => {
          this.stats.shortfalls += batch.length;
          for (const w of batch) {
            this.shortfallsAt[w.point]++;
            w.reject(err instanceof Error ? err : new Error(String(err)));
          }
        },
      )
      .finally(() => {
        this.inflight = false;
        // Those who asked while this WAIT ran share the next one.
        if (this.pending) this.flush();
      });
  }
}
