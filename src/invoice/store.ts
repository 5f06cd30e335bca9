/**
 * The invoice record in Redis (record.ts), changed only by compare-and-set on its `version`,
 * together with its history and the outbox entry to publish, in one Lua step (lua/apply.lua). A
 * change of state and the result it owes the order system therefore either both happen or neither
 * does; the relay (`relay.ts`) publishes the outbox afterwards, so a crash in between loses nothing.
 *
 * `InvoiceStore` is the one door to the records. Here: accept, get, apply (with its durability
 * confirm in durability mode), the operator lookup keys and the foreign_id reservations of a
 * reissue. Beside it: the record and its codec (record.ts), the key layout (keys.ts), and the
 * indexes with their reads (indexes.ts, which `InvoiceStore` extends: the outbox in outbox.ts, the
 * poll index in poll-index.ts, the listing in listing.ts).
 */
import type { Cluster, Redis } from 'ioredis';
import { DurabilityShortfall, type Durability, type DurablePoint } from '../redis/durability.ts';
import { invoiceId } from '../ids.ts';
import { LuaScript, luaOn, type LuaOn } from '../redis/lua.ts';
import { DEFAULT_ACCOUNT, laneKey } from '../lanes/key.ts';
import { StoreIndexes } from './indexes.ts';
import { StoreLayout, lookupKey, type StoreKeys } from './keys.ts';
import type { Kind, Order } from './order.ts';
import { fromRaw, laneOfId, toRaw, withFields, type Change, type HistoryEntry, type InvoiceEventEntry, type InvoiceRecord } from './record.ts';
import { TERMINAL, transition, type Status } from './state.ts';

export type AcceptOutcome = 'accepted' | 'existing' | 'conflict';

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
 * (accept, apply) and the foreign_id reservations of a reissue.
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
  reserveAlias: new LuaScript<[record: string, marker: string, foreignId: string, at: string], number>('iwReserve', 1, new URL('./lua/reserve-alias.lua', import.meta.url)),
  releaseAlias: new LuaScript<[record: string, foreignId: string], number>('iwReleaseAlias', 1, new URL('./lua/release-alias.lua', import.meta.url)),
};

/** What a store is built from (src/system.ts; tests build their own). */
export interface StoreOptions {
  redis: Redis | Cluster;
  /** The system's key prefix. */
  prefix: string;
  /** The id of a result (queues/results.ts `resultJobId`): its job id and event_id. */
  resultId: (lane: string, foreignId: string, status: string) => string;
  /** The key prefix of a lane (src/lanes/key.ts `lanePrefix`); default: `prefix` for every lane. */
  prefixOf?: (lane: string) => string;
  /** Every distinct lane prefix this system writes, for the relay, the sweeper and the metrics to visit (default: `prefix`). */
  lanePrefixes?: readonly string[];
  /** Set in durability mode (`DURABILITY=replica`): WAIT on this store's connection. */
  durability?: Durability;
  /**
   * `RECORD_RETENTION`: a finished record (terminal, not parked) expires this long after its last
   * change; 0 (the default) keeps it for ever. Once it is gone its foreign_id is free: the same
   * order again is a new order.
   */
  recordRetentionMs?: number;
}

export class InvoiceStore extends StoreIndexes {
  private readonly scripts: LuaOn<typeof SCRIPTS>;
  /** Set in durability mode (`DURABILITY=replica`): WAIT on this store's connection. */
  readonly durability?: Durability;

  constructor(options: StoreOptions) {
    super(options.redis, new StoreLayout(options.prefix, options.prefixOf, options.lanePrefixes), options.resultId, options.recordRetentionMs ?? 0);
    this.durability = options.durability;
    this.scripts = luaOn(this.redis, SCRIPTS);
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
      this.layout.keysOf(lane).queued,
      this.listing.index(lane),
      this.listing.statusIndex(lane, 'queued'),
      this.listing.clock(lane),
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
    const [legacy, lines] = await Promise.all([this.redis.lrange(`${this.layout.keysOf(laneOfId(id)).prefix}:hist:${id}`, 0, -1), this.redis.hget(this.recordKey(id), 'history')]);
    return [...legacy, ...(lines ? lines.split('\n') : [])].map((s) => JSON.parse(s) as HistoryEntry);
  }

  /**
   * Applies a change by compare-and-set, re-reading on a lost race. A status change goes through
   * `transition()`: duplicates, late and backwards moves are ignored (and publish nothing); an
   * applied one writes history and the outbox entry in the same atomic step.
   */
  async apply(lane: string, foreignId: string, change: Change, options: ApplyOptions = {}): Promise<ApplyResult> {
    const id = invoiceId(lane, foreignId);
    const keys = this.layout.keysOf(lane);
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
        // Deadlines are measured from these (polling.ts `deadlineOf`): when the provider's clock
        // started, and since when the invoice has been in its current status.
        fields.status_at = String(at.getTime());
        if (record.status === 'queued') fields.opened_at = String(at.getTime());
        const entry: HistoryEntry = { at: at.toISOString(), from: record.status, to: change.status, source: change.source };
        if (change.reason) entry.reason = change.reason;
        hist = JSON.stringify(entry);
        outbox = JSON.stringify(this.outbox.entry(record, fields, change, at));
      } else if (change.event) {
        const ev = change.event;
        if (record.events.some((e) => e.kind === ev.kind && e.id === ev.id)) return { kind: 'ignored', record, reason: 'duplicate' };
        const entry: InvoiceEventEntry = { id: ev.id, kind: ev.kind, at: at.toISOString(), ...ev.detail };
        fields.events = [...record.events, entry].map((e) => JSON.stringify(e)).join('\n');
        outbox = JSON.stringify(this.outbox.entry(record, fields, change, at));
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
        this.polls.key(lane),
        this.unpaidIndex(lane),
        ...this.listing.changeKeys(lane, record.status, fields.status as Status | undefined),
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
    const keys = this.layout.allKeys().flatMap((k) => [lookupKey(k, 'pid', value), lookupKey(k, 'tx', value)]);
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
    const keys = this.layout.keysOf(after.lane);
    await this.scripts.apply(
      this.recordKey(after.id),
      keys.outbox,
      keys.queued,
      keys.reconcile,
      keys.open,
      this.polls.key(after.lane),
      this.unpaidIndex(after.lane),
      ...this.listing.changeKeys(after.lane, after.status, undefined),
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
}
