/**
 * Listing (GET /v1/invoices): each lane's listing index (every record, scored by its last change)
 * and its status indexes (the records in one status, scored by when they entered it), written by
 * accept.lua and apply.lua in the same step as each change. Read here a page at a time from a
 * cursor, and kept free of records that expired (RECORD_RETENTION).
 */
import type { Cluster, Redis } from 'ioredis';
import { LuaScript, luaOn, type LuaOn } from '../redis/lua.ts';
import type { StoreLayout } from './keys.ts';
import { fromRaw, type InvoiceRecord } from './record.ts';
import { TERMINAL, type Status } from './state.ts';

/** A position in a listing: the index score (ms) and the record id of the last record served. */
export interface ListPosition {
  at: number;
  id: string;
}

/** Status indexes whose records can expire (terminal ones; a parked record is kept and so is its entry). */
const TRIMMED: readonly Status[] = [...TERMINAL];

const SCRIPTS = {
  zremIfGone: new LuaScript<[index: string, record: string, id: string], number>('iwZremIfGone', 2, new URL('./lua/zrem-if-gone.lua', import.meta.url)),
};

export class Listing {
  private readonly scripts: LuaOn<typeof SCRIPTS>;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly layout: StoreLayout,
    /** The store's RECORD_RETENTION (ms; 0: records are kept for ever, and so are their entries). */
    private readonly recordRetentionMs: number,
  ) {
    this.scripts = luaOn(redis, SCRIPTS);
  }

  /**
   * A lane's listing index (GET /v1/invoices): every record of the lane, scored by its last change
   * (ms), written by accept.lua and apply.lua in the same step as each change. Entries of records
   * that expired (RECORD_RETENTION) are taken out by `trim` and when a page meets them.
   */
  index(lane: string): string {
    return `${this.layout.keysOf(lane).prefix}:idx:chg:${lane}`;
  }

  /**
   * A lane's index of the records in one status, scored by when they entered it: a page through
   * one status meets each invoice that stays in it once, while others enter it behind the cursor.
   */
  statusIndex(lane: string, status: Status): string {
    return `${this.layout.keysOf(lane).prefix}:idx:st:${status}:${lane}`;
  }

  /** The last listing score given under the lane's prefix (see lua/listing-score.lua). */
  clock(lane: string): string {
    return `${this.layout.keysOf(lane).prefix}:idx:clock`;
  }

  /** apply.lua's listing keys: the lane's listing index, the status index before and after the change, the prefix's listing clock. */
  changeKeys(lane: string, from: Status, to: Status | undefined): [string, string, string, string] {
    return [this.index(lane), this.statusIndex(lane, from), this.statusIndex(lane, to ?? from), this.clock(lane)];
  }

  /**
   * A page of the lanes' records in listing order: by the index score (last change, or with
   * `status` the time they entered it), then by id, strictly after `after`, within
   * [`since`, `until`] (ms, inclusive). Each lane's index is read from the cursor on (no scan), the
   * lanes' entries merged. `next` is the position of the last record of the page when more may
   * follow, else null. Records that expired since are dropped from the index and skipped; with
   * `status`, so are records that left it between the index read and the record read.
   */
  async page(
    lanes: readonly string[],
    q: { status?: Status; since?: number; until?: number; after?: ListPosition; limit: number },
  ): Promise<{ records: InvoiceRecord[]; next: ListPosition | null }> {
    const min = Math.max(q.since ?? 0, q.after?.at ?? 0);
    const max = q.until === undefined ? '+inf' : String(q.until);
    const want = q.limit + 1;
    const perLane = await Promise.all(
      lanes.map(async (lane) => {
        const key = q.status ? this.statusIndex(lane, q.status) : this.index(lane);
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
    const raws = await Promise.all(page.map((e) => this.redis.hgetall(this.layout.recordKey(e.id))));
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
    await this.scripts.zremIfGone(key, this.layout.recordKey(id), id);
  }

  /**
   * Retention of the listing indexes: a finished record expires RECORD_RETENTION after its last
   * change, so only entries scored before `now - retention` can name a gone record. Up to `limit`
   * of those per index are checked and removed when their record is gone; for the sweeper.
   * Returns how many entries it removed.
   */
  async trim(lanes: readonly string[], now = Date.now(), limit = 1000): Promise<number> {
    if (this.recordRetentionMs <= 0) return 0;
    const before = String(now - this.recordRetentionMs);
    let removed = 0;
    for (const lane of lanes) {
      for (const key of [this.index(lane), ...TRIMMED.map((s) => this.statusIndex(lane, s))]) {
        const ids = await this.redis.zrangebyscore(key, '-inf', before, 'LIMIT', 0, limit);
        if (!ids.length) continue;
        const exists = await Promise.all(ids.map((id) => this.redis.exists(this.layout.recordKey(id))));
        const gone = ids.filter((_id, i) => exists[i] === 0);
        for (const id of gone) await this.zremIfGone(key, id);
        removed += gone.length;
      }
    }
    return removed;
  }
}
