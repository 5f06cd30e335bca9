/**
 * Configuration from the environment, parsed once at boot and frozen. A bad value stops the
 * process with a message naming the variable (see `ConfigError`).
 */
import { z } from 'zod';
import { ActorName, loadKeysFile } from './access/api-keys.ts';
import { loadAdminUsers, type AdminUser } from './access/admin-users.ts';
import { ConfigError } from './errors.ts';
import { DEFAULT_ACCOUNT } from './lanes/key.ts';
import { loadAccountsFile, type AccountConfig } from './lanes/accounts.ts';
import { providerModules, type ProviderModules } from './providers/registry.ts';
import { secretIssue } from './results/signing.ts';
import { targetUrlIssue } from './results/target.ts';
import { hashTag, isClusterUrl, isSentinelUrl, parseClusterUrl, parseSentinelUrl } from './redis/connect.ts';

const optionalString = z.string().trim().min(1).optional();
const optionalUrl = z.url({ protocol: /^https?$/ }).optional();
const port = z
  .string()
  .trim()
  .regex(/^\d{1,5}$/, 'must be a port number')
  .transform(Number)
  .pipe(z.number().max(65535));

/** Seconds in each unit of a retention duration. */
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * A retention window: `0`, or a whole number of seconds, minutes, hours or days (`90s`, `15m`,
 * `1h`, `30d`); parsed to seconds. At most 10 years.
 */
const duration = z
  .string()
  .trim()
  .regex(/^(0|[1-9]\d{0,6}[smhd])$/, 'must be 0 or a whole number followed by s, m, h or d, e.g. 30d')
  .transform((v) => (v === '0' ? 0 : Number(v.slice(0, -1)) * (UNIT_SECONDS[v.slice(-1)] ?? 0)))
  .pipe(z.number().max(10 * 365 * 86_400, 'must be at most 10 years'));
/** A job retention window: never 0 (BullMQ would read an age of 0 as no age limit). */
const jobAge = duration.pipe(z.number().min(1, 'must be longer than 0'));
const jobCount = z.coerce.number().int().min(1).max(10_000_000);

const singleRedisUrl = z.url({ protocol: /^rediss?$/ });
function redisUrl(value: string): boolean {
  if (!isClusterUrl(value) && !isSentinelUrl(value)) return singleRedisUrl.safeParse(value).success;
  try {
    return (parseClusterUrl(value) ?? parseSentinelUrl(value)) !== undefined;
  } catch {
    return false;
  }
}

const EnvSchema = z.object({
  /**
   * One Redis (`redis://`, `rediss://`), a Redis Cluster (`redis+cluster://host:port,host:port`) or
   * a primary found through Sentinel (`redis+sentinel://host:port,host:port/master-name`), see redis.ts.
   */
  REDIS_URL: z
    .string()
    .trim()
    .refine(redisUrl, 'must be a redis:// or rediss:// URL, redis+cluster://host:port[,host:port...] or redis+sentinel://host:port[,host:port...]/master-name')
    .optional(),
  /**
   * `replica`: an accepted order is answered, and a submission sent, only once Redis WAIT says
   * DURABILITY_REPLICAS replicas hold it (src/redis/durability.ts); `off`: Redis' asynchronous replication.
   */
  DURABILITY: z.enum(['off', 'replica']).default('off'),
  DURABILITY_REPLICAS: z.coerce.number().int().min(1).max(16).default(1),
  /** How long one WAIT may block before the write counts as not confirmed (503, or a retried job). */
  DURABILITY_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /**
   * While Redis does not answer (frozen, down, failing over), API requests and provider callbacks
   * are answered 503 with Retry-After after at most about this long, instead of waiting for it.
   */
  REDIS_UNAVAILABLE_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  PORT: port.default(3000),
  HOST: z.string().default('0.0.0.0'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}.-]{1,64}$/, 'letters, digits, _ . - and a {hash tag} only')
    .default('iw'),
  /** A full-access API key with id `default` (src/access/api-keys.ts). */
  API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** API keys with scopes and lanes: a JSON file of token hashes, reloaded when it changes (docs/security.md). */
  API_KEYS_FILE: optionalString,
  /** Failed authentications per client address within a minute before it gets 429 (api, admin, metrics); 0: no brake. */
  AUTH_FAILURE_LIMIT: z.coerce.number().int().min(0).max(100_000).default(10),
  PUBLIC_BASE_URL: optionalUrl,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  // Operations (src/http/admin.ts, src/http/ops.ts, src/main.ts).
  /** Bull Board sign-in (HTTP Basic). Without both, the board is off (open only in sandbox mode). */
  ADMIN_USER: ActorName.optional(),
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  /** `viewer`: read-only board; `operator`: may retry, promote, pause and clean jobs (ADMIN_USER's role). */
  ADMIN_ROLE: z.enum(['viewer', 'operator']).default('viewer'),
  /** More Bull Board users, each a viewer or an operator: a JSON file of scrypt password hashes (docs/security.md). */
  ADMIN_USERS_FILE: optionalString,
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Port of the worker role's /healthz, /readyz and /metrics (0: any free port). */
  OPS_PORT: port.default(3001),
  /** On SIGTERM/SIGINT: how long workers may finish jobs in flight before they are forced to stop. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(25_000),

  /**
   * More provider accounts (lanes) than the default ones the provider variables configure: a JSON
   * file, validated at boot by each provider's own schema (docs/lanes.md).
   */
  ACCOUNTS_FILE: optionalString,
  /** The lanes this worker process runs (`cryptoprocessing,alphapo@eu`); unset: every lane. */
  LANES: optionalString,
  /** Give every lane's keys a hash tag of its own, so lanes spread over a Redis Cluster's masters. */
  LANE_HASH_TAGS: z.stringbool().default(false),
  /** Circuit breaker defaults for every lane (lane tuning may override): see src/lanes/breaker.ts. */
  BREAKER_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
  BREAKER_OPEN_MS: z.coerce.number().int().min(10).max(3_600_000).default(5000),
  BREAKER_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(300_000),

  /**
   * Result webhooks (docs/webhooks.md): an endpoint configured here (more by the API), signed per
   * the Standard Webhooks specification with this `whsec_` secret. Both, or neither.
   */
  /** Checked against the webhook target policy below (https, no credentials, no internal address literal). */
  RESULT_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  RESULT_WEBHOOK_SECRET: z
    .string()
    .superRefine((v, ctx) => {
      const issue = secretIssue(v);
      if (issue) ctx.addIssue({ code: 'custom', message: issue });
    })
    .optional(),
  /**
   * Result webhooks may go to internal addresses (loopback, private, link-local...) and over plain
   * http:// to this machine: for development only. Unset: on in sandbox mode, off otherwise.
   */
  WEBHOOK_ALLOW_PRIVATE: z.stringbool().optional(),
  /** How long one delivery may take before it counts as failed. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(20),
  /** Waits before each retry of a delivery, ms, comma-separated (default about a day: 10 s, 1 min, 5 min, 30 min, 1 h, 3 h, 6 h, 12 h). */
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .regex(/^\d{1,9}(,\d{1,9}){0,29}$/, 'must be a comma-separated list of milliseconds')
    .transform((v) => v.split(',').map(Number))
    .optional(),
  /** After a rotation, how long the old secret is still signed with (receivers switch without a gap). */
  WEBHOOK_ROTATION_GRACE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86_400_000)
    .default(86_400_000),

  // Retention (docs/operations.md#retention). Completed jobs go by age and by count, whichever comes
  // first; failed jobs stay until an operator acts. Durations in seconds once parsed.
  /** Results the order system completed (`invoice-results`). */
  RESULTS_RETENTION: jobAge.default(7 * 86_400),
  RESULTS_RETENTION_COUNT: jobCount.default(100_000),
  /** Completed create jobs, per lane queue. */
  CREATE_RETENTION: jobAge.default(3600),
  CREATE_RETENTION_COUNT: jobCount.default(10_000),
  /** Completed callback jobs (`invoice-events`): a redelivery inside the window is the same job. */
  EVENTS_RETENTION: jobAge.default(86_400),
  EVENTS_RETENTION_COUNT: jobCount.default(200_000),
  /** Completed result webhook deliveries (`result-webhooks`). */
  WEBHOOK_RETENTION: jobAge.default(8 * 86_400),
  WEBHOOK_RETENTION_COUNT: jobCount.default(100_000),
  /**
   * A finished invoice record (terminal, not parked for an operator) expires this long after its
   * last change; `0` keeps records for ever. Open and parked records never expire. The record is
   * the idempotency guard of its foreign_id: an order re-sent after its record expired is a new order.
   */
  RECORD_RETENTION: duration.default(30 * 86_400),

  /** Sandbox mode: `auto` runs the built-in sandbox when no provider has credentials. */
  SANDBOX: z.enum(['auto', 'on', 'off']).default('auto'),
  SANDBOX_PORT: port.default(3100),

  CREATE_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(50),
  CREATE_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  CREATE_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(2000),
  RATE_LIMIT_DELAY_MS: z.coerce.number().int().min(10).max(3_600_000).default(5000),
  /** How long a worker holds a job before another may take it over (a crashed worker's jobs return after this). */
  WORKER_LOCK_DURATION_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  HTTP_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(10).max(120_000).default(5000),
  /** One deadline for a provider's whole answer (headers and body together), from the moment the request is sent. */
  HTTP_RESPONSE_TIMEOUT_MS: z.coerce.number().int().min(10).max(600_000).default(20000),
  /** A provider's or a webhook receiver's answer larger than this is cut, and the attempt fails as a transport error. */
  PROVIDER_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1_073_741_824).default(1_048_576),

  // Tracking after creation (src/invoice/track.ts). Callbacks are processed from `invoice-events`.
  EVENTS_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(20),
  /** An event whose invoice is not (yet) known is retried this often, then parked in the failed set. */
  EVENTS_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  EVENTS_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(2000),
  /** Poll cadence of open invoices that have no deadline (each provider declares its own cadence otherwise). */
  POLL_IDLE_MS: z.coerce.number().int().min(10).max(86_400_000).default(1_800_000),
  POLL_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(10),
  /** At most POLL_RATE_MAX polls per POLL_RATE_DURATION_MS, across every process (BullMQ's limiter is per queue). */
  POLL_RATE_MAX: z.coerce.number().int().min(1).max(100_000).default(20),
  POLL_RATE_DURATION_MS: z.coerce.number().int().min(10).max(3_600_000).default(1000),
  /** Once a payment is seen but not confirmed, how long until the provider gives up on it. */
  DEADLINE_PROCESSING_MS: z.coerce.number().int().min(10).max(604_800_000).default(86_400_000),
  /** How long past a provider deadline a silent invoice waits before we infer its end. */
  DEADLINE_GRACE_MS: z.coerce.number().int().min(0).max(604_800_000).default(3_600_000),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config extends Omit<Env, 'WEBHOOK_ALLOW_PRIVATE'> {
  /** Resolved: as set, else true in sandbox mode only. */
  WEBHOOK_ALLOW_PRIVATE: boolean;
  /** Every provider account this system knows: the default ones from the environment, then the accounts file's. */
  accounts: AccountConfig[];
  /** The parsed environment, provider variables included (adapters read the ones they declared). */
  env: Readonly<Record<string, unknown>>;
  /** True when the built-in sandbox must run and every provider points at it. */
  sandbox: boolean;
  /** Bull Board users from ADMIN_USERS_FILE (ADMIN_USER is not among them). */
  adminUsers: AdminUser[];
}

/** Variables that belong together: all set, or none. */
const GROUPS: Array<[string, string[]]> = [
  ['admin', ['ADMIN_USER', 'ADMIN_PASSWORD']],
  ['result webhook', ['RESULT_WEBHOOK_URL', 'RESULT_WEBHOOK_SECRET']],
];

/** Every environment variable the configuration reads: the system's and each provider's own. */
export function envKeys(modules: ProviderModules = providerModules()): string[] {
  return [...new Set([...Object.keys(EnvSchema.shape), ...[...modules.values()].flatMap((m) => Object.keys(m.env))])];
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env, modules: ProviderModules = providerModules()): Readonly<Config> {
  // Empty strings count as unset: compose files and shells often export `FOO=`.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const schema = EnvSchema.extend(Object.assign({}, ...[...modules.values()].map((m) => m.env)) as z.ZodRawShape);
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => ({ field: String(issue.path[0] ?? 'env'), message: issue.message })));
  }
  const env = parsed.data as Env & Record<string, unknown>;
  const problems: Array<{ field: string; message: string }> = [];
  for (const [, names] of GROUPS) {
    const set = names.filter((n) => cleaned[n] !== undefined);
    if (set.length > 0 && set.length < names.length) {
      for (const n of names.filter((x) => !set.includes(x))) {
        problems.push({ field: n, message: `required when ${set.join(', ')} is set` });
      }
    }
  }
  if (env.REDIS_URL && isClusterUrl(env.REDIS_URL) && !hashTag(env.QUEUE_PREFIX)) {
    // Each queue's keys and the store's Lua scripts must stay in one cluster slot.
    problems.push({ field: 'QUEUE_PREFIX', message: 'must contain a {hash tag} on a Redis Cluster, e.g. {iw}' });
  }
  if (env.DURABILITY === 'replica' && env.REDIS_URL && isClusterUrl(env.REDIS_URL)) {
    // WAIT would have to reach the node owning the prefix's slot on the connection that wrote there.
    problems.push({ field: 'DURABILITY', message: 'replica mode is not supported on a Redis Cluster: use one primary with replicas (redis:// or redis+sentinel://)' });
  }

  // A record must outlive every job whose id it derives: a re-sent order finding its old create
  // job, result or delivery still kept would have that job's id taken, and its own swallowed.
  if (env.RECORD_RETENTION > 0) {
    const longest = Math.max(env.RESULTS_RETENTION, env.CREATE_RETENTION, env.EVENTS_RETENTION, env.WEBHOOK_RETENTION);
    if (env.RECORD_RETENTION < longest) {
      problems.push({ field: 'RECORD_RETENTION', message: `must be 0 or at least the longest job retention (${longest} s: RESULTS_, CREATE_, EVENTS_, WEBHOOK_RETENTION)` });
    }
  }

  // The default account of each provider, from its own variables.
  const accounts: AccountConfig[] = [];
  for (const module of modules.values()) {
    const found = module.defaultAccount(env);
    problems.push(...found.problems);
    if (!found.settings) continue;
    const settings = module.settings.safeParse(found.settings);
    if (!settings.success) {
      for (const i of settings.error.issues) problems.push({ field: found.names[String(i.path[0])] ?? module.id, message: i.message });
      continue;
    }
    accounts.push({ provider: module.id, account: DEFAULT_ACCOUNT, settings: settings.data, tuning: {}, source: 'env' });
  }
  if (problems.length) throw new ConfigError(problems);
  for (const extra of env.ACCOUNTS_FILE ? loadAccountsFile(env.ACCOUNTS_FILE, modules, source) : []) {
    if (accounts.some((a) => a.provider === extra.provider && a.account === extra.account)) {
      problems.push({ field: `${extra.source}: ${extra.provider}/${extra.account}`, message: 'already configured by the environment variables' });
    }
    accounts.push(extra);
  }
  // The key and user files are read once here so a bad one stops the boot naming the field.
  const files: Array<() => unknown> = [];
  if (env.API_KEYS_FILE) files.push(() => loadKeysFile(env.API_KEYS_FILE as string, [...modules.keys()]));
  let adminUsers: AdminUser[] = [];
  if (env.ADMIN_USERS_FILE) files.push(() => (adminUsers = loadAdminUsers(env.ADMIN_USERS_FILE as string)));
  for (const read of files) {
    try {
      read();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.issues);
    }
  }
  if (env.ADMIN_USER && adminUsers.some((u) => u.user === env.ADMIN_USER)) problems.push({ field: 'ADMIN_USERS_FILE', message: `${env.ADMIN_USER} is ADMIN_USER already` });
  if (problems.length) throw new ConfigError(problems);

  const sandbox = env.SANDBOX === 'on' || (env.SANDBOX === 'auto' && accounts.length === 0);
  // The sandbox's demo receivers run on this machine; anywhere else internal targets must be asked for.
  const allowPrivate = env.WEBHOOK_ALLOW_PRIVATE ?? sandbox;
  const target = env.RESULT_WEBHOOK_URL ? targetUrlIssue(env.RESULT_WEBHOOK_URL, allowPrivate) : undefined;
  if (target) throw new ConfigError([{ field: 'RESULT_WEBHOOK_URL', message: target }]);
  return Object.freeze({ ...env, WEBHOOK_ALLOW_PRIVATE: allowPrivate, accounts, env: Object.freeze({ ...env }), sandbox, adminUsers });
}
