/**
 * Whether Redis is answering, as the HTTP side needs to know it: a connection of its own PINGs a
 * few times a second (its commands time out, and fail at once while it is disconnected), so an
 * API request or a provider callback can be answered 503 with Retry-After within
 * `REDIS_UNAVAILABLE_MS` while Redis is frozen, down or failing over, instead of waiting for the
 * whole outage on connections that queue every command until Redis is back (BullMQ needs them
 * to: `maxRetriesPerRequest: null`).
 *
 * A request already waiting on Redis when it stopped answering is answered 503 at its deadline;
 * its commands still run if Redis comes back (each write is idempotent, by foreign_id and by job
 * id), so what it did is either complete or, for a producer that retries, answered `existing`.
 *
 * During an outage the log says so when it starts, then once per interval with how long and how
 * many requests were refused, and once when it ends: never a line per request or per command.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { connect, type RedisClient } from './connect.ts';

export interface RedisWatchOptions {
  url: string;
  connectionName: string;
  log: Logger;
  /** How long Redis may be silent before requests are refused (`REDIS_UNAVAILABLE_MS`). */
  unavailableMs: number;
  /** How often an ongoing outage is logged (with counts). */
  logEveryMs?: number;
}

export class RedisWatch {
  private readonly client: RedisClient;
  private timer: NodeJS.Timeout | undefined;
  /** When the PING still waiting for its answer was sent. */
  private sentAt: number | undefined;
  /** When the first of the PINGs failing since the last answer was sent. */
  private failingSince: number | undefined;
  /** The outage being logged: when it began, when it was last reported, requests refused since. */
  private outage: { since: number; reported: number; refused: number; total: number } | undefined;
  readonly pingEveryMs: number;

  constructor(private readonly opts: RedisWatchOptions) {
    this.pingEveryMs = Math.max(50, Math.min(250, Math.floor(opts.unavailableMs / 4)));
    this.client = connect(
      opts.url,
      {
        connectionName: opts.connectionName,
        // Fail at once while disconnected, and time out while connected to a Redis that does not
        // answer (frozen, or a network that drops packets): this connection only asks, never waits.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: opts.unavailableMs,
        retryStrategy: (times: number) => Math.min(times * 100, 1000),
        // On a Cluster the cluster client has a queue of its own, in front of the nodes' timeouts.
      },
      { enableOfflineQueue: false },
    );
    // Its connection errors are the outage lines below, not one line per reconnect attempt.
    this.client.on('error', () => undefined);
  }

  start(): this {
    this.timer = setInterval(() => this.ping(), this.pingEveryMs);
    this.timer.unref();
    return this;
  }

  private ping(): void {
    if (this.sentAt !== undefined) return this.check();
    const sentAt = Date.now();
    this.sentAt = sentAt;
    this.client
      .ping()
      .then(
        () => {
          this.failingSince = undefined;
          this.recovered();
        },
        () => void (this.failingSince ??= sentAt),
      )
      .finally(() => {
        this.sentAt = undefined;
        this.check();
      });
  }

  /**
   * How long Redis has failed to answer: the age of the PING waiting for its answer, or since the
   * first of the PINGs that failed in a row. Measured from when a PING was sent, not from the last
   * answer, so a process too busy to ask (its event loop held up) does not blame Redis.
   */
  silentMs(now = Date.now()): number {
    const waiting = this.sentAt === undefined ? 0 : now - this.sentAt;
    const failing = this.failingSince === undefined ? 0 : now - this.failingSince;
    return Math.max(0, waiting, failing);
  }

  /** False once Redis has not answered for `REDIS_UNAVAILABLE_MS`. */
  available(now = Date.now()): boolean {
    return this.silentMs(now) < this.opts.unavailableMs;
  }

  private check(): void {
    const now = Date.now();
    if (this.available(now)) return;
    const every = this.opts.logEveryMs ?? 10_000;
    if (!this.outage) {
      this.outage = { since: now - this.silentMs(now), reported: now, refused: 0, total: 0 };
      this.opts.log.error({ silentMs: this.silentMs(now) }, 'Redis is not answering: API requests and callbacks are answered 503 until it does');
    } else if (now - this.outage.reported >= every) {
      this.opts.log.error({ silentMs: this.silentMs(now), refusedRequests: this.outage.refused }, 'Redis still not answering');
      this.outage.reported = now;
      this.outage.refused = 0;
    }
  }

  private recovered(): void {
    if (!this.outage) return;
    const o = this.outage;
    this.outage = undefined;
    this.opts.log.warn({ downMs: Date.now() - o.since, refusedRequests: o.total }, 'Redis answering again');
  }

  /** Counts a request refused for it (reported with the outage's next line). */
  refused(): void {
    if (!this.outage) return;
    this.outage.refused++;
    this.outage.total++;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.client.disconnect();
  }
}

/** Marks a response answered for an outage; whatever its handler does once Redis is back is dropped. */
const ANSWERED = Symbol('answered while Redis was unavailable');

function unavailable(res: Response): void {
  (res.locals as Record<symbol, boolean>)[ANSWERED] = true;
  res.status(503).set('Retry-After', '1').json({ error: 'unavailable', message: 'storage is not answering (Redis restarting, failing over or unreachable); retry' });
}

/**
 * In front of every route that needs Redis: refused at once while Redis is known to be silent; a
 * request still waiting three quarters of `REDIS_UNAVAILABLE_MS` in is answered 503 if Redis has
 * been silent for at least half of it (a slow answer from a Redis that answers is waited for).
 */
export function redisDeadline(watch: RedisWatch, unavailableMs: number): RequestHandler {
  return (_req, res, next) => {
    if (!watch.available()) {
      watch.refused();
      return unavailable(res);
    }
    let timer: NodeJS.Timeout | undefined;
    const decide = (): void => {
      if (res.headersSent) return;
      if (watch.silentMs() >= unavailableMs / 2) {
        watch.refused();
        return unavailable(res);
      }
      timer = setTimeout(look, watch.pingEveryMs);
    };
    // After the I/O the event loop has waiting: a PONG that came while this process was busy is
    // counted before Redis is judged silent.
    const look = (): void => void setImmediate(decide);
    // First look a little before the bound, so the answer comes within it, not just after.
    timer = setTimeout(look, unavailableMs * 0.75);
    const done = (): void => clearTimeout(timer);
    res.once('finish', done);
    res.once('close', done);
    next();
  };
}

/** The error a handler meets when it answers a request already answered 503 above: expected, and dropped. */
export const lateAnswer: ErrorRequestHandler = (err, _req, res, next) => {
  if ((res.locals as Record<symbol, boolean>)[ANSWERED]) return;
  next(err);
};
