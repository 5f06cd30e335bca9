/**
 * How a lane works its queues: concurrency, rate limits, poll cadence, breaker thresholds and the
 * hash tag, from the accounts file's `lane` object over the environment's defaults.
 */
import { z } from 'zod';

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
