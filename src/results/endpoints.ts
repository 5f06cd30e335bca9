/**
 * Result webhooks: besides the `invoice-results` queue, order systems register HTTPS endpoints
 * that receive every result as a Standard Webhooks request (standardwebhooks.com): the body is
 * the result JSON, `webhook-id` its `event_id` (the same on every redelivery, so a receiver
 * dedupes on it), `webhook-timestamp` the send time, `webhook-signature` `v1,<base64
 * HMAC-SHA256 over "id.timestamp.body">` under the endpoint's `whsec_` secret, and during a
 * rotation one signature per live secret, so the receiver may switch keys at its own pace.
 *
 * Endpoints live in Redis (one hash); their secrets never reach logs or list answers (shown once,
 * when created or rotated). Deliveries are jobs of `result-webhooks` (queues/webhooks.ts), added
 * by the relay before it trims the outbox, so a result is never published without its deliveries
 * being queued (at least once). Per endpoint, the results of one invoice are delivered in order:
 * each delivery names the one before it, and waits until that one is done.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { webhookJobId, type WebhookJob } from '../../queues/webhooks.ts';
import { invoiceId } from '../ids.ts';
import type { OutboxEntry } from '../invoice/outbox.ts';
import { laneKey } from '../lanes/key.ts';
import { resultTelemetry } from '../observability/tracing.ts';
import { secretIssue } from './target.ts';

/** A `whsec_` secret of at least 24 bytes that is neither one repeated byte nor the specification's published example. */
export const Secret = z.string().superRefine((v, ctx) => {
  const issue = secretIssue(v);
  if (issue) ctx.addIssue({ code: 'custom', message: issue });
});

export interface EndpointSecret {
  secret: string;
  /** A rotated-out secret stays valid (still signed with) until then (ms since epoch). */
  until?: number;
}

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

export function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** The Standard Webhooks headers for one request, signed with every live secret. */
export function signHeaders(e: Pick<Endpoint, 'secrets'>, eventId: string, body: string, now = new Date()): Record<string, string> {
  const live = e.secrets.filter((s) => !s.until || s.until > now.getTime());
  const signatures = live.map((s) => new Webhook(s.secret).sign(eventId, now, body));
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
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
      secrets: [{ secret: input.secret ?? newSecret() }],
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
  async rotate(id: string, secret = newSecret()): Promise<Endpoint | null> {
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

/**
 * The relay's fan-out: one delivery job per (enabled endpoint, result), each naming the result of
 * the same invoice enqueued before it for that endpoint. Idempotent by job id.
 */
export async function fanOut(
  endpoints: EndpointStore,
  queue: { addBulk(jobs: Array<{ name: string; data: WebhookJob; opts: { jobId: string; attempts: number; telemetry?: { metadata: string } } }>): Promise<unknown> },
  entries: readonly OutboxEntry[],
  attempts: number,
): Promise<void> {
  // A disabled endpoint gets its deliveries too: they wait until it is enabled again, so none is lost.
  const live = await endpoints.list();
  if (!live.length) return;
  const jobs: Parameters<typeof queue.addBulk>[0] = [];
  for (const e of live) {
    for (const entry of entries) {
      const d = entry.data as { provider: string; account?: string; foreign_id: string };
      const lane = laneKey(d.provider, d.account);
      // An endpoint of a lane-limited API key hears only of its lanes.
      if (e.lanes && !e.lanes.includes(lane)) continue;
      const invoice = invoiceId(lane, d.foreign_id);
      const after = await endpoints.chain(e.id, invoice, entry.jobId);
      jobs.push({
        name: entry.name,
        data: { v: 1, endpoint: e.id, event_id: entry.jobId, invoice, after },
        // Tracing on: under the span that published the result.
        opts: { jobId: webhookJobId(e.id, entry.jobId), attempts, ...resultTelemetry(entry) },
      });
    }
  }
  if (jobs.length) await queue.addBulk(jobs);
}
