/**
 * Lanes. A lane is one provider account: (provider, account name). It is the unit the system
 * isolates, throttles and scales: each lane has its own credentials, its own create and poll
 * queues with their own concurrency and rate limit, its own circuit breaker and webhook route, and
 * on a Redis Cluster its own hash tag. Nothing here knows a provider: the adapters declare what is
 * provider-shaped (src/providers/registry.ts).
 *
 * Names. A lane's key is `<provider>` for the `default` account and `<provider>@<account>` for
 * any other: record ids, job ids and result ids are built from it, so everything written before
 * accounts existed (all of it the default account's) keeps its id.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { CreateQueue } from '../../queues/create.ts';
import type { PollQueue } from '../../queues/poll.ts';
import type { Breaker } from './breaker.ts';
import type { LanePause } from './pause.ts';
import { ConfigError, type FieldIssue } from '../errors.ts';
import type { ProviderAdapter } from '../providers/types.ts';

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

/** How one lane works the queue: every field optional in the accounts file, defaults from the environment. */
export const LaneTuningSchema = z.strictObject({
  /** Create requests in flight at once, per worker process. */
  concurrency: z.number().int().min(1).max(1000).optional(),
  /** At most `max` creates per `duration_ms` for the whole lane, across every process (BullMQ's queue limiter). */
  rate_limit: z.strictObject({ max: z.number().int().min(1).max(100_000), duration_ms: z.number().int().min(10).max(3_600_000) }).optional(),
  /** Status lookups of this lane: concurrency and a limiter across every process. */
  poll_concurrency: z.number().int().min(1).max(1000).optional(),
  poll_rate_limit: z.strictObject({ max: z.number().int().min(1).max(100_000), duration_ms: z.number().int().min(10).max(3_600_000) }).optional(),
  /** Poll cadence of an open invoice that has a deadline (the adapter's default otherwise). */
  poll_ms: z.number().int().min(10).max(86_400_000).optional(),
  /** The circuit breaker: this many transport errors, timeouts or 5xx in a row open it. */
  breaker_failures: z.number().int().min(1).max(1000).optional(),
  /** First wait while open; doubled after each failed probe up to `breaker_max_ms`. */
  breaker_open_ms: z.number().int().min(10).max(3_600_000).optional(),
  breaker_max_ms: z.number().int().min(10).max(86_400_000).optional(),
  /** Give this lane's keys their own Redis Cluster hash tag, so lanes spread over masters. */
  hash_tag: z.boolean().optional(),
});
export type LaneTuningInput = z.infer<typeof LaneTuningSchema>;

export interface LaneTuning {
  concurrency: number;
  rateLimit?: { max: number; duration: number };
  pollConcurrency: number;
  pollRateLimit: { max: number; duration: number };
  pollMs?: number;
  breakerFailures: number;
  breakerOpenMs: number;
  breakerMaxMs: number;
  hashTag: boolean;
}

/** One configured account, before its adapter is built. `settings` is what its adapter's schema parsed. */
export interface AccountConfig extends LaneRef {
  settings: unknown;
  tuning: LaneTuningInput;
  /**
   * Hosts of this account's payment pages besides its provider's (`payment_hosts` in the accounts
   * file): an attached payment URL must be https on one of them. An entry with a scheme is an exact
   * origin (the built-in sandbox's `http://127.0.0.1:<port>`).
   */
  paymentHosts?: string[];
  /** Where it was configured, for messages: `env` or the accounts file's path. */
  source: string;
}

/** What the accounts file needs from each provider's declaration. */
export interface AccountSchemaSource {
  id: string;
  settings: z.ZodType;
}

const FileSchema = z.strictObject({
  accounts: z.array(z.looseObject({ provider: z.string(), account: AccountName, lane: z.unknown().optional(), payment_hosts: z.unknown().optional() })),
});

/** A payment host as the accounts file names it: a DNS name, lower case, no scheme, port or path. */
const PaymentHosts = z.array(z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a host name, e.g. pay.example.com')).max(50);

/**
 * Reads the accounts file: `{"accounts": [{"provider", "account", ...settings, "lane": {...}}]}`.
 * A setting may be `{"env": "NAME"}` to take a secret from the environment instead of the file.
 * Every problem names the file, the account and the field; nothing is half-loaded.
 */
export function loadAccountsFile(path: string, providers: ReadonlyMap<string, AccountSchemaSource>, env: NodeJS.ProcessEnv): AccountConfig[] {
  const where = (field: string): string => `${path}: ${field}`;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([{ field: 'ACCOUNTS_FILE', message: `${path} could not be read as JSON (${(err as Error).message})` }]);
  }
  const file = FileSchema.safeParse(json);
  if (!file.success) {
    throw new ConfigError(file.error.issues.map((i) => ({ field: where(i.path.map(String).join('.') || '(file)'), message: i.message })));
  }
  const problems: FieldIssue[] = [];
  const out: AccountConfig[] = [];
  const seen = new Set<string>();
  file.data.accounts.forEach((entry, index) => {
    const name = `accounts[${index}] (${entry.provider}/${entry.account})`;
    const module = providers.get(entry.provider);
    if (!module) {
      problems.push({ field: where(`${name}.provider`), message: `unknown provider (known: ${[...providers.keys()].join(', ')})` });
      return;
    }
    const key = laneKey(entry.provider, entry.account);
    if (seen.has(key)) problems.push({ field: where(`${name}.account`), message: 'configured twice' });
    seen.add(key);
    const { provider: _p, account: _a, lane, payment_hosts, ...rest } = entry;
    const hosts = PaymentHosts.safeParse(payment_hosts ?? []);
    if (!hosts.success) {
      for (const i of hosts.error.issues) problems.push({ field: where(`${name}.payment_hosts${i.path.map((p) => `[${String(p)}]`).join('')}`), message: i.message });
    }
    const resolved: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rest)) {
      const ref = z.strictObject({ env: z.string().min(1) }).safeParse(v);
      if (!ref.success) resolved[k] = v;
      else if (env[ref.data.env]) resolved[k] = env[ref.data.env];
      else problems.push({ field: where(`${name}.${k}`), message: `names environment variable ${ref.data.env}, which is not set` });
    }
    const settings = module.settings.safeParse(resolved);
    if (!settings.success) {
      for (const i of settings.error.issues) problems.push({ field: where(`${name}.${i.path.map(String).join('.') || '(settings)'}`), message: i.message });
    }
    const tuning = LaneTuningSchema.safeParse(lane ?? {});
    if (!tuning.success) {
      for (const i of tuning.error.issues) problems.push({ field: where(`${name}.lane.${i.path.map(String).join('.')}`), message: i.message });
    }
    if (settings.success && tuning.success) {
      out.push({
        provider: entry.provider,
        account: entry.account,
        settings: settings.data,
        tuning: tuning.data,
        source: path,
        ...(hosts.success && hosts.data.length ? { paymentHosts: hosts.data } : {}),
      });
    }
  });
  if (problems.length) throw new ConfigError(problems);
  return out;
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
 * The default account from a provider's environment variables: `names` maps each setting to its
 * variable. The credential settings come together: none set means no default account, some set
 * is an error naming the missing ones.
 */
export function envAccount(
  env: Readonly<Record<string, unknown>>,
  names: Record<string, string>,
  credentials: readonly string[],
): {
  settings?: Record<string, unknown>;
  names: Record<string, string>;
  problems: FieldIssue[];
} {
  const settings: Record<string, unknown> = {};
  for (const [setting, variable] of Object.entries(names)) if (env[variable] !== undefined) settings[setting] = env[variable];
  const set = credentials.filter((k) => settings[k] !== undefined);
  if (!set.length) return { names, problems: [] };
  if (set.length < credentials.length) {
    const given = set.map((k) => names[k]).join(', ');
    return { names, problems: credentials.filter((k) => settings[k] === undefined).map((k) => ({ field: names[k] ?? k, message: `required when ${given} is set` })) };
  }
  return { settings, names, problems: [] };
}

/** A running lane: its adapter, tuning, queues and breaker (built in src/system.ts). */
export interface Lane extends LaneRef {
  readonly key: string;
  /** Key prefix of its queues and records (see `lanePrefix`). */
  readonly prefix: string;
  readonly adapter: ProviderAdapter;
  readonly tuning: LaneTuning;
  readonly createQueue: CreateQueue;
  readonly pollQueue: PollQueue;
  readonly breaker: Breaker;
  /** Where its payment pages live: the provider's hosts and the account's `payment_hosts` (attach checks against them). */
  readonly paymentHosts: readonly string[];
  /** Why its create queue is paused, while it is (the board names it). */
  readonly pause: LanePause;
}

export type Lanes = ReadonlyMap<string, Lane>;

/** The tuning of one lane: its own settings over the environment's defaults. */
export function laneTuning(input: LaneTuningInput, env: LaneDefaults): LaneTuning {
  return {
    concurrency: input.concurrency ?? env.CREATE_CONCURRENCY,
    ...(input.rate_limit ? { rateLimit: { max: input.rate_limit.max, duration: input.rate_limit.duration_ms } } : {}),
    pollConcurrency: input.poll_concurrency ?? env.POLL_CONCURRENCY,
    pollRateLimit: input.poll_rate_limit
      ? { max: input.poll_rate_limit.max, duration: input.poll_rate_limit.duration_ms }
      : { max: env.POLL_RATE_MAX, duration: env.POLL_RATE_DURATION_MS },
    ...(input.poll_ms ? { pollMs: input.poll_ms } : {}),
    breakerFailures: input.breaker_failures ?? env.BREAKER_FAILURES,
    breakerOpenMs: input.breaker_open_ms ?? env.BREAKER_OPEN_MS,
    breakerMaxMs: input.breaker_max_ms ?? env.BREAKER_MAX_MS,
    hashTag: input.hash_tag ?? env.LANE_HASH_TAGS,
  };
}

export interface LaneDefaults {
  CREATE_CONCURRENCY: number;
  POLL_CONCURRENCY: number;
  POLL_RATE_MAX: number;
  POLL_RATE_DURATION_MS: number;
  BREAKER_FAILURES: number;
  BREAKER_OPEN_MS: number;
  BREAKER_MAX_MS: number;
  LANE_HASH_TAGS: boolean;
}

/** One lane's state, for /metrics, /readyz and the CLI. */
export interface LaneStatus {
  lane: string;
  provider: string;
  account: string;
  breaker: 'closed' | 'open' | 'half-open';
  /** Transport errors, timeouts or 5xx in a row (while closed). */
  failures: number;
  /** While open: when the next probe may go (ISO-8601). */
  probe_at: string | null;
  /** Orders waiting to be sent (waiting, delayed for backoff, or held by a rate limit). */
  waiting: number;
  /** Submissions that ran out of attempts, waiting for an operator. */
  failed: number;
  /** How long the oldest waiting order has waited (s); 0 when none waits. */
  oldest_wait_seconds: number;
  /** How long the lane's create queue stays paused by a provider limit or an open breaker (s); 0 when it runs. */
  paused_seconds: number;
  /** Lanes whose provider caps unpaid invoices: how many the lane holds (or has reserved), and its cap. */
  unpaid?: number;
  max_unpaid?: number;
}

export async function describeLane(lane: Lane, now = Date.now(), unpaid?: (lane: string) => Promise<number>): Promise<LaneStatus> {
  const cap = lane.adapter.maxUnpaid;
  const [breaker, counts, oldest, ttl, held] = await Promise.all([
    lane.breaker.status(),
    lane.createQueue.getJobCounts('wait', 'delayed', 'prioritized', 'failed'),
    lane.createQueue.getJobs(['wait', 'prioritized', 'delayed'], 0, 0, true),
    lane.createQueue.getRateLimitTtl(),
    cap !== undefined && unpaid ? unpaid(lane.key) : Promise.resolve(undefined),
  ]);
  // One from the head of each list: the oldest of them is the lane's oldest wait.
  const first = oldest.filter(Boolean).sort((a, b) => a.timestamp - b.timestamp)[0];
  return {
    lane: lane.key,
    provider: lane.provider,
    account: lane.account,
    breaker: breaker.state,
    failures: breaker.failures,
    probe_at: breaker.until ? new Date(breaker.until).toISOString() : null,
    waiting: (counts.wait ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0),
    failed: counts.failed ?? 0,
    oldest_wait_seconds: first ? Math.max(0, (now - first.timestamp) / 1000) : 0,
    paused_seconds: Math.max(0, Number(ttl) || 0) / 1000,
    ...(cap !== undefined && held !== undefined ? { unpaid: held, max_unpaid: cap } : {}),
  };
}
