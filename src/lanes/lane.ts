/**
 * Lanes. A lane is one provider account: (provider, account name). It is the unit the system
 * isolates, throttles and scales: each lane has its own credentials, its own create and poll
 * queues with their own concurrency and rate limit, its own circuit breaker and webhook route, and
 * on a Redis Cluster its own hash tag. Nothing here knows a provider: the adapters declare what is
 * provider-shaped (src/providers/registry.ts). Lane keys are ./key.ts, tuning ./tuning.ts, accounts
 * ./accounts.ts.
 */
import type { CreateQueue } from '../../queues/create.ts';
import type { PollQueue } from '../../queues/poll.ts';
import type { Breaker } from './breaker.ts';
import type { LaneRef } from './key.ts';
import type { LanePause } from './pause.ts';
import type { LaneTuning } from './tuning.ts';
import type { ProviderAdapter } from '../providers/types.ts';

/** A running lane: its adapter, tuning, queues and breaker (built by ./build.ts). */
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
