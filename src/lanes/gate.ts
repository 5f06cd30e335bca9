/**
 * The lane's breaker around one create (./breaker.ts holds the breaker itself): ask it before
 * the order is sent; while it is open the lane's queue pauses, noting why, so the lane's orders
 * wait without spending attempts; afterwards tell it whether the provider answered. One order at
 * a time is the probe of a half-open breaker, and a probe that sent nothing hands the probe on.
 * The create worker (workers/create.ts) opens one gate per attempt.
 */
import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { OutcomeUnknown, ProviderUnavailable, errorSummary } from '../errors.ts';
import type { SubmitOutcome } from '../invoice/submit.ts';
import type { Lane } from './lane.ts';
import type { PauseCause } from './pause.ts';

/** The provider did not answer: what the breaker counts (a refusal or a 429 is an answer). */
function outage(outcome: SubmitOutcome): boolean {
  const err = outcome.kind === 'retry' || outcome.kind === 'parked' ? outcome.error : undefined;
  return err instanceof ProviderUnavailable || err instanceof OutcomeUnknown;
}

/** The provider answered this request, whatever it said. */
function answered(outcome: SubmitOutcome): boolean {
  return outcome.kind === 'created' || outcome.kind === 'rejected' || outcome.kind === 'rate-limited' || (outcome.kind === 'parked' && outcome.answered === true);
}

/**
 * Pauses the lane's queue for `ms` (`pauseQueue`: the worker's `rateLimit`), noting the cause for
 * the board, and hands the job back to wait: its attempt is not spent.
 */
export async function holdLane(lane: Pick<Lane, 'pause'>, cause: PauseCause, ms: number, pauseQueue: (ms: number) => Promise<void>): Promise<never> {
  await lane.pause.note(cause, ms);
  await pauseQueue(ms);
  throw Worker.RateLimitError();
}

/** What the gate needs of the create attempt it guards. */
export interface GateAttempt {
  /** Pauses the lane's create queue for `ms` (the worker's `rateLimit`). */
  pauseQueue(ms: number): Promise<void>;
  /** The attempt's outcome line, when the order is handed back to wait. */
  waits(fields: Record<string, unknown>, msg: string): void;
  /** The attempt's logger, for the breaker's own (rare) lines. */
  log(): Pick<Logger, 'info' | 'warn'>;
  /** Counted each time the breaker opens, or stays open after a failed probe. */
  breakerOpened?(lane: string): void;
}

export class LaneGate {
  private probe = false;
  /** Failures the breaker had counted when this order passed: a success must reset them. */
  private failures = 0;

  constructor(
    private readonly lane: Pick<Lane, 'key' | 'breaker' | 'pause'>,
    private readonly attempt: GateAttempt,
  ) {}

  /** Before the create: returns when the order may be sent; while the breaker is open, holds the lane (throws). */
  async enter(): Promise<void> {
    const gate = await this.lane.breaker.gate();
    if (gate.kind === 'wait') {
      // The lane is down: nothing is sent, and the order waits without spending an attempt.
      this.attempt.waits({ inMs: gate.ms }, 'lane breaker open; order waits');
      return holdLane(this.lane, 'breaker', gate.ms, (ms) => this.attempt.pauseQueue(ms));
    }
    this.probe = gate.kind === 'probe';
    this.failures = gate.kind === 'pass' ? gate.failures : 0;
    if (this.probe) this.attempt.log().info('lane breaker half-open; sending a probe');
  }

  /**
   * After the create (`ms`: how long the provider took): the breaker learns whether the provider
   * answered. When this outage opened it (or kept it open), an order that may be sent again goes
   * back to wait for the lane (throws); a parked one stays parked.
   */
  async leave(outcome: SubmitOutcome, ms: number): Promise<void> {
    const { lane, probe, attempt } = this;
    if (outage(outcome)) {
      const verdict = await lane.breaker.failure(probe);
      if (verdict.kind === 'open') {
        if (verdict.opened || probe) {
          const err = errorSummary(outcome.kind === 'retry' ? outcome.error : undefined);
          attempt.log().warn({ ms, err, openMs: verdict.ms, probe }, probe ? 'probe failed; lane breaker stays open' : 'lane breaker opened; the lane sends nothing for a while');
          attempt.breakerOpened?.(lane.key);
        }
        // Unless it is parked (an unknown outcome at a provider that may not be re-sent), the
        // order goes back to wait for the lane, and its attempt is not spent.
        if (outcome.kind === 'retry') {
          attempt.waits({ inMs: verdict.ms, err: errorSummary(outcome.error) }, 'lane breaker open; order waits');
          await holdLane(lane, 'breaker', verdict.ms, (ms) => attempt.pauseQueue(ms));
        }
      }
    } else if (answered(outcome)) {
      if (probe || this.failures > 0) {
        const was = await lane.breaker.success(probe);
        if (was === 'half-open') attempt.log().info({ ms }, 'probe answered; lane breaker closed');
      }
    } else if (probe) {
      // Nothing was sent (already done, or parked): the next order probes instead.
      await lane.breaker.release();
    }
  }
}
