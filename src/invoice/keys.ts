/**
 * Where the store's keys are: one set per lane prefix (the records, the outbox, the indexes), and
 * which lane prefix holds a lane's records. Only the store's own modules (store.ts, indexes.ts,
 * listing.ts, poll-index.ts, outbox.ts) name keys; everyone else asks the store.
 *
 * All keys share the configured prefix; with a `{hash tag}` prefix they live in one Redis Cluster
 * slot, which the multi-key scripts need. A lane with a hash tag of its own (src/lanes/key.ts
 * `lanePrefix`) has a prefix, and so a set of keys, of its own.
 */
import { laneOfId } from './record.ts';

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

/** Every lane prefix's keys, and which one a lane's records are under. */
export class StoreLayout {
  /** The system prefix's keys (every lane's, unless lanes have hash tags of their own). */
  readonly keys: StoreKeys;
  private readonly byPrefix = new Map<string, StoreKeys>();

  /**
   * `prefixOf` names the key prefix of a lane (src/lanes/key.ts `lanePrefix`); `lanePrefixes` lists
   * every distinct one this system writes, for the relay, the sweeper and the metrics to visit.
   */
  constructor(
    prefix: string,
    private readonly prefixOf: (lane: string) => string = () => prefix,
    lanePrefixes: readonly string[] = [prefix],
  ) {
    this.keys = storeKeys(prefix);
    for (const p of new Set([prefix, ...lanePrefixes])) this.byPrefix.set(p, storeKeys(p));
  }

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

  recordKey(id: string): string {
    return `${this.keysOf(laneOfId(id)).prefix}:inv:${id}`;
  }
}
