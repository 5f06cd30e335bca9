/**
 * Callback delivery with the providers' habits: signed platform callbacks to the merchant-account
 * URL (docs/providers.md 1.5), the CryptoSteroid webhook with its `Token` header (4.6), redelivery on any
 * answer but 200 (12 times on the platform, 10 on CryptoSteroid), and on demand duplicates,
 * late (older-after-newer) deliveries and PHP-style escaped bodies (6.14). First attempts for one
 * invoice go out in order; retries run on their own timers, so they can overtake naturally.
 */
import { Agent, request } from 'undici';
import { signBody } from '../signing.ts';
import type { SandboxContext } from './context.ts';
import type { Rec } from './store.ts';
import type { Delivery, PlatformProvider, SandboxKind, SandboxProvider } from './types.ts';

// Documented redelivery schedules, in minutes after the previous attempt.
const PLATFORM_MINUTES = [1, 5, 15, 30, 60, 90, 120, 180, 240, 240, 240, 240]; // docs/providers.md 1.5
const CRYPTOSTEROID_MINUTES = [1, 2, 5, 10, 15, 30, 60, 120, 240, 480]; // docs/providers.md 6.15 (assumed)

/** Who a callback is about: an invoice record, or the merchant account itself (deposits, withdrawals, exchanges). */
interface Source {
  provider: SandboxProvider;
  kind: SandboxKind | 'account';
  id: string;
  foreignId: string | null;
}

interface Outgoing {
  /** Also the key of the in-order queue: one per invoice, one per account callback. */
  rec: Source;
  callbackType: string;
  callbackStatus: string;
  body: string;
  headers: Record<string, string>;
  /** Resolved at every attempt: a merchant may fix the URL between retries. */
  target: () => string | undefined;
  retries: number;
  late: boolean;
  duplicate: boolean;
}

interface Queue {
  items: Outgoing[];
  busy: boolean;
  previous?: Outgoing;
}

/** PHP's json_encode defaults: `/` as `\/` and non-ASCII as `\uXXXX` (UTF-16 units). */
export function phpJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export class Dispatcher {
  private readonly agent: Agent;
  private readonly log: Delivery[] = [];
  private readonly queues = new Map<Source, Queue>();
  private seq = 0;
  private escapeCounter = 0;
  private closed = false;

  constructor(private readonly ctx: SandboxContext) {
    const timeout = ctx.options.callbackTimeoutMs;
    this.agent = new Agent({ connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout, keepAliveTimeout: 1000 });
  }

  /** A signed platform callback; the signature covers exactly the bytes sent. */
  platform(rec: Source, payload: Record<string, unknown>): void {
    const provider = rec.provider as PlatformProvider;
    const body = this.escapeThisOne() ? phpJson(payload) : JSON.stringify(payload);
    const creds = this.ctx.credentials[provider];
    this.enqueue({
      rec,
      callbackType: String(payload.type),
      callbackStatus: String(payload.status),
      body,
      headers: {
        'content-type': 'application/json',
        'x-processing-key': creds.apiKey,
        'x-processing-signature': signBody(body, creds.apiSecret),
      },
      target: () => this.ctx.callbackUrls[provider],
      retries: 12,
      late: false,
      duplicate: false,
    });
  }

  /** The CryptoSteroid webhook: the Invoice object, authenticated only by the order's secret. */
  cryptosteroid(rec: Rec, payload: Record<string, unknown>): void {
    const url = rec.meta.processingUrl;
    this.enqueue({
      rec,
      callbackType: 'invoice',
      callbackStatus: String(payload.status),
      body: JSON.stringify(payload),
      headers: { 'content-type': 'application/json', token: String(rec.meta.secret ?? '') },
      target: () => (typeof url === 'string' ? url : undefined),
      retries: 10,
      late: false,
      duplicate: false,
    });
  }

  deliveries(): Delivery[] {
    return this.log.map((d) => ({ ...d, headers: { ...d.headers } }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.agent.destroy();
  }

  /** Deterministic share: with 0.5, every second callback is escaped. */
  private escapeThisOne(): boolean {
    const share = this.ctx.habits.escapeSlashes;
    const n = this.escapeCounter++;
    return Math.floor((n + 1) * share) > Math.floor(n * share);
  }

  private chance(rate: number): boolean {
    return rate > 0 && this.ctx.options.random() < rate;
  }

  private delayMs(provider: SandboxProvider, retry: number): number {
    const custom = this.ctx.options.redeliveryDelaysMs;
    if (custom && custom.length) return custom[Math.min(retry, custom.length) - 1] ?? 0;
    const minutes = provider === 'cryptosteroid' ? CRYPTOSTEROID_MINUTES : PLATFORM_MINUTES;
    return this.ctx.timers.scaled((minutes[retry - 1] ?? 240) * 60);
  }

  private enqueue(item: Outgoing): void {
    let q = this.queues.get(item.rec);
    if (!q) {
      q = { items: [], busy: false };
      this.queues.set(item.rec, q);
    }
    q.items.push(item);
    if (q.busy) return;
    q.busy = true;
    // Start on a microtask so callbacks emitted by one command (processing + confirmed) are
    // queued together, which is what lets a late delivery swap them.
    queueMicrotask(() => void this.drain(q));
  }

  private async drain(q: Queue): Promise<void> {
    try {
      while (q.items.length && !this.closed) {
        let item = q.items.shift() as Outgoing;
        let late: Outgoing | undefined;
        if (this.chance(this.ctx.habits.lateRate)) {
          const next = q.items.shift();
          if (next) {
            // Swap: the newer callback arrives first, the older one after it.
            late = { ...item, late: true };
            item = next;
          } else if (q.previous) {
            // Nothing newer queued: repeat the previous (older) callback after this one.
            late = { ...q.previous, late: true, retries: 0 };
          }
        }
        await this.attempt(item, 1);
        if (late) await this.attempt(late, 1);
        q.previous = item;
      }
    } finally {
      q.busy = false;
    }
  }

  private async attempt(item: Outgoing, n: number): Promise<void> {
    if (this.closed) return;
    const url = item.target();
    let result: Delivery['result'] = 'no-url';
    let error: string | undefined;
    if (url) {
      try {
        const res = await request(url, { method: 'POST', headers: item.headers, body: item.body, dispatcher: this.agent });
        result = res.statusCode;
        await res.body.dump();
      } catch (err) {
        result = 'error';
        error = err instanceof Error ? err.message : String(err);
      }
    }
    if (this.closed) return;
    this.record(item, n, url ?? null, result, error);
    if (result === 'no-url') return;
    if (result !== 200) {
      if (n <= item.retries) this.ctx.timers.after(this.delayMs(item.rec.provider, n), () => void this.attempt(item, n + 1));
      return;
    }
    if (n === 1 && !item.duplicate && this.chance(this.ctx.habits.duplicateRate)) {
      await this.attempt({ ...item, duplicate: true, retries: 0 }, 1);
    }
  }

  private record(item: Outgoing, attempt: number, url: string | null, result: Delivery['result'], error?: string): void {
    const d: Delivery = {
      seq: ++this.seq,
      provider: item.rec.provider,
      kind: item.rec.kind,
      callbackType: item.callbackType,
      invoiceId: item.rec.id,
      foreignId: item.rec.foreignId,
      callbackStatus: item.callbackStatus,
      url,
      attempt,
      result,
      body: item.body,
      headers: { ...item.headers },
      duplicate: item.duplicate,
      late: item.late,
      at: new Date().toISOString(),
    };
    if (error) d.error = error;
    this.log.push(d);
    this.ctx.log.debug({ provider: d.provider, callbackStatus: d.callbackStatus, attempt, result }, 'sandbox callback attempt');
  }
}
