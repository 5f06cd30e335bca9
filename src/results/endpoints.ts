/**
 * Result webhook endpoints: besides the `invoice-results` queue, order systems register HTTPS
 * endpoints that receive every result as a signed Standard Webhooks request (./signing.ts): the
 * body is the result JSON, `webhook-id` its `event_id` (the same on every redelivery, so a
 * receiver dedupes on it).
 *
 * Endpoints live in Redis (one hash); their secrets never reach logs or list answers (shown once,
 * when created or rotated). Deliveries are jobs of `result-webhooks` (queues/webhooks.ts), added
 * by the relay's fan-out (./fanout.ts) and sent by ./delivery.ts. Per endpoint, the results of one
 * invoice are delivered in order: each delivery names the one before it, and waits until that one
 * is done (the marks kept here, beside each delivery's attempts).
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { newEndpointSecret, secretIssue, type EndpointSecret } from './signing.ts';

/** A `whsec_` secret of at least 24 bytes that is neither one repeated byte nor the specification's published example. */
export const Secret = z.string().superRefine((v, ctx) => {
  const issue = secretIssue(v);
  if (issue) ctx.addIssue({ code: 'custom', message: issue });
});

export interface Endpoint {
  id: string;
  url: string;
  description?: string;
  status: 'enabled' | 'disabled';
  disabled_reason?: string;
  disabled_at?: string;
  created_at: string;
  secrets: EndpointSecret[];
  /** Registered by an API key limited to these lanes: it receives only their results. Absent: every lane. */
  lanes?: string[];
}

/** What an answer may show of an endpoint: never its secrets, only the first characters of each, to tell them apart. */
export type EndpointView = Omit<Endpoint, 'secrets'> & { secrets: Array<{ prefix: string; until?: string }> };

/** `whsec_` and four characters: enough to tell which secret a receiver holds, far too little to sign with. */
export function secretPrefix(secret: string): string {
  return `${secret.slice(0, 10)}...`;
}

export function endpointView(e: Endpoint): EndpointView {
  const { secrets, ...rest } = e;
  return { ...rest, secrets: secrets.map((s) => ({ prefix: secretPrefix(s.secret), ...(s.until ? { until: new Date(s.until).toISOString() } : {}) })) };
}

/** The registered endpoints (a Redis hash under the system prefix) and the ordering marks of their deliveries. */
export class EndpointStore {
  private readonly key: string;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    /** How long a rotated-out secret is still signed with. */
    private readonly rotationGraceMs = 24 * 3600 * 1000,
  ) {
    this.key = `${prefix}:wh:endpoints`;
  }

  async list(): Promise<Endpoint[]> {
    const all = await this.redis.hvals(this.key);
    return all.map((v) => JSON.parse(v) as Endpoint).sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async get(id: string): Promise<Endpoint | null> {
    const v = await this.redis.hget(this.key, id);
    return v ? (JSON.parse(v) as Endpoint) : null;
  }

  private async put(e: Endpoint): Promise<Endpoint> {
    await this.redis.hset(this.key, e.id, JSON.stringify(e));
    return e;
  }

  /** Registers an endpoint (or, with the id of a configured one, makes sure it is there); answers it with its secret. */
  async create(input: { url: string; description?: string; secret?: string; id?: string; lanes?: string[] }): Promise<Endpoint> {
    const e: Endpoint = {
      id: input.id ?? `ep_${randomUUID().replace(/-/g, '').slice(0, 16)}`,
      url: input.url,
      ...(input.description ? { description: input.description } : {}),
      status: 'enabled',
      created_at: new Date().toISOString(),
      secrets: [{ secret: input.secret ?? newEndpointSecret() }],
      ...(input.lanes ? { lanes: input.lanes } : {}),
    };
    return this.put(e);
  }

  /** A configured endpoint: created once, its URL and secret kept as configured. */
  async ensure(input: { id: string; url: string; secret: string }): Promise<void> {
    const e = await this.get(input.id);
    if (!e) {
      await this.create(input);
      return;
    }
    if (e.url !== input.url || e.secrets[0]?.secret !== input.secret) {
      await this.put({
        ...e,
        url: input.url,
        secrets: [{ secret: input.secret }, ...e.secrets.filter((s) => s.secret !== input.secret).map((s) => ({ ...s, until: s.until ?? Date.now() + this.rotationGraceMs }))],
      });
    }
  }

  /** A new secret; the old ones are still signed with for the grace period, so receivers switch without a gap. */
  async rotate(id: string, secret = newEndpointSecret()): Promise<Endpoint | null> {
    const e = await this.get(id);
    if (!e) return null;
    const until = Date.now() + this.rotationGraceMs;
    const kept = e.secrets.filter((s) => !s.until || s.until > Date.now()).map((s) => ({ secret: s.secret, until: s.until ?? until }));
    return this.put({ ...e, secrets: [{ secret }, ...kept] });
  }

  async setStatus(id: string, status: Endpoint['status'], reason?: string): Promise<Endpoint | null> {
    const e = await this.get(id);
    if (!e) return null;
    const next: Endpoint = { ...e, status };
    if (status === 'disabled') Object.assign(next, { disabled_reason: reason ?? 'disabled', disabled_at: new Date().toISOString() });
    else {
      delete next.disabled_reason;
      delete next.disabled_at;
    }
    return this.put(next);
  }

  async remove(id: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, id)) === 1;
  }

  // Ordering per (endpoint, invoice): the last event enqueued, and which events are done.

  private lastKey(endpoint: string, invoice: string): string {
    return `${this.prefix}:wh:last:${endpoint}:${invoice}`;
  }

  private doneKey(endpoint: string, eventId: string): string {
    return `${this.prefix}:wh:done:${endpoint}:${eventId}`;
  }

  /** Records `eventId` as the newest of its invoice for this endpoint; returns the one before it. */
  async chain(endpoint: string, invoice: string, eventId: string): Promise<string | null> {
    const key = this.lastKey(endpoint, invoice);
    const before = await this.redis.getset(key, eventId);
    await this.redis.pexpire(key, 8 * 24 * 3600 * 1000);
    return before === eventId ? null : before;
  }

  /** Delivered, or given up for good: the next of its invoice may go. */
  async markDone(endpoint: string, eventId: string): Promise<void> {
    await this.redis.set(this.doneKey(endpoint, eventId), '1', 'PX', 8 * 24 * 3600 * 1000);
  }

  async isDone(endpoint: string, eventId: string): Promise<boolean> {
    return (await this.redis.exists(this.doneKey(endpoint, eventId))) === 1;
  }

  // The delivery log: every attempt of an event to an endpoint, newest first, kept 8 days.

  async log(endpoint: string, eventId: string, entry: DeliveryAttempt): Promise<void> {
    const key = `${this.prefix}:wh:log:${endpoint}:${eventId}`;
    await this.redis.lpush(key, JSON.stringify(entry));
    await this.redis.ltrim(key, 0, 49);
    await this.redis.pexpire(key, KEEP_MS);
    // The endpoint's delivery index (listing without naming an event): each event scored by its
    // latest attempt, kept as long as the logs; older entries go as new ones come.
    const at = Date.parse(entry.at);
    const index = this.deliveryIndex(endpoint);
    await this.redis.zadd(index, at, eventId);
    await this.redis.zremrangebyscore(index, '-inf', at - KEEP_MS);
  }

  private deliveryIndex(endpoint: string): string {
    return `${this.prefix}:wh:dlv:${endpoint}`;
  }

  /**
   * The endpoint's deliveries, newest attempt first, each with its latest attempt: a page of up to
   * `limit` strictly before `before` (score ms, event id), `status` filtering on the latest
   * attempt (`delivered`: a 2xx; `failed`: anything else). `next` is null at the end.
   */
  async deliveryPage(
    endpoint: string,
    q: { status?: 'delivered' | 'failed'; limit: number; before?: { at: number; id: string } },
  ): Promise<{ items: DeliverySummary[]; next: { at: number; id: string } | null }> {
    const index = this.deliveryIndex(endpoint);
    const items: DeliverySummary[] = [];
    // A batch a little larger than the page: entries at the cursor's own millisecond are skipped.
    const batch = q.limit + 50;
    let pos = q.before;
    for (;;) {
      const raw = await this.redis.zrevrangebyscore(index, pos ? String(pos.at) : '+inf', '-inf', 'WITHSCORES', 'LIMIT', 0, batch);
      const entries: Array<{ at: number; id: string }> = [];
      for (let i = 0; i < raw.length; i += 2) {
        const e = { id: raw[i] as string, at: Number(raw[i + 1]) };
        // Same millisecond: newest-first order is by id descending, so those at or above the cursor's id were served.
        if (pos && e.at === pos.at && e.id >= pos.id) continue;
        entries.push(e);
      }
      const lasts = await Promise.all(entries.map((e) => this.redis.lindex(`${this.prefix}:wh:log:${endpoint}:${e.id}`, 0)));
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i] as { at: number; id: string };
        const text = lasts[i];
        pos = e;
        if (!text) continue; // its log expired
        const last = JSON.parse(text) as DeliveryAttempt;
        const status = typeof last.outcome === 'number' && last.outcome >= 200 && last.outcome < 300 ? 'delivered' : 'failed';
        if (q.status && status !== q.status) continue;
        items.push({ event_id: e.id, status, last_attempt: last });
        if (items.length === q.limit) return { items, next: e };
      }
      if (raw.length / 2 < batch || !entries.length) return { items, next: null };
    }
  }

  async deliveries(endpoint: string, eventId: string): Promise<DeliveryAttempt[]> {
    return (await this.redis.lrange(`${this.prefix}:wh:log:${endpoint}:${eventId}`, 0, -1)).map((s) => JSON.parse(s) as DeliveryAttempt);
  }
}

/** Delivery logs and the endpoint's delivery index are kept 8 days. */
const KEEP_MS = 8 * 24 * 3600 * 1000;

/** One event's delivery to an endpoint as the listing gives it. */
export interface DeliverySummary {
  event_id: string;
  /** From the latest attempt: `delivered` (a 2xx), else `failed` (it may still be retried). */
  status: 'delivered' | 'failed';
  last_attempt: DeliveryAttempt;
}

export interface DeliveryAttempt {
  at: string;
  attempt: number;
  /** The HTTP status, or the transport error's code. */
  outcome: number | string;
  ms: number;
  /** When the endpoint asked us to wait (Retry-After), in ms. */
  retry_after_ms?: number;
  redelivery?: string;
}
