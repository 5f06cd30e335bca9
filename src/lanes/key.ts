/**
 * Lane keys: the only lane module the domain imports. A lane is one provider account, (provider,
 * account name); see ./lane.ts for the running lane.
 *
 * Names. A lane's key is `<provider>` for the `default` account and `<provider>@<account>` for
 * any other: record ids, job ids and result ids are built from it, so everything written before
 * accounts existed (all of it the default account's) keeps its id.
 */
import { z } from 'zod';

export const DEFAULT_ACCOUNT = 'default';

/** Account names: short, lower case, no `.` `@` or `:` (they separate the parts of ids and keys). */
export const AccountName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1-32 characters: a-z, 0-9, _ and -, starting with a letter or digit');

export interface LaneRef {
  provider: string;
  account: string;
}

export function laneKey(provider: string, account: string = DEFAULT_ACCOUNT): string {
  return account === DEFAULT_ACCOUNT ? provider : `${provider}@${account}`;
}

export function parseLaneKey(key: string): LaneRef {
  const at = key.indexOf('@');
  return at < 0 ? { provider: key, account: DEFAULT_ACCOUNT } : { provider: key.slice(0, at), account: key.slice(at + 1) };
}

/**
 * The key prefix of a lane's queues and records. Without a hash tag of its own a lane shares the
 * system's prefix (one Redis: nothing changes on disk). With one, the system prefix's tag is
 * replaced by a tag naming the lane, `{iw}` -> `{iw.cryptoprocessing@lt}`, so each lane's keys sit
 * in a slot of their own and lanes spread over a cluster's masters, while every key one Lua
 * script touches (a record, its lane's outbox and indexes) still shares one slot.
 */
export function lanePrefix(systemPrefix: string, key: string, ownTag: boolean): string {
  if (!ownTag) return systemPrefix;
  const m = /\{([^}]+)\}/.exec(systemPrefix);
  if (!m) return `${systemPrefix}{${systemPrefix}.${key}}`;
  return systemPrefix.replace(m[0], `{${m[1]}.${key}}`);
}

/** `cryptoprocessing,alphapo@eu` -> the lane keys a worker process runs; unset: all. */
export function parseLaneList(value: string | undefined): string[] | undefined {
  if (!value) return undefined;
  const keys = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return keys.length ? keys : undefined;
}

/**
 * The lanes `LANES` names (`parseLaneList`), each checked against the configured accounts: an
 * unknown one throws, naming it and the configured lanes. Checked before anything connects.
 */
export function lanesToRun(value: string | undefined, accounts: readonly LaneRef[]): string[] | undefined {
  const configured = accounts.map((a) => laneKey(a.provider, a.account));
  const run = parseLaneList(value);
  for (const key of run ?? []) if (!configured.includes(key)) throw new Error(`LANES names ${key}, which is not a configured lane (${configured.join(', ')})`);
  return run;
}
