/**
 * Why a lane's create queue is paused. BullMQ's queue-wide pause (`worker.rateLimit`) carries no
 * reason, and Bull Board names every such pause "rate limited"; an account at a provider's
 * capacity limit (CryptoSteroid's unpaid invoices) or an open circuit breaker is something else
 * for an operator, who should not "release" it. The worker notes the cause beside the pause,
 * expiring with it; the board reads it (src/http/admin.ts).
 */
import type { RedisClient } from '../redis/connect.ts';

export const PAUSE_CAUSES = ['rate_limit', 'capacity', 'breaker'] as const;
export type PauseCause = (typeof PAUSE_CAUSES)[number];

export class LanePause {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
  ) {}

  /** Records why the lane waits `ms` from now. */
  async note(cause: PauseCause, ms: number): Promise<void> {
    await this.redis.set(this.key, cause, 'PX', Math.max(1, Math.ceil(ms)));
  }

  /** The cause of the pause still running, or null. */
  async cause(): Promise<PauseCause | null> {
    const value = await this.redis.get(this.key);
    return (PAUSE_CAUSES as readonly string[]).includes(value ?? '') ? (value as PauseCause) : null;
  }
}
