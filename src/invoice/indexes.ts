/**
 * The indexes the store keeps beside the records, and what reads them: which orders are queued,
 * open or parked, the unpaid slots of a capped lane, the poll index (poll-index.ts) and the
 * listing (listing.ts), the outbox's reads (outbox.ts), the sweeper's rolling scans, and the
 * connection's health. The records' own writes (accept, apply) keep these indexes in the same
 * step; they are in store.ts, whose `InvoiceStore` is this class with the records added.
 */
import { Cluster, type Redis } from 'ioredis';
import { invoiceId } from '../ids.ts';
import { LuaScript, luaOn, type LuaOn } from '../redis/lua.ts';
import type { StoreKeys, StoreLayout } from './keys.ts';
import { Listing, type ListPosition } from './listing.ts';
import { Outbox, type OutboxEntry } from './outbox.ts';
import { PollIndex } from './poll-index.ts';
import { laneOfId, parseRecordId, type InvoiceRecord } from './record.ts';
import type { Status } from './state.ts';

const SCRIPTS = {
  reserveUnpaid: new LuaScript<[unpaid: string, id: string, cap: string, now: string], number>('iwReserveUnpaid', 1, new URL('./lua/reserve-unpaid.lua', import.meta.url)),
};

/** Where a rolling scan over every lane prefix's index stands: kept by the caller between rounds, read by the store alone. */
export type ScanCursor = Map<string, number>;

export class StoreIndexes {
  protected readonly polls: PollIndex;
  protected readonly listing: Listing;
  protected readonly outbox: Outbox;
  private readonly indexScripts: LuaOn<typeof SCRIPTS>;

  protected constructor(
    protected readonly redis: Redis | Cluster,
    protected readonly layout: StoreLayout,
    resultId: (lane: string, foreignId: string, status: string) => string,
    /** `RECORD_RETENTION` (ms; 0: records are kept for ever): see `StoreOptions`. */
    protected readonly recordRetentionMs: number,
  ) {
    this.indexScripts = luaOn(redis, SCRIPTS);
    this.polls = new PollIndex(redis, layout);
    this.listing = new Listing(redis, layout, recordRetentionMs);
    this.outbox = new Outbox(redis, layout, resultId);
  }

  /** Keys of each distinct lane prefix (for the relay, which owns the outboxes' lock and trim, and tests). */
  allKeys(): StoreKeys[] {
    return this.layout.allKeys();
  }

  recordKey(id: string): string {
    return this.layout.recordKey(id);
  }

  /** A lane's poll index (poll-index.ts). */
  pollIndex(lane: string): string {
    return this.polls.key(lane);
  }

  /**
   * A lane's unpaid index: the orders holding one of the account's unpaid-invoice slots (queued
   * with a slot reserved, created, pending). Only lanes whose provider caps unpaid invoices
   * reserve slots (CryptoSteroid); every change that leaves those statuses frees one in the same step.
   */
  unpaidIndex(lane: string): string {
    return `${this.layout.keysOf(lane).prefix}:idx:unpaid:${lane}`;
  }

  /** Takes a slot of the lane's unpaid index for the order, unless `cap` are taken: false then (nothing is sent). */
  async reserveUnpaid(lane: string, foreignId: string, cap: number): Promise<boolean> {
    return (await this.indexScripts.reserveUnpaid(this.unpaidIndex(lane), invoiceId(lane, foreignId), String(cap), String(Date.now()))) === 1;
  }

  /** Gives a slot back (the create was refused, or the order was cancelled before it went out). */
  async releaseUnpaid(lane: string, foreignId: string): Promise<void> {
    await this.redis.zrem(this.unpaidIndex(lane), invoiceId(lane, foreignId));
  }

  /** How many unpaid invoices (and reserved slots) each lane holds. */
  async unpaidCount(lane: string): Promise<number> {
    return this.redis.zcard(this.unpaidIndex(lane));
  }

  /** A lane's listing index (listing.ts): every record of the lane, scored by its last change. */
  listingIndex(lane: string): string {
    return this.listing.index(lane);
  }

  /** A lane's index of the records in one status (listing.ts), scored by when they entered it. */
  statusIndex(lane: string, status: Status): string {
    return this.listing.statusIndex(lane, status);
  }

  /** A page of the lanes' records in listing order (listing.ts `page`). */
  async listPage(lanes: readonly string[], q: Parameters<Listing['page']>[1]): Promise<{ records: InvoiceRecord[]; next: ListPosition | null }> {
    return this.listing.page(lanes, q);
  }

  /** Takes out listing entries of records that expired (listing.ts `trim`); for the sweeper. Returns how many. */
  async trimListing(lanes: readonly string[], now = Date.now(), limit = 1000): Promise<number> {
    return this.listing.trim(lanes, now, limit);
  }

  /**
   * Orders still `queued` (and not parked) since before `olderThanMs`, a page at a time from
   * `offset`, for the sweeper's rolling scan: orders whose job sits in the failed set stay in the
   * index and must not hide newer ones.
   */
  async queuedBefore(olderThanMs: number, limit = 500, offset = 0, keys: StoreKeys = this.layout.keys): Promise<string[]> {
    return this.redis.zrangebyscore(keys.queued, '-inf', String(olderThanMs), 'LIMIT', offset, limit);
  }

  /**
   * A page of open invoices (at the provider, not terminal) for the poll sweeper's rolling scan, by
   * rank in the order they opened; `next` is 0 once the end is reached. Entries leaving the index
   * between pages may make a page skip a few ids: the next round covers them.
   */
  async openPage(cursor: number, limit = 500, keys: StoreKeys = this.layout.keys): Promise<{ ids: string[]; next: number }> {
    const ids = await this.redis.zrange(keys.open, cursor, cursor + limit - 1);
    return { ids, next: ids.length < limit ? 0 : cursor + ids.length };
  }

  /**
   * The sweeper's rolling scan of orders still `queued` (`queuedBefore`): a page of up to `limit`
   * per lane prefix, from where `cursor` left that prefix (back to its start after a short page),
   * each record id with its lane. A page is read only once the one before was handled.
   */
  async *queuedScan(olderThanMs: number, limit: number, cursor: ScanCursor): AsyncGenerator<Array<{ id: string; lane: string }>> {
    for (const keys of this.layout.allKeys()) {
      const at = cursor.get(keys.prefix) ?? 0;
      const ids = await this.queuedBefore(olderThanMs, limit, at, keys);
      cursor.set(keys.prefix, ids.length < limit ? 0 : at + ids.length);
      yield ids.map((id) => ({ id, lane: laneOfId(id) }));
    }
  }

  /**
   * The sweeper's rolling scan of open invoices (`openPage`): a page of up to `limit` per lane
   * prefix, from where `cursor` left that prefix, each invoice as its lane and foreign_id (an entry
   * that is no record id is passed over). A page is read only once the one before was handled.
   */
  async *openScan(limit: number, cursor: ScanCursor): AsyncGenerator<Array<{ lane: string; foreignId: string }>> {
    for (const keys of this.layout.allKeys()) {
      const { ids, next } = await this.openPage(cursor.get(keys.prefix) ?? 0, limit, keys);
      cursor.set(keys.prefix, next);
      yield ids.map(parseRecordId).filter((p) => p !== null);
    }
  }

  /** Schedules the invoice's first poll at `at` (ms) in its lane's poll index; an earlier schedule stands (poll-index.ts `add`). */
  async indexPoll(lane: string, foreignId: string, at: number): Promise<void> {
    await this.polls.add(lane, foreignId, at);
  }

  /** Up to `limit` record ids of the lane whose first poll is due by `now`, each held back `leaseMs` until `pollsScheduled` (poll-index.ts `claimDue`). */
  async claimDuePolls(lane: string, now: number, limit: number, leaseMs: number): Promise<string[]> {
    return this.polls.claimDue(lane, now, limit, leaseMs);
  }

  /** Takes claimed ids out of the poll index once their poll jobs exist. */
  async pollsScheduled(lane: string, ids: readonly string[]): Promise<void> {
    await this.polls.scheduled(lane, ids);
  }

  /** Whether each of these invoices of the lane waits in the poll index. */
  async inPollIndex(lane: string, foreignIds: readonly string[]): Promise<boolean[]> {
    return this.polls.has(lane, foreignIds);
  }

  /** Invoices waiting in the lanes' poll indexes for their first poll. */
  async pollIndexCount(lanes: readonly string[]): Promise<number> {
    return this.polls.count(lanes);
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
    return this.outbox.length();
  }

  /** The unpublished entries, oldest first, over every lane prefix (for tools and tests). */
  async outboxEntries(): Promise<OutboxEntry[]> {
    return this.outbox.entries();
  }

  /** When the oldest unpublished result happened (ms), or null when every outbox is empty. */
  async oldestOutboxAt(): Promise<number | null> {
    return this.outbox.oldestAt();
  }

  /** How many orders are parked for an operator, over every lane prefix. */
  async parkedCount(): Promise<number> {
    return sum(this.layout.allKeys().map((k) => this.redis.zcard(k.reconcile)));
  }

  /** How many orders are accepted and not yet at the provider (the queued index), over every lane prefix. */
  async queuedCount(): Promise<number> {
    return sum(this.layout.allKeys().map((k) => this.redis.zcard(k.queued)));
  }

  /** Invoices parked for an operator (any status with `reconcile` set), oldest first. */
  async parked(limit = 1000): Promise<string[]> {
    const all = await Promise.all(this.layout.allKeys().map((k) => this.redis.zrange(k.reconcile, 0, limit - 1, 'WITHSCORES')));
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
