/**
 * Callback delivery with the providers' habits: each provider builds its callbacks (signed
 * platform callbacks to the merchant-account URL, docs/providers.md 1.5; the CryptoSteroid webhook
 * with its `Token` header, 4.6) and this delivers them: redelivery on any answer but 200 on the
 * provider's own schedule, and on demand duplicates, late (older-after-newer) deliveries and the
 * count behind PHP-style escaped bodies (6.14). First attempts for one invoice go out in order;
 * retries run on their own timers, so they can overtake naturally.
 */
import { Agent, request } from 'undici';
import type { CallbackQueue, CallbackSource, Outgoing, SandboxContext } from './context.ts';
import type { Delivery } from './types.ts';

interface Queue {
  items: Outgoing[];
  busy: boolean;
  previous?: Outgoing;
}

export class Dispatcher implements CallbackQueue {
  private readonly agent: Agent;
  private readonly log: Delivery[] = [];
  private readonly queues = new Map<CallbackSource, Queue>();
  private seq = 0;
  private escapeCounter = 0;
  private closed = false;

  constructor(private readonly ctx: SandboxContext) {
    const timeout = ctx.options.callbackTimeoutMs;
    this.agent = new Agent({ connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout, keepAliveTimeout: 1000 });
  }

  deliveries(): Delivery[] {
    return this.log.map((d) => ({ ...d, headers: { ...d.headers } }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.agent.destroy();
  }

  /** Deterministic share: with 0.5, every second callback is escaped. */
  escapeThisOne(): boolean {
    const share = this.ctx.habits.escapeSlashes;
    const n = this.escapeCounter++;
    return Math.floor((n + 1) * share) > Math.floor(n * share);
  }

  private chance(rate: number): boolean {
    return rate > 0 && this.ctx.options.random() < rate;
  }

  private delayMs(item: Outgoing, retry: number): number {
    const custom = this.ctx.options.redeliveryDelaysMs;
    if (custom && custom.length) return custom[Math.min(retry, custom.length) - 1] ?? 0;
    const minutes = item.redeliveryMinutes;
    return this.ctx.timers.scaled((minutes[retry - 1] ?? minutes.at(-1) ?? 1) * 60);
  }

  /** Queues one callback behind the earlier ones of its invoice (or account callback). */
  enqueue(item: Outgoing): void {
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
      if (n <= item.retries) this.ctx.timers.after(this.delayMs(item, n), () => void this.attempt(item, n + 1));
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
