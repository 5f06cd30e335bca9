/**
 * The invoice record in Redis, changed only by compare-and-set on its `version`, together with
 * its history and the outbox entry to publish, in one Lua step. A change of state and the result
 * it owes the order system therefore either both happen or neither does; the relay
 * (`relay.ts`) publishes the outbox afterwards, so a crash in between loses nothing.
 *
 * The history is a field of the record (`history`: one JSON line per transition), not a list of
 * its own: an open invoice is then one compact hash, about 200 bytes less than a hash and a list.
 *
 * All keys share the configured prefix; with a `{hash tag}` prefix they live in one Redis Cluster
 * slot, which the multi-key scripts need.
 */
import { Cluster, type Redis } from 'ioredis';
import { DurabilityShortfall, type Durability, type DurablePoint } from '../redis/durability.ts';
import { invoiceId } from '../ids.ts';
import { LuaScript, luaOn, type LuaOn } from '../redis/lua.ts';
import { DEFAULT_ACCOUNT, laneKey } from '../lanes/key.ts';
import type { Kind, Order, ProviderId } from './order.ts';
import { ResultSchema, type Fee, type InvoiceResult, type PayTo, type Transaction } from './result.ts';
import { TERMINAL, transition, type Status } from './state.ts';

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

export interface HistoryEntry {
  at: string;
  from: Status | null;
  to: Status;
  source: string;
  reason?: string;
}

export type AcceptOutcome = 'accepted' | 'existing' | 'conflict';

export type ChangeFields = Partial<Record<keyof InvoiceRecord, string | number | null>>;

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

export interface ApplyOptions {
  now?: () => Date;
  /** The record as the caller last saw it; saves a read when it is still current. */
  known?: InvoiceRecord;
  /**
   * Durability mode only (src/redis/durability.ts): this change must be on a replica before the caller
   * acts on it; when no replica confirms in time, the change is taken back (its fields restored,
   * if nobody changed the record since) and `DurabilityShortfall` is thrown. For the submit marker.
   * Changes to `created` and to a terminal status are confirmed without being asked (see `apply`).
   */
  durable?: 'submit';
}

export type ApplyResult =
  { kind: 'applied'; record: InvoiceRecord; published: boolean } | { kind: 'ignored'; record: InvoiceRecord; reason: 'duplicate' | 'terminal' | 'backwards' } | { kind: 'missing' };

/** A field map as apply.lua and accept.lua take it: name, value, name, value... */
function pairs(fields: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k in fields) out.push(k, fields[k] as string);
  return out;
}

/**
 * Statuses in which an order holds a slot of its lane's unpaid index (a capped lane counts them,
 * `reserveUnpaid`): reserved before its create goes out, kept while the invoice waits for payment.
 */
const UNPAID: ReadonlySet<Status> = new Set(['queued', 'created', 'pending']);

/** Which indexes a record in this state belongs in, and whether it is counting down to expiry. */
function placement(status: Status, parked: boolean): { queued: boolean; open: boolean; parked: boolean; expiring: boolean } {
  const terminal = TERMINAL.has(status);
  return { queued: status === 'queued' && !parked, open: status !== 'queued' && !terminal, parked, expiring: terminal && !parked };
}

/**
 * The index and expiry changes a change makes, as apply.lua's `ops`: for the queued, open and
 * reconcile indexes '+' (enters), '-' (leaves) or '.'; then 'e' (expiry starts or restarts: a
 * finished record expires a window after its last change), 'p' (it ends: parked again) or '.';
 * then '-' when the invoice just finished (it leaves the poll index); then '-' when it leaves the
 * unpaid statuses (it leaves the lane's unpaid index). '' when nothing moves.
 */
function upkeep(record: InvoiceRecord, fields: Record<string, string>): string {
  const status = (fields.status as Status | undefined) ?? record.status;
  const parked = 'reconcile' in fields ? fields.reconcile !== '' : record.reconcile !== null;
  const was = placement(record.status, record.reconcile !== null);
  const now = placement(status, parked);
  const move = (a: boolean, b: boolean): string => (a === b ? '.' : b ? '+' : '-');
  const ops =
    move(was.queued, now.queued) +
    move(was.open, now.open) +
    move(was.parked, now.parked) +
    (now.expiring ? 'e' : was.expiring ? 'p' : '.') +
    (TERMINAL.has(status) && !TERMINAL.has(record.status) ? '-' : '.') +
    (UNPAID.has(record.status) && !UNPAID.has(status) ? '-' : '.');
  return ops === '......' ? '' : ops;
}

/**
 * The store's scripts (./lua/*.lua say what each takes and returns): the compare-and-set steps
 * (accept, apply), the poll index's claim, the unpaid slots, the foreign_id reservations of a
 * reissue, and the listing indexes' retention.
 */
const SCRIPTS = {
  accept: new LuaScript<
    [record: string, queued: string, listing: string, queuedStatus: string, clock: string, hash: string, hist: string, score: string, id: string, ...fields: string[]],
    string
  >('iwAccept', 5, new URL('./lua/accept.lua', import.meta.url)),
  apply: new LuaScript<
    [
      record: string,
      outbox: string,
      queued: string,
      reconcile: string,
      open: string,
      pollIndex: string,
      unpaid: string,
      listing: string,
      statusBefore: string,
      statusAfter: string,
      clock: string,
      version: string,
      hist: string,
      outboxEntry: string,
      id: string,
      now: string,
      retentionMs: string,
      ops: string,
      firstPoll: string,
      ...fields: string[],
    ],
    string
  >('iwApply', 11, new URL('./lua/apply.lua', import.meta.url)),
  reserveUnpaid: new LuaScript<[unpaid: string, id: string, cap: string, now: string], number>('iwReserveUnpaid', 1, new URL('./lua/reserve-unpaid.lua', import.meta.url)),
  claimPolls: new LuaScript<[pollIndex: string, now: string, limit: string, leaseMs: string], string[]>('iwClaimPolls', 1, new URL('./lua/claim-polls.lua', import.meta.url)),
  reserveAlias: new LuaScript<[record: string, marker: string, foreignId: string, at: string], number>('iwReserve', 1, new URL('./lua/reserve-alias.lua', import.meta.url)),
  releaseAlias: new LuaScript<[record: string, foreignId: string], number>('iwReleaseAlias', 1, new URL('./lua/release-alias.lua', import.meta.url)),
  zremIfGone: new LuaScript<[index: string, record: string, id: string], number>('iwZremIfGone', 2, new URL('./lua/zrem-if-gone.lua', import.meta.url)),
};

/** A result owed to the order system, queued in the outbox until the relay publishes it. */
export interface OutboxEntry {
  jobId: string;
  name: Status;
  /** Checked against ResultSchema when it is built (`outboxEntry`). */
  data: InvoiceResult;
  /**
   * Not published: timestamps the relay's observers need (lifecycle metrics), carried here so
   * nobody reads the record back for each published result.
   */
  meta?: { accepted_at: string; opened_at: number | null; trace?: string };
}

/** The keys one lane prefix holds: the records' prefix, the outbox and the indexes. */
export interface StoreKeys {
  prefix: string;
  outbox: string;
  queued: string;
  reconcile: string;
  open: string;
}

/** The keys under a prefix (for tests and tools that look at the layout; code asks the store). */
export function storeKeys(prefix: string): StoreKeys {
  const p = `${prefix}:store`;
  return { prefix: p, outbox: `${p}:outbox`, queued: `${p}:idx:queued`, reconcile: `${p}:idx:reconcile`, open: `${p}:idx:open` };
}

/** An operator lookup key (see `InvoiceStore.writeLookup`). */
export function lookupKey(keys: StoreKeys, kind: 'pid' | 'tx', value: string): string {
  return `${keys.prefix}:find:${kind}:${value}`;
}

/** A position in a listing: the index score (ms) and the record id of the last record served. */
export interface ListPosition {
  at: number;
  id: string;
}

/** Status indexes whose records can expire (terminal ones; a parked record is kept and so is its entry). */
const TRIMMED: readonly Status[] = [...TERMINAL];

/** The lane key of a record id (`<lane>.<encoded foreign_id>`). */
export function laneOfId(id: string): string {
  const dot = id.indexOf('.');
  return dot < 0 ? id : id.slice(0, dot);
}

export class InvoiceStore {
  /** The system prefix's keys (every lane's, unless lanes have hash tags of their own). */
  private readonly keys: StoreKeys;
  private readonly byPrefix = new Map<string, StoreKeys>();

  /**
   * `prefixOf` names the key prefix of a lane (src/lanes/lane.ts `lanePrefix`); `lanePrefixes` lists
   * every distinct one this system writes, for the relay, the sweeper and the metrics to visit.
   */
  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
    private readonly resultId: (lane: string, foreignId: string, status: string) => string,
    private readonly prefixOf: (lane: string) => string = () => prefix,
    lanePrefixes: readonly string[] = [prefix],
    /** Set in durability mode (`DURABILITY=replica`): WAIT on this store's connection. */
    readonly durability?: Durability,
    /**
     * `RECORD_RETENTION`: a finished record (terminal, not parked) expires this long after its last
     * change; 0 keeps it for ever. Once it is gone its foreign_id is free: the same order again
     * is a new order.
     */
    private readonly recordRetentionMs = 0,
  ) {
    this.keys = storeKeys(prefix);
    for (const p of new Set([prefix, ...lanePrefixes])) this.byPrefix.set(p, storeKeys(p));
    this.scripts = luaOn(redis, SCRIPTS);
  }

  private readonly scripts: LuaOn<typeof SCRIPTS>;

  /** Keys of each distinct lane prefix. */
  allKeys(): StoreKeys[] {
    return [...this.byPrefix.values()];
  }

  /** The keys of the lane a record id belongs to. */
  keysOf(lane: string): StoreKeys {
    const p = this.prefixOf(lane);
    let k = this.byPrefix.get(p);
    if (!k) {
      k = storeKeys(p);
      this.byPrefix.set(p, k);
    }
    return k;
  }

  /**
   * A lane's poll index: open invoices waiting for their first poll, scored by when it is due. An
   * invoice gets its poll job only then (PollScheduler), so one that ends before (paid by callback
   * within minutes, as most are) never costs a job; a finished invoice leaves the index in the same
   * step as its change of status.
   */
  pollIndex(lane: string): string {
    return `${this.keysOf(lane).prefix}:idx:poll:${lane}`;
  }

  /**
   * A lane's unpaid index: the orders holding one of the account's unpaid-invoice slots (queued
   * with a slot reserved, created, pending). Only lanes whose provider caps unpaid invoices
   * reserve slots (CryptoSteroid); every change that leaves those statuses frees one in the same step.
   */
  unpaidIndex(lane: string): string {
    return `${this.keysOf(lane).prefix}:idx:unpaid:${lane}`;
  }

  /** Takes a slot of the lane's unpaid index for the order, unless `cap` are taken: false then (nothing is sent). */
  async reserveUnpaid(lane: string, foreignId: string, cap: number): Promise<boolean> {
    return (await this.scripts.reserveUnpaid(this.unpaidIndex(lane), invoiceId(lane, foreignId), String(cap), String(Date.now()))) === 1;
  }

  /** Gives a slot back (the create was refused, or the order was cancelled before it went out). */
  async releaseUnpaid(lane: string, foreignId: string): Promise<void> {
    await this.redis.zrem(this.unpaidIndex(lane), invoiceId(lane, foreignId));
  }

  /** How many unpaid invoices (and reserved slots) each lane holds. */
  async unpaidCount(lane: string): Promise<number> {
    return this.redis.zcard(this.unpaidIndex(lane));
  }

  /**
   * A lane's listing index (GET /v1/invoices): every record of the lane, scored by its last change
   * (ms), written by accept.lua and apply.lua in the same step as each change. Entries of records
   * that expired (RECORD_RETENTION) are taken out by `trimListing` and when a page meets them.
   */
  listingIndex(lane: string): string {
    return `${this.keysOf(lane).prefix}:idx:chg:${lane}`;
  }

  /**
   * A lane's index of the records in one status, scored by when they entered it: a page through
   * one status meets each invoice that stays in it once, while others enter it behind the cursor.
   */
  statusIndex(lane: string, status: Status): string {
    return `${this.keysOf(lane).prefix}:idx:st:${status}:${lane}`;
  }

  /** The last listing score given under the lane's prefix (see lua/listing-score.lua). */
  private listingClock(lane: string): string {
    return `${this.keysOf(lane).prefix}:idx:clock`;
  }

  /** apply.lua's listing keys: the lane's listing index, the status index before and after the change, the prefix's listing clock. */
  private listingKeys(lane: string, from: Status, to: Status | undefined): [string, string, string, string] {
    return [this.listingIndex(lane), this.statusIndex(lane, from), this.statusIndex(lane, to ?? from), this.listingClock(lane)];
  }

  /**
   * A page of the lanes' records in listing order: by the index score (last change, or with
   * `status` the time they entered it), then by id, strictly after `after`, within
   * [`since`, `until`] (ms, inclusive). Each lane's index is read from the cursor on (no scan), the
   * lanes' entries merged. `next` is the position of the last record of the page when more may
   * follow, else null. Records that expired since are dropped from the index and skipped; with
   * `status`, so are records that left it between the index read and the record read.
   */
  async listPage(
    lanes: readonly string[],
    q: { status?: Status; since?: number; until?: number; after?: ListPosition; limit: number },
  ): Promise<{ records: InvoiceRecord[]; next: ListPosition | null }> {
    const min = Math.max(q.since ?? 0, q.after?.at ?? 0);
    const max = q.until === undefined ? '+inf' : String(q.until);
    const want = q.limit + 1;
    const perLane = await Promise.all(
      lanes.map(async (lane) => {
        const key = q.status ? this.statusIndex(lane, q.status) : this.listingIndex(lane);
        const out: Array<{ at: number; id: string; key: string }> = [];
        // Entries at the cursor's own millisecond sort by id: those up to the cursor's id were served.
        for (let offset = 0; out.length < want;) {
          const raw = await this.redis.zrangebyscore(key, String(min), max, 'WITHSCORES', 'LIMIT', offset, want);
          for (let i = 0; i < raw.length; i += 2) {
            const id = raw[i] as string;
            const at = Number(raw[i + 1]);
            if (q.after && (at < q.after.at || (at === q.after.at && id <= q.after.id))) continue;
            out.push({ at, id, key });
          }
          if (raw.length < want * 2) break;
          offset += want;
        }
        return out;
      }),
    );
    const merged = perLane.flat().sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const page = merged.slice(0, q.limit);
    const more = merged.length > q.limit;
    const raws = await Promise.all(page.map((e) => this.redis.hgetall(this.recordKey(e.id))));
    const records: InvoiceRecord[] = [];
    const gone: Array<{ key: string; id: string }> = [];
    raws.forEach((raw, i) => {
      const e = page[i] as (typeof page)[number];
      if (!raw.status) gone.push(e);
      else if (!q.status || raw.status === q.status) records.push(fromRaw(e.id, raw));
    });
    // Expired records (RECORD_RETENTION): their index entries go too; `zremIfGone` spares a record
    // written again under the same id in between.
    await Promise.all(gone.map((e) => this.zremIfGone(e.key, e.id)));
    const last = page.at(-1);
    return { records, next: more && last ? { at: last.at, id: last.id } : null };
  }

  /** Removes `id` from the index `key` unless its record exists (one step, so a new record under the id keeps its entry). */
  private async zremIfGone(key: string, id: string): Promise<void> {
    await this.scripts.zremIfGone(key, this.recordKey(id), id);
  }

  /**
   * Retention of the listing indexes: a finished record expires RECORD_RETENTION after its last
   * change, so only entries scored before `now - retention` can name a gone record. Up to `limit`
   * of those per index are checked and removed when their record is gone; for the sweeper.
   * Returns how many entries it removed.
   */
  async trimListing(lanes: readonly string[], now = Date.now(), limit = 1000): Promise<number> {
    if (this.recordRetentionMs <= 0) return 0;
    const before = String(now - this.recordRetentionMs);
    let removed = 0;
    for (const lane of lanes) {
      for (const key of [this.listingIndex(lane), ...TRIMMED.map((s) => this.statusIndex(lane, s))]) {
        const ids = await this.redis.zrangebyscore(key, '-inf', before, 'LIMIT', 0, limit);
        if (!ids.length) continue;
        const exists = await Promise.all(ids.map((id) => this.redis.exists(this.recordKey(id))));
        const gone = ids.filter((_id, i) => exists[i] === 0);
        for (const id of gone) await this.zremIfGone(key, id);
        removed += gone.length;
      }
    }
    return removed;
  }

  recordKey(id: string): string {
    return `${this.keysOf(laneOfId(id)).prefix}:inv:${id}`;
  }

  /**
   * Records an accepted order as `queued`, unless (provider, foreign_id) is known: then the same
   * payload is `existing` and another payload a `conflict`. Nothing is written in either case.
   */
  async accept(order: Order, hash: string, secret: string, now = new Date(), trace?: string): Promise<AcceptOutcome> {
    return (await this.acceptRecord(order, hash, secret, now, trace)).outcome;
  }

  /**
   * `accept`, with the record: the one just written when accepted (built from what was written,
   * not read back), else null (the caller reads an existing one; a conflict has none of its own).
   */
  async acceptRecord(order: Order, hash: string, secret: string, now = new Date(), trace?: string): Promise<{ outcome: AcceptOutcome; record: InvoiceRecord | null }> {
    const lane = laneKey(order.provider, order.account);
    const id = invoiceId(lane, order.foreign_id);
    const at = now.toISOString();
    const fields = {
      provider: order.provider,
      ...(order.account ? { account: order.account } : {}),
      kind: order.kind,
      foreign_id: order.foreign_id,
      status: 'queued',
      version: '1',
      hash,
      order: JSON.stringify(order),
      secret,
      amount: order.amount,
      currency: order.currency,
      submit_attempts: '0',
      accepted_at: at,
      updated_at: at,
      ...(trace ? { trace } : {}),
    };
    const hist: HistoryEntry = { at, from: null, to: 'queued', source: 'api' };
    const mark = this.durability?.mark();
    const out = await this.scripts.accept(
      this.recordKey(id),
      this.keysOf(lane).queued,
      this.listingIndex(lane),
      this.statusIndex(lane, 'queued'),
      this.listingClock(lane),
      hash,
      JSON.stringify(hist),
      String(now.getTime()),
      id,
      ...pairs(fields),
    );
    // Durability mode: no answer (202 accepted, or 200 existing: maybe a record another process
    // wrote a moment ago) before a replica holds the record; a shortfall throws DurabilityShortfall
    // (HTTP 503 for the API: not answered, the producer retries; safe, idempotent by foreign_id). The
    // record alone is the guarantee: the create job is added afterwards on BullMQ's connection, and
    // a queued record without its job gets one from the sweeper. The accepts of one batch resolve
    // together and share one WAIT. A conflict (409) acknowledges nothing.
    if (this.durability && mark !== undefined && out !== 'conflict') await this.durability.confirm('accept', mark);
    return { outcome: out as AcceptOutcome, record: out === 'accepted' ? fromRaw(id, fields) : null };
  }

  /**
   * Durability mode: resolves once everything this process has written or read so far is on a
   * replica (a fence write, then WAIT); throws `DurabilityShortfall` otherwise. Without durability,
   * at once. For callers whose writes went through another connection (BullMQ's) or whose reads
   * they are about to act on, e.g. the relay before publishing the outbox entries it read.
   */
  async settle(): Promise<void> {
    if (this.durability) await this.durability.settle();
  }

  /** `lane` is the lane key: the provider for its default account, `provider@account` otherwise. */
  async get(lane: string, foreignId: string): Promise<InvoiceRecord | null> {
    return this.getById(invoiceId(lane, foreignId));
  }

  async getById(id: string): Promise<InvoiceRecord | null> {
    const raw = await this.redis.hgetall(this.recordKey(id));
    return raw.status ? fromRaw(id, raw) : null;
  }

  async history(id: string): Promise<HistoryEntry[]> {
    // Records written before the history moved into the record began it in a list of their own.
    const [legacy, lines] = await Promise.all([this.redis.lrange(`${this.keysOf(laneOfId(id)).prefix}:hist:${id}`, 0, -1), this.redis.hget(this.recordKey(id), 'history')]);
    return [...legacy, ...(lines ? lines.split('\n') : [])].map((s) => JSON.parse(s) as HistoryEntry);
  }

  /**
   * Applies a change by compare-and-set, re-reading on a lost race. A status change goes through
   * `transition()`: duplicates, late and backwards moves are ignored (and publish nothing); an
   * applied one writes history and the outbox entry in the same atomic step.
   */
  async apply(lane: string, foreignId: string, change: Change, options: ApplyOptions = {}): Promise<ApplyResult> {
    const id = invoiceId(lane, foreignId);
    const keys = this.keysOf(lane);
    const now = options.now ?? (() => new Date());
    const mark = this.durability?.mark();
    // A caller's copy saves a read; if it is stale the script says so and we read afresh.
    let known: InvoiceRecord | null | undefined = options.known?.id === id ? options.known : undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      const record = known ?? (await this.getById(id));
      known = undefined;
      if (!record) return { kind: 'missing' };
      if (change.whileIn && !change.whileIn.includes(record.status)) return { kind: 'ignored', record, reason: 'backwards' };
      if (change.guard && !change.guard(record)) return { kind: 'ignored', record, reason: 'backwards' };
      const at = now();
      const fields: Record<string, string> = { updated_at: at.toISOString() };
      const given = typeof change.fields === 'function' ? change.fields(record) : change.fields;
      for (const [k, v] of Object.entries(given ?? {})) fields[k] = v === null || v === undefined ? '' : String(v);
      let hist = '';
      let outbox = '';
      if (change.status) {
        const decision = transition(record.status, change.status);
        if (decision.kind === 'ignore') return { kind: 'ignored', record, reason: decision.reason };
        fields.status = change.status;
        // Deadlines are measured from these (track.ts): when the provider's clock started, and
        // since when the invoice has been in its current status.
        fields.status_at = String(at.getTime());
        if (record.status === 'queued') fields.opened_at = String(at.getTime());
        const entry: HistoryEntry = { at: at.toISOString(), from: record.status, to: change.status, source: change.source };
        if (change.reason) entry.reason = change.reason;
        hist = JSON.stringify(entry);
        outbox = JSON.stringify(this.outboxEntry(record, fields, change, at));
      } else if (change.event) {
        const ev = change.event;
        if (record.events.some((e) => e.kind === ev.kind && e.id === ev.id)) return { kind: 'ignored', record, reason: 'duplicate' };
        const entry: InvoiceEventEntry = { id: ev.id, kind: ev.kind, at: at.toISOString(), ...ev.detail };
        fields.events = [...record.events, entry].map((e) => JSON.stringify(e)).join('\n');
        outbox = JSON.stringify(this.outboxEntry(record, fields, change, at));
      }
      if (change.recorded && !hist) {
        const entry: HistoryEntry = { at: at.toISOString(), from: record.status, to: record.status, source: change.source };
        if (change.reason) entry.reason = change.reason;
        hist = JSON.stringify(entry);
      }
      // The record as the change leaves it (if it applies): what the caller gets back, and what
      // `firstPoll` is decided on.
      const next = withFields(record, fields);
      const due = change.firstPoll?.(next);
      const firstPoll = due === null || due === undefined ? '' : String(Math.round(due));
      const out = await this.scripts.apply(
        this.recordKey(id),
        keys.outbox,
        keys.queued,
        keys.reconcile,
        keys.open,
        this.pollIndex(lane),
        this.unpaidIndex(lane),
        ...this.listingKeys(lane, record.status, fields.status as Status | undefined),
        String(record.version),
        hist,
        outbox,
        id,
        String(at.getTime()),
        String(this.recordRetentionMs),
        upkeep(record, fields),
        firstPoll,
        ...pairs(fields),
      );
      if (out === 'missing') return { kind: 'missing' };
      if (out === 'ok') {
        // The script applied exactly these fields to exactly this version: merge instead of re-reading.
        const applied = { kind: 'applied' as const, record: next, published: outbox !== '' };
        // Operator lookup keys (provider invoice id, txids): after the step, best effort, not waited
        // for (the caller's next command on this connection runs after them); see `writeLookup`.
        void this.writeLookup(keys, record, next, fields);
        if (this.durability && mark !== undefined) await this.confirmApplied(this.durability, mark, record, fields, applied.record, change, options);
        return applied;
      }
      // 'stale': someone else changed the record first; decide again on the fresh copy.
    }
    throw new Error('invoice record kept changing under compare-and-set');
  }

  /**
   * Operator lookup (the invoice page, src/http/admin-invoices.ts): `<prefix>:store:find:pid:<provider
   * invoice id>` and `<prefix>:store:find:tx:<txid>` name the record id, one small string key each.
   * Written when a change sets the provider invoice id or the transactions, and rewritten when the
   * record's retention starts, restarts or ends: each key then carries the record's expiry (set
   * with the same RECORD_RETENTION window at the same moment, or none while the record is kept),
   * so the keys go when the record goes. Keys, not fields of one hash: Redis 7.0 expires keys only.
   *
   * Not inside apply.lua on purpose: the index only helps an operator find a record, nothing decides on
   * it, so a failure here must not fail (or retry) the change that already happened. A key that is
   * missing (a failed write) or outlives its record by a moment finds nothing: the operator searches
   * by foreign_id instead. An old provider invoice id (before a reissue) keeps naming the order.
   */
  private async writeLookup(keys: StoreKeys, before: InvoiceRecord, after: InvoiceRecord, fields: Record<string, string>): Promise<void> {
    const expiry = upkeep(before, fields).charAt(3);
    const found = (!!fields.provider_invoice_id || 'transactions' in fields) && (!!after.provider_invoice_id || after.transactions.length > 0);
    if (!found && expiry !== 'e' && expiry !== 'p') return;
    const expiring = placement(after.status, after.reconcile !== null).expiring && this.recordRetentionMs > 0;
    const targets = [
      ...(after.provider_invoice_id ? [lookupKey(keys, 'pid', after.provider_invoice_id)] : []),
      ...after.transactions.filter((t) => t.txid).map((t) => lookupKey(keys, 'tx', t.txid)),
    ];
    // A plain SET drops an earlier expiry: a record parked again is kept, and so are its keys.
    await Promise.all(targets.map((k) => (expiring ? this.redis.set(k, after.id, 'PX', this.recordRetentionMs) : this.redis.set(k, after.id)))).catch(() => undefined);
  }

  /** Record ids the operator lookup keys name for a provider invoice id or a txid, over every lane prefix (see `writeLookup`). */
  async lookup(value: string): Promise<string[]> {
    const keys = this.allKeys().flatMap((k) => [lookupKey(k, 'pid', value), lookupKey(k, 'tx', value)]);
    const ids = await Promise.all(keys.map((k) => this.redis.get(k)));
    return [...new Set(ids.filter((id): id is string => !!id))];
  }

  /**
   * Durability mode, after a change was written: WAIT for a replica where the change matters.
   * - The submit marker (`durable: 'submit'`): nothing may be sent before a replica holds it, or a
   *   failover could bring the order back without it and a second request could go out. On a
   *   shortfall the marker is taken back (restoring the fields, by compare-and-set on the version we
   *   wrote, so a concurrent change is never undone) and the error thrown: the job fails this attempt
   *   and retries. Taking it back matters for providers that do not refuse a duplicate foreign_id
   *   (CryptoSteroid): a marker left behind would park the order as "outcome unknown" although
   *   nothing was sent. Should the take-back fail too (Redis away), the marker stays: the next
   *   attempt then treats the order as maybe sent, which is the safe side.
   * - `created` and terminal statuses: confirmed too, so the create job completes (and this worker
   *   kicks the relay) only once a replica has the invoice. On a shortfall the state stays written
   *   and nothing is thrown, only logged: the provider already acted (the invoice exists, the
   *   payment happened), nothing can take that back, and a retry would find the state already
   *   written and complete without it being any more replicated. Publication by the relay is not held
   *   back either: holding results behind a missing replica would turn a replica outage into a
   *   results outage. Should a failover then lose the change, it comes back without a second
   *   invoice: the replica holds the confirmed marker, so the order is re-asked (the platform refuses
   *   the duplicate and the order is followed by callbacks) or parked for reconciliation; a terminal
   *   status comes back by the provider's callbacks and polls; the result is published again under
   *   the same event_id, which the results queue and consumers deduplicate.
   */
  private async confirmApplied(
    durability: Durability,
    mark: number,
    before: InvoiceRecord,
    fields: Record<string, string>,
    after: InvoiceRecord,
    change: Change,
    options: ApplyOptions,
  ): Promise<void> {
    const point: DurablePoint | undefined = options.durable ?? (change.status === 'created' ? 'created' : change.status && TERMINAL.has(change.status) ? 'terminal' : undefined);
    if (!point) return;
    try {
      await durability.confirm(point, mark);
    } catch (err) {
      if (options.durable) {
        if (err instanceof DurabilityShortfall && !change.status) await this.takeBack(before, fields, after).catch(() => undefined);
        throw err;
      }
      durability.degraded(err, { point, lane: after.lane, foreign_id: after.foreign_id, status: after.status });
    }
  }

  /** Restores the fields a fields-only change set, while the record is still at the version it made. */
  private async takeBack(before: InvoiceRecord, fields: Record<string, string>, after: InvoiceRecord): Promise<void> {
    const raw = toRaw(before);
    const restore: Record<string, string> = {};
    for (const k of Object.keys(fields)) restore[k] = raw[k] ?? '';
    const keys = this.keysOf(after.lane);
    await this.scripts.apply(
      this.recordKey(after.id),
      keys.outbox,
      keys.queued,
      keys.reconcile,
      keys.open,
      this.pollIndex(after.lane),
      this.unpaidIndex(after.lane),
      ...this.listingKeys(after.lane, after.status, undefined),
      String(after.version),
      '',
      '',
      after.id,
      String(Date.now()),
      String(this.recordRetentionMs),
      upkeep(after, restore),
      '',
      ...pairs(restore),
    );
  }

  private outboxEntry(record: InvoiceRecord, fields: Record<string, string>, change: Change, at: Date): OutboxEntry {
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

  /**
   * Orders still `queued` (and not parked) since before `olderThanMs`, a page at a time from
   * `offset`, for the sweeper's rolling scan: orders whose job sits in the failed set stay in the
   * index and must not hide newer ones.
   */
  async queuedBefore(olderThanMs: number, limit = 500, offset = 0, keys: StoreKeys = this.keys): Promise<string[]> {
    return this.redis.zrangebyscore(keys.queued, '-inf', String(olderThanMs), 'LIMIT', offset, limit);
  }

  /**
   * A page of open invoices (at the provider, not terminal) for the poll sweeper's rolling scan, by
   * rank in the order they opened; `next` is 0 once the end is reached. Entries leaving the index
   * between pages may make a page skip a few ids: the next round covers them.
   */
  async openPage(cursor: number, limit = 500, keys: StoreKeys = this.keys): Promise<{ ids: string[]; next: number }> {
    const ids = await this.redis.zrange(keys.open, cursor, cursor + limit - 1);
    return { ids, next: ids.length < limit ? 0 : cursor + ids.length };
  }

  /**
   * Reserves `providerFid` in the lane's foreign_id namespace for the order `foreignId` (a reissue:
   * the provider knows the order's new invoice under it). The reservation is a hash at the record
   * key the id would have, holding `alias_of` and a `hash` no payload has: an order later sent with
   * that foreign_id is answered 409 (conflict), and a callback naming it finds the order. False when
   * the id is taken (another order, or another reservation).
   */
  async reserveAlias(lane: string, providerFid: string, foreignId: string): Promise<boolean> {
    const key = this.recordKey(invoiceId(lane, providerFid));
    const taken = await this.scripts.reserveAlias(key, `alias:${foreignId}`, foreignId, new Date().toISOString());
    return taken === 1;
  }

  /** Gives a reservation back (nothing was ever sent under it); only a reservation for this order, never a record. */
  async releaseAlias(lane: string, providerFid: string, foreignId: string): Promise<void> {
    await this.scripts.releaseAlias(this.recordKey(invoiceId(lane, providerFid)), foreignId);
  }

  /** The order a reserved provider-side foreign_id stands for (see `reserveAlias`), or null. */
  async aliasOf(lane: string, providerFid: string): Promise<string | null> {
    return this.redis.hget(this.recordKey(invoiceId(lane, providerFid)), 'alias_of');
  }

  /**
   * Schedules the invoice's first poll at `at` (ms) in its lane's poll index. An earlier schedule
   * stands (ZADD LT): scheduling again never pushes a poll back.
   */
  async schedulePoll(lane: string, foreignId: string, at: number): Promise<void> {
    await this.redis.zadd(this.pollIndex(lane), 'LT', String(Math.round(at)), invoiceId(lane, foreignId));
  }

  /** Up to `limit` record ids of the lane whose first poll is due by `now`, each held back `leaseMs` until `pollsScheduled` (see lua/claim-polls.lua). */
  async claimDuePolls(lane: string, now: number, limit: number, leaseMs: number): Promise<string[]> {
    return this.scripts.claimPolls(this.pollIndex(lane), String(now), String(limit), String(leaseMs));
  }

  /** Takes claimed ids out of the poll index once their poll jobs exist. */
  async pollsScheduled(lane: string, ids: readonly string[]): Promise<void> {
    if (ids.length) await this.redis.zrem(this.pollIndex(lane), ...ids);
  }

  /** Whether each of these invoices of the lane waits in the poll index. */
  async inPollIndex(lane: string, foreignIds: readonly string[]): Promise<boolean[]> {
    if (!foreignIds.length) return [];
    const scores = await this.redis.zmscore(this.pollIndex(lane), ...foreignIds.map((f) => invoiceId(lane, f)));
    return scores.map((s) => s !== null);
  }

  /** Invoices waiting in the lanes' poll indexes for their first poll. */
  async pollIndexCount(lanes: readonly string[]): Promise<number> {
    return sum(lanes.map((l) => this.redis.zcard(this.pollIndex(l))));
  }

  /** What a poll job needs of a record, in one short read (no order, no history), or null when there is none. */
  async pollTarget(id: string): Promise<Pick<InvoiceRecord, 'provider' | 'account' | 'kind' | 'foreign_id' | 'status' | 'trace'> | null> {
    const [provider, account, kind, foreignId, status, trace] = await this.redis.hmget(this.recordKey(id), 'provider', 'account', 'kind', 'foreign_id', 'status', 'trace');
    if (!status || !provider || !kind || !foreignId) return null;
    return { provider, account: account ?? DEFAULT_ACCOUNT, kind: kind as Kind, foreign_id: foreignId, status: status as Status, ...(trace ? { trace } : {}) };
  }

  /** The current status of an invoice alone (one field read), or null when there is no record. */
  async statusOf(lane: string, foreignId: string): Promise<Status | null> {
    return (await this.redis.hget(this.recordKey(invoiceId(lane, foreignId)), 'status')) as Status | null;
  }

  /** The connection the outbox lives on: for the relay alone, which owns the outbox's lock and trim. */
  outboxConnection(): Redis | Cluster {
    return this.redis;
  }

  /** Resolves when Redis answers a PING (readiness, `redis_up`). */
  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /**
   * Redis memory from INFO: bytes used and the `maxmemory` cap (0: no cap). On a Cluster, the
   * master closest to its cap (the one that refuses writes first).
   */
  async memory(): Promise<{ used: number; max: number }> {
    const read = async (node: Redis): Promise<{ used: number; max: number }> => {
      const info = await node.info('memory');
      const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
      return { used: field('used_memory'), max: field('maxmemory') };
    };
    if (!(this.redis instanceof Cluster)) return read(this.redis);
    const all = await Promise.all(this.redis.nodes('master').map(read));
    const ratio = (m: { used: number; max: number }): number => (m.max > 0 ? m.used / m.max : 0);
    return all.reduce((a, b) => (ratio(b) > ratio(a) || (ratio(a) === 0 && b.used > a.used) ? b : a), { used: 0, max: 0 });
  }

  /** Results recorded and not yet published, over every lane prefix. */
  async outboxLength(): Promise<number> {
    return sum(this.allKeys().map((k) => this.redis.llen(k.outbox)));
  }

  /** The unpublished entries, oldest first, over every lane prefix (for tools and tests). */
  async outboxEntries(): Promise<OutboxEntry[]> {
    const lists = await Promise.all(this.allKeys().map((k) => this.redis.lrange(k.outbox, 0, -1)));
    return lists.flat().map((s) => JSON.parse(s) as OutboxEntry);
  }

  /** When the oldest unpublished result happened (ms), or null when every outbox is empty. */
  async oldestOutboxAt(): Promise<number | null> {
    const heads = await Promise.all(this.allKeys().map((k) => this.redis.lindex(k.outbox, 0)));
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

  /** How many orders are parked for an operator, over every lane prefix. */
  async parkedCount(): Promise<number> {
    return sum(this.allKeys().map((k) => this.redis.zcard(k.reconcile)));
  }

  /** How many orders are accepted and not yet at the provider (the queued index), over every lane prefix. */
  async queuedCount(): Promise<number> {
    return sum(this.allKeys().map((k) => this.redis.zcard(k.queued)));
  }

  /** Invoices parked for an operator (any status with `reconcile` set), oldest first. */
  async parked(limit = 1000): Promise<string[]> {
    const all = await Promise.all(this.allKeys().map((k) => this.redis.zrange(k.reconcile, 0, limit - 1, 'WITHSCORES')));
    const pairs: Array<[string, number]> = [];
    for (const list of all) for (let i = 0; i < list.length; i += 2) pairs.push([list[i] as string, Number(list[i + 1])]);
    return pairs
      .sort((a, b) => a[1] - b[1])
      .slice(0, limit)
      .map(([id]) => id);
  }
}

async function sum(counts: Array<Promise<number>>): Promise<number> {
  return (await Promise.all(counts)).reduce((a, b) => a + b, 0);
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
function fromRaw(id: string, raw: Record<string, string>): InvoiceRecord {
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
function withFields(record: InvoiceRecord, fields: Record<string, string>): InvoiceRecord {
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
function toRaw(record: InvoiceRecord): Record<string, string> {
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
