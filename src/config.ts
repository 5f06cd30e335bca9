/**
 * Configuration from the environment, parsed once at boot and frozen. A bad value stops the
 * process with a message naming the variable (see `ConfigError`).
 */
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { hashTag, isClusterUrl, parseClusterUrl } from './redis.ts';

const optionalString = z.string().trim().min(1).optional();
const optionalUrl = z.url({ protocol: /^https?$/ }).optional();
const port = z.string().trim().regex(/^\d{1,5}$/, 'must be a port number').transform(Number).pipe(z.number().max(65535));

const singleRedisUrl = z.url({ protocol: /^rediss?$/ });
function redisUrl(value: string): boolean {
  if (!isClusterUrl(value)) return singleRedisUrl.safeParse(value).success;
  try {
    return parseClusterUrl(value) !== undefined;
  } catch {
    return false;
  }
}

const EnvSchema = z.object({
  /** One Redis (`redis://`, `rediss://`) or a Redis Cluster (`redis+cluster://host:port,host:port`, see redis.ts). */
  REDIS_URL: z
    .string()
    .trim()
    .refine(redisUrl, 'must be a redis:// or rediss:// URL, or redis+cluster://host:port[,host:port...]')
    .optional(),
  PORT: port.default(3000),
  HOST: z.string().default('0.0.0.0'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}.-]{1,64}$/, 'letters, digits, _ . - and a {hash tag} only')
    .default('iw'),
  API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  PUBLIC_BASE_URL: optionalUrl,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  // Operations (src/http/admin.ts, src/http/ops.ts, src/main.ts).
  /** Bull Board sign-in (HTTP Basic). Without both, the board is off (open only in sandbox mode). */
  ADMIN_USER: optionalString,
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  /** `viewer`: read-only board; `operator`: may retry, promote, pause and clean jobs. */
  ADMIN_ROLE: z.enum(['viewer', 'operator']).default('viewer'),
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Port of the worker role's /healthz, /readyz and /metrics (0: any free port). */
  OPS_PORT: port.default(3001),
  /** On SIGTERM/SIGINT: how long workers may finish jobs in flight before they are forced to stop. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(25_000),

  CRYPTOPROCESSING_BASE_URL: optionalUrl,
  CRYPTOPROCESSING_API_KEY: optionalString,
  CRYPTOPROCESSING_API_SECRET: optionalString,
  ALPHAPO_BASE_URL: optionalUrl,
  ALPHAPO_API_KEY: optionalString,
  ALPHAPO_API_SECRET: optionalString,
  CRYPTOSTEROID_BASE_URL: optionalUrl,
  CRYPTOSTEROID_API_KEY: optionalString,
  CRYPTOSTEROID_MERCHANT_ID: z.uuid().optional(),

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
  HTTP_RESPONSE_TIMEOUT_MS: z.coerce.number().int().min(10).max(600_000).default(20000),

  // Tracking after creation (src/invoice/track.ts). Callbacks are processed from `invoice-events`.
  EVENTS_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(20),
  /** An event whose invoice is not (yet) known is retried this often, then parked in the failed set. */
  EVENTS_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  EVENTS_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(2000),
  /** Poll cadence per connector: CryptoSteroid only calls back on PAID (CONTRACT 4.6), so it is polled most. */
  POLL_CRYPTOSTEROID_MS: z.coerce.number().int().min(10).max(86_400_000).default(60_000),
  /** Platform lookups are best effort (CONTRACT 1.6, 6.11): callbacks are the source of truth. */
  POLL_PLATFORM_MS: z.coerce.number().int().min(10).max(86_400_000).default(300_000),
  /** Invoices without any deadline (platform `timer:false` while `created`, CONTRACT 1.2 kind 1). */
  POLL_IDLE_MS: z.coerce.number().int().min(10).max(86_400_000).default(1_800_000),
  POLL_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(10),
  /** At most POLL_RATE_MAX polls per POLL_RATE_DURATION_MS, across every process (BullMQ's limiter is per queue). */
  POLL_RATE_MAX: z.coerce.number().int().min(1).max(100_000).default(20),
  POLL_RATE_DURATION_MS: z.coerce.number().int().min(10).max(3_600_000).default(1000),
  /** Provider deadlines (CONTRACT 1.2, 4.5, 5): timer invoices, CryptoSteroid, the mempool extension. */
  DEADLINE_TIMER_MS: z.coerce.number().int().min(10).max(604_800_000).default(900_000),
  DEADLINE_CRYPTOSTEROID_MS: z.coerce.number().int().min(10).max(604_800_000).default(1_800_000),
  DEADLINE_PROCESSING_MS: z.coerce.number().int().min(10).max(604_800_000).default(86_400_000),
  /** How long past a provider deadline a silent invoice waits before we infer its end. */
  DEADLINE_GRACE_MS: z.coerce.number().int().min(0).max(604_800_000).default(3_600_000),
});

export type Env = z.infer<typeof EnvSchema>;

export interface PlatformCredentials {
  baseUrl: string;
  apiKey: string;
  apiSecret: string;
}

export interface CryptoSteroidCredentials {
  baseUrl: string;
  apiKey: string;
  merchantId: string;
}

export interface Config extends Env {
  providers: {
    cryptoprocessing?: PlatformCredentials;
    alphapo?: PlatformCredentials;
    cryptosteroid?: CryptoSteroidCredentials;
  };
  /** True when the built-in sandbox must run and every provider points at it. */
  sandbox: boolean;
}

const DEFAULT_BASE = {
  cryptoprocessing: 'https://app.cryptoprocessing.com',
  alphapo: 'https://app.alphapo.net',
  cryptosteroid: 'https://api.cryptosteroid.com',
} as const;

/** Variables that belong together: all set, or none. */
const GROUPS: Array<[string, string[]]> = [
  ['cryptoprocessing', ['CRYPTOPROCESSING_API_KEY', 'CRYPTOPROCESSING_API_SECRET']],
  ['alphapo', ['ALPHAPO_API_KEY', 'ALPHAPO_API_SECRET']],
  ['cryptosteroid', ['CRYPTOSTEROID_API_KEY', 'CRYPTOSTEROID_MERCHANT_ID']],
  ['admin', ['ADMIN_USER', 'ADMIN_PASSWORD']],
];

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  // Empty strings count as unset: compose files and shells often export `FOO=`.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ field: String(issue.path[0] ?? 'env'), message: issue.message })),
    );
  }
  const env = parsed.data;
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
  if (problems.length) throw new ConfigError(problems);

  const providers: Config['providers'] = {};
  if (env.CRYPTOPROCESSING_API_KEY && env.CRYPTOPROCESSING_API_SECRET) {
    providers.cryptoprocessing = {
      baseUrl: env.CRYPTOPROCESSING_BASE_URL ?? DEFAULT_BASE.cryptoprocessing,
      apiKey: env.CRYPTOPROCESSING_API_KEY,
      apiSecret: env.CRYPTOPROCESSING_API_SECRET,
    };
  }
  if (env.ALPHAPO_API_KEY && env.ALPHAPO_API_SECRET) {
    providers.alphapo = {
      baseUrl: env.ALPHAPO_BASE_URL ?? DEFAULT_BASE.alphapo,
      apiKey: env.ALPHAPO_API_KEY,
      apiSecret: env.ALPHAPO_API_SECRET,
    };
  }
  if (env.CRYPTOSTEROID_API_KEY && env.CRYPTOSTEROID_MERCHANT_ID) {
    providers.cryptosteroid = {
      baseUrl: env.CRYPTOSTEROID_BASE_URL ?? DEFAULT_BASE.cryptosteroid,
      apiKey: env.CRYPTOSTEROID_API_KEY,
      merchantId: env.CRYPTOSTEROID_MERCHANT_ID,
    };
  }
  const anyProvider = Object.keys(providers).length > 0;
  const sandbox = env.SANDBOX === 'on' || (env.SANDBOX === 'auto' && !anyProvider);
  return Object.freeze({ ...env, providers, sandbox });
}
