/**
 * The outbox: the results owed to the order system, one list per lane prefix, appended by apply.lua
 * in the same step as the change each announces and published by the relay (relay.ts) afterwards,
 * so a crash in between loses nothing. Here: the result a change owes, built and checked against
 * the result contract (result.ts) before anything is written, and the outboxes' reads for the
 * metrics, tools and tests. The relay alone removes entries.
 */
import type { Cluster, Redis } from 'ioredis';
import type { StoreLayout } from './keys.ts';
import type { Change, InvoiceRecord } from './record.ts';
import { ResultSchema, type InvoiceResult } from './result.ts';
import type { Status } from './state.ts';

/** A result owed to the order system, queued in the outbox until the relay publishes it. */
export interface OutboxEntry {
  jobId: string;
  name: Status;
  /** Checked against ResultSchema when it is built (`Outbox.entry`). */
  data: InvoiceResult;
  /**
   * Not published: timestamps the relay's observers need (lifecycle metrics), carried here so
   * nobody reads the record back for each published result.
   */
  meta?: { accepted_at: string; opened_at: number | null; trace?: string };
}

export class Outbox {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly layout: StoreLayout,
    /** The result's id, from which its job id and event id come (queues/results.ts `resultJobId`). */
    private readonly resultId: (lane: string, foreignId: string, status: string) => string,
  ) {}

  /**
   * The result a change owes (`fields` as apply.lua writes them, over `record`), checked against
   * the result contract before anything is written.
   */
  entry(record: InvoiceRecord, fields: Record<string, string>, change: Pick<Change, 'status' | 'event' | 'reason'>, at: Date): OutboxEntry {
    // An event keeps the status where it is: status and previous_status are the same.
    const status = change.status ?? record.status;
    const event = change.status ? undefined : change.event;
    const pick = (k: keyof InvoiceRecord): string | null => {
      if (k in fields) return fields[k] === '' ? null : (fields[k] as string);
      const v = record[k];
      if (v === null || v === undefined) return null;
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    };
    const eventId = this.resultId(record.lane, record.foreign_id, event ? `${event.kind}.${event.id}` : status);
    const data: InvoiceResult = {
      v: 1,
      event_id: eventId,
      provider: record.provider,
      account: record.account,
      kind: record.kind,
      foreign_id: record.foreign_id,
      status,
      previous_status: record.status,
      event: event?.kind ?? 'transition',
      provider_invoice_id: pick('provider_invoice_id'),
      payment_url: pick('payment_url'),
      amount: record.amount,
      currency: record.currency,
      occurred_at: at.toISOString(),
    };
    const received = pick('received_amount');
    if (received !== null) data.received_amount = received;
    // Providers may report what arrived in the payer's crypto rather than the order currency.
    const receivedCurrency = pick('received_currency');
    if (received !== null && receivedCurrency !== null) data.received_currency = receivedCurrency;
    const settled = pick('settled_amount');
    const settledCurrency = pick('settled_currency');
    if (settled !== null && settledCurrency !== null) Object.assign(data, { settled_amount: settled, settled_currency: settledCurrency });
    // JSON fields: the text as written, parsed once here for the result.
    for (const [field, key] of [
      ['transactions', 'transactions'],
      ['fees', 'fees'],
      ['pay_to', 'pay_to'],
    ] as const) {
      const text = pick(field);
      if (text === null) continue;
      const value = JSON.parse(text) as unknown;
      if (Array.isArray(value) ? value.length : value) (data as Record<string, unknown>)[key] = value;
    }
    const reason = change.reason ?? pick('reason');
    if (reason) data.reason = reason;
    if (event?.kind === 'exception') data.exception = event.detail as InvoiceResult['exception'];
    if (event?.kind === 'parked') data.parked = event.detail as InvoiceResult['parked'];
    if (event?.kind === 'payment') data.payment = event.detail as InvoiceResult['payment'];
    // The contract is checked where results are built: a result that would break it is never
    // written (the change fails and its job retries, visibly) instead of reaching order systems.
    const checked = ResultSchema.safeParse(data);
    if (!checked.success) throw new Error(`result breaks ResultSchema: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const opened = 'opened_at' in fields ? Number(fields.opened_at) : record.opened_at;
    return { jobId: eventId, name: status, data, meta: { accepted_at: record.accepted_at, opened_at: opened, ...(record.trace ? { trace: record.trace } : {}) } };
  }

  /** Results recorded and not yet published, over every lane prefix. */
  async length(): Promise<number> {
    const lengths = await Promise.all(this.layout.allKeys().map((k) => this.redis.llen(k.outbox)));
    return lengths.reduce((a, b) => a + b, 0);
  }

  /** The unpublished entries, oldest first, over every lane prefix (for tools and tests). */
  async entries(): Promise<OutboxEntry[]> {
    const lists = await Promise.all(this.layout.allKeys().map((k) => this.redis.lrange(k.outbox, 0, -1)));
    return lists.flat().map((s) => JSON.parse(s) as OutboxEntry);
  }

  /** When the oldest unpublished result happened (ms), or null when every outbox is empty. */
  async oldestAt(): Promise<number | null> {
    const heads = await Promise.all(this.layout.allKeys().map((k) => this.redis.lindex(k.outbox, 0)));
    let oldest: number | null = null;
    for (const head of heads) {
      if (!head) continue;
      try {
        const at = Date.parse((JSON.parse(head) as OutboxEntry).data.occurred_at);
        if (Number.isFinite(at)) oldest = Math.min(oldest ?? at, at);
      } catch {
        /* unreadable entry: the relay will complain about it */
      }
    }
    return oldest;
  }
}
