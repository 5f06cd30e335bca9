/**
 * The poll index: per lane, the open invoices waiting for their first poll, scored by when it is
 * due. An invoice gets its poll job only then (src/background/poll-scheduler.ts), so one that ends
 * before (paid by callback within minutes, as most are) never costs a job. apply.lua writes an
 * entry in the same step as the change that opens an invoice (`Change.firstPoll`) and removes it in
 * the same step as the change that finishes one; `add` is for everyone else who opens an invoice
 * (src/invoice/polling.ts `schedulePoll`).
 */
import type { Cluster, Redis } from 'ioredis';
import { invoiceId } from '../ids.ts';
import { LuaScript, luaOn, type LuaOn } from '../redis/lua.ts';
import type { StoreLayout } from './keys.ts';

const SCRIPTS = {
  claim: new LuaScript<[pollIndex: string, now: string, limit: string, leaseMs: string], string[]>('iwClaimPolls', 1, new URL('./lua/claim-polls.lua', import.meta.url)),
};

export class PollIndex {
  private readonly scripts: LuaOn<typeof SCRIPTS>;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly layout: StoreLayout,
  ) {
    this.scripts = luaOn(redis, SCRIPTS);
  }

  /** A lane's poll index (in the lane's prefix: apply.lua writes it with the record). */
  key(lane: string): string {
    return `${this.layout.keysOf(lane).prefix}:idx:poll:${lane}`;
  }

  /**
   * Schedules the invoice's first poll at `at` (ms) in its lane's poll index. An earlier schedule
   * stands (ZADD LT): scheduling again never pushes a poll back.
   */
  async add(lane: string, foreignId: string, at: number): Promise<void> {
    await this.redis.zadd(this.key(lane), 'LT', String(Math.round(at)), invoiceId(lane, foreignId));
  }

  /** Up to `limit` record ids of the lane whose first poll is due by `now`, each held back `leaseMs` until `scheduled` (see lua/claim-polls.lua). */
  async claimDue(lane: string, now: number, limit: number, leaseMs: number): Promise<string[]> {
    return this.scripts.claim(this.key(lane), String(now), String(limit), String(leaseMs));
  }

  /** Takes claimed ids out of the poll index once their poll jobs exist. */
  async scheduled(lane: string, ids: readonly string[]): Promise<void> {
    if (ids.length) await this.redis.zrem(this.key(lane), ...ids);
  }

  /** Whether each of these invoices of the lane waits in the poll index. */
  async has(lane: string, foreignIds: readonly string[]): Promise<boolean[]> {
    if (!foreignIds.length) return [];
    const scores = await this.redis.zmscore(this.key(lane), ...foreignIds.map((f) => invoiceId(lane, f)));
    return scores.map((s) => s !== null);
  }

  /** Invoices waiting in the lanes' poll indexes for their first poll. */
  async count(lanes: readonly string[]): Promise<number> {
    const counts = await Promise.all(lanes.map((l) => this.redis.zcard(this.key(l))));
    return counts.reduce((a, b) => a + b, 0);
  }
}
