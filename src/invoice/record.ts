/**
 * The invoice record: its fields, what they mean, and how they read from and write to the Redis
 * hash that holds it (all values are strings there). Also what the record says about itself that
 * several modules ask (the provider-side foreign_id, a payment hold), the events and history it
 * keeps, what a change to it is (`Change`: store.ts applies it), and its id
 * (`<lane>.<encoded foreign_id>`, src/ids.ts `invoiceId`).
 *
 * The history is a field of the record (`history`: one JSON line per transition), not a list of
 * its own: an open invoice is then one compact hash, about 200 bytes less than a hash and a list.
 * store.ts writes it; nothing here touches Redis.
 */
import { z } from 'zod';
import { decodeForeignId } from '../ids.ts';
import { DEFAULT_ACCOUNT, laneKey } from '../lanes/key.ts';
import type { Kind, Order, ProviderId } from './order.ts';
import type { Fee, PayTo, Transaction } from './result.ts';
import { STATUSES, type Status } from './state.ts';

/** Record fields, all strings in Redis. */
export interface InvoiceRecord {
  id: string;
  provider: ProviderId;
  /** The provider account (stored only when not `default`, so older records read unchanged). */
  account: string;
  /** `provider` or `provider@account`: the lane, and the first part of every id of this invoice. */
  lane: string;
  kind: Kind;
  foreign_id: string;
  status: Status;
  version: number;
  hash: string;
  order: Order;
  secret: string;
  amount: string;
  currency: string;
  provider_invoice_id: string | null;
  provider_status: string | null;
  payment_url: string | null;
  received_amount: string | null;
  reason: string | null;
  last_error: string | null;
  /** Set while a create request is (or may be) in flight: its start time in ms. */
  submitting: number | null;
  submit_attempts: number;
  /** 429s the provider answered this order's create requests with (RATE_LIMIT_CEILING in workers/create.ts). */
  rate_limited_hits: number;
  /** Why the order is parked for an operator (unknown outcome, duplicate at provider...). */
  reconcile: string | null;
  accepted_at: string;
  updated_at: string;
  /** When the provider will expire the invoice, when it said so (ISO-8601). */
  expires_at: string | null;
  /** Currency of `received_amount` as the provider reported it (may differ from `currency`). */
  received_currency: string | null;
  /** When the record first left `queued` (ms): the provider-side clock of the invoice starts here. */
  opened_at: number | null;
  /** When the current status was entered (ms). */
  status_at: number | null;
  /** Set when the current terminal status was inferred by us (deadline), not said by the provider. */
  inferred: string | null;
  /** Published without a change of status: exceptions (money or news after the end) and parkings, oldest first. */
  events: InvoiceEventEntry[];
  /**
   * The foreign_id the provider knows the current invoice under, when an operator reissued the
   * order (repair.ts `reissue`); null while it is the order's own.
   */
  provider_foreign_id: string | null;
  /** Provider-side foreign_ids of invoices this order replaced by reissue, oldest first: news about them is an exception. */
  replaced_foreign_ids: string[];
  /** W3C traceparent of the request that accepted the order, when tracing is on (src/observability/tracing.ts). */
  trace?: string;
  /** What the merchant is credited, where the provider stated it for a finished payment. */
  settled_amount: string | null;
  settled_currency: string | null;
  /** Every payment transaction the provider reported, one per txid (stored as JSON). */
  transactions: Transaction[];
  /** The provider's fees, as last stated (stored as JSON). */
  fees: Fee[];
  /** The payer's instructions, when the provider stated them (stored as JSON). */
  pay_to: PayTo | null;
}

/** The foreign_id the provider knows the order's current invoice under. */
export function providerForeignId(record: Pick<InvoiceRecord, 'foreign_id' | 'provider_foreign_id'>): string {
  return record.provider_foreign_id ?? record.foreign_id;
}

/**
 * Why a parked order holds a payment question rather than an unknown outcome: the `reconcile`
 * text of such a parking starts with its exception type (`underpaid: ...`), written by track.ts
 * (`underpaid`, `unverifiable_amount`) and submit.ts (`amount_mismatch`). Read here only, so the
 * repairs, tracking and the operator page agree on it.
 */
export type PaymentHold = 'underpaid' | 'unverifiable_amount' | 'amount_mismatch';
const HOLD = /^(underpaid|unverifiable_amount|amount_mismatch): /;

export function paymentHold(record: Pick<InvoiceRecord, 'reconcile'>): PaymentHold | null {
  return (HOLD.exec(record.reconcile ?? '')?.[1] as PaymentHold | undefined) ?? null;
}

/** Parked because the provider's figures for a payment did not cover the order (or could not be compared): `accept` applies. */
export function awaitsAcceptance(record: Pick<InvoiceRecord, 'reconcile'>): boolean {
  const hold = paymentHold(record);
  return hold === 'underpaid' || hold === 'unverifiable_amount';
}

/** An event as the record keeps it. */
export interface InvoiceEventEntry {
  id: string;
  kind: InvoiceEvent['kind'];
  at: string;
  [detail: string]: unknown;
}

/**
 * A result published without a change of status: `exception` (a provider message about money or
 * status for an invoice we consider finished), `parked` (the order waits for an operator), or
 * `payment` (more money under the same status, e.g. a second installment). Its
 * result keeps `status` and `previous_status` equal, so a consumer that only follows statuses sees
 * nothing move; one that reads `event` acts on it.
 */
export interface InvoiceEvent {
  kind: 'exception' | 'parked' | 'payment';
  /** Unique per invoice and kind: the result's job id ends with it, so each is published once. */
  id: string;
  detail: Record<string, unknown>;
}

/** One transition in a record's history, as stored and as the invoice view shows it. */
export const HistoryEntrySchema = z.object({
  at: z.iso.datetime(),
  from: z.enum(STATUSES).nullable(),
  to: z.enum(STATUSES),
  source: z.string().describe('where the change came from: api, create, callback, poll, operator...'),
  reason: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

export type ChangeFields = Partial<Record<keyof InvoiceRecord, string | number | null>>;

/** A change to a record, as `InvoiceStore.apply` takes it. */
export interface Change {
  /** New status, or omit to change fields only. */
  status?: Status;
  /** Fields to set (null: remove); a function is given each fresh copy, for counters decided under the compare-and-set. */
  fields?: ChangeFields | ((record: InvoiceRecord) => ChangeFields);
  /** Where the change came from (create, callback, poll, operator...), for history. */
  source: string;
  reason?: string;
  /** Apply only while the record is in one of these statuses (decided under the compare-and-set); else `ignored`. */
  whileIn?: readonly Status[];
  /** Publish this event (with no status change); a second one with the same kind and id is `ignored` as a duplicate. */
  event?: InvoiceEvent;
  /** Apply only while this holds for the record (decided under the compare-and-set, on every fresh copy); else `ignored`. */
  guard?: (record: InvoiceRecord) => boolean;
  /** A fields-only change an operator made: written to the history too (status unchanged), with `source` and `reason`. */
  recorded?: boolean;
  /**
   * When the invoice's first poll is due (ms), given the record as this change leaves it: written
   * to the lane's poll index in the same step (an earlier schedule stands). For the change that
   * opens an invoice, so it is never open without its follow-up; null: none.
   */
  firstPoll?: (record: InvoiceRecord) => number | null;
}

/** The lane key of a record id (`<lane>.<encoded foreign_id>`). */
export function laneOfId(id: string): string {
  const dot = id.indexOf('.');
  return dot < 0 ? id : id.slice(0, dot);
}

/** The lane and foreign_id a record id names, or null when it is not a record id. */
export function parseRecordId(id: string): { lane: string; foreignId: string } | null {
  const dot = id.indexOf('.');
  if (dot < 0) return null;
  try {
    return { lane: id.slice(0, dot), foreignId: decodeForeignId(id.slice(dot + 1)) };
  } catch {
    return null;
  }
}

type RecordField = Exclude<keyof InvoiceRecord, 'id' | 'lane'>;
const num = (v: string | undefined): number | null => (v ? Number(v) : null);

/** How each field of the record reads from its Redis string (absent: undefined). */
const READ: { [K in RecordField]-?: (v: string | undefined) => InvoiceRecord[K] | undefined } = {
  provider: (v) => v,
  account: (v) => v ?? DEFAULT_ACCOUNT,
  kind: (v) => v as Kind,
  foreign_id: (v) => v ?? '',
  status: (v) => v as Status,
  version: (v) => Number(v),
  hash: (v) => v ?? '',
  order: (v) => JSON.parse(v ?? '{}') as Order,
  secret: (v) => v ?? '',
  amount: (v) => v ?? '',
  currency: (v) => v ?? '',
  provider_invoice_id: (v) => v ?? null,
  provider_status: (v) => v ?? null,
  payment_url: (v) => v ?? null,
  received_amount: (v) => v ?? null,
  reason: (v) => v ?? null,
  last_error: (v) => v ?? null,
  submitting: num,
  submit_attempts: (v) => Number(v ?? 0),
  rate_limited_hits: (v) => Number(v ?? 0),
  reconcile: (v) => v ?? null,
  accepted_at: (v) => v ?? '',
  updated_at: (v) => v ?? '',
  expires_at: (v) => v ?? null,
  received_currency: (v) => v ?? null,
  opened_at: num,
  status_at: num,
  inferred: (v) => v ?? null,
  events: (v) => (v ? v.split('\n').map((l) => JSON.parse(l) as InvoiceEventEntry) : []),
  provider_foreign_id: (v) => v ?? null,
  replaced_foreign_ids: (v) => (v ? (JSON.parse(v) as string[]) : []),
  trace: (v) => v || undefined,
  settled_amount: (v) => v ?? null,
  settled_currency: (v) => v ?? null,
  transactions: (v) => (v ? (JSON.parse(v) as Transaction[]) : []),
  fees: (v) => (v ? (JSON.parse(v) as Fee[]) : []),
  pay_to: (v) => (v ? (JSON.parse(v) as PayTo) : null),
};
const FIELDS = Object.keys(READ) as RecordField[];

/** The typed record from its Redis hash (all values are strings there). */
export function fromRaw(id: string, raw: Record<string, string>): InvoiceRecord {
  const record = { id } as Record<string, unknown>;
  for (const k of FIELDS) {
    const v = READ[k](raw[k]);
    if (v !== undefined) record[k] = v;
  }
  const r = record as unknown as InvoiceRecord;
  r.lane = laneKey(r.provider, r.account);
  return r;
}

/**
 * The record after apply.lua wrote `fields` ('' removes one) to this version: the caller's copy with
 * just those fields read again, so the order, events and the rest are not parsed once more.
 */
export function withFields(record: InvoiceRecord, fields: Record<string, string>): InvoiceRecord {
  const next = { ...record, version: record.version + 1 } as Record<string, unknown>;
  for (const [k, raw] of Object.entries(fields)) {
    const read = READ[k as RecordField] as ((v: string | undefined) => unknown) | undefined;
    if (!read) continue; // not a record field (nothing reads it back)
    const v = read(raw === '' ? undefined : raw);
    if (v === undefined) delete next[k];
    else next[k] = v;
  }
  const r = next as unknown as InvoiceRecord;
  if ('provider' in fields || 'account' in fields) r.lane = laneKey(r.provider, r.account);
  return r;
}

/** The inverse of `fromRaw` for the fields a record carries. */
export function toRaw(record: InvoiceRecord): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) {
    if (k === 'id' || k === 'lane' || v === null || v === undefined) continue;
    if (k === 'account' && v === DEFAULT_ACCOUNT) continue;
    if (k === 'events') {
      if ((v as InvoiceEventEntry[]).length) raw.events = (v as InvoiceEventEntry[]).map((e) => JSON.stringify(e)).join('\n');
      continue;
    }
    if (k === 'replaced_foreign_ids' || k === 'transactions' || k === 'fees') {
      if ((v as unknown[]).length) raw[k] = JSON.stringify(v);
      continue;
    }
    raw[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return raw;
}
