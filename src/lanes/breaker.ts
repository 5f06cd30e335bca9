/**
 * A circuit breaker per lane, shared by every worker process through one Redis hash, so a fleet
 * agrees on whether a provider account is down:
 *
 *   closed     requests flow; transport errors, timeouts and 5xx in a row are counted, and any
 *              answer from the provider resets the count. `failures` in a row open it.
 *   open       nothing is sent until `until`; the lane's queue is paused for that long, so its
 *              orders wait without spending attempts (./gate.ts).
 *   half-open  one order, the probe, goes out. Its success closes the breaker; its failure opens
 *              it again for twice as long (up to a ceiling). A probe that never reports back (its
 *              worker died) is replaced after `probeStaleMs`.
 *
 * Each transition is one Lua step, so two processes cannot both take the probe, and a request
 * that was in flight when the breaker opened cannot close or reopen it out of turn.
 */
import type { Cluster, Redis } from 'ioredis';
import { LuaScript, luaOn, type LuaOn } from '../redis/lua.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export type Gate =
  /** Send; `failures` counted so far (a success must reset them). */
  | { kind: 'pass'; failures: number }
  /** Send this one as the probe. */
  | { kind: 'probe' }
  /** Do not send; look again in `ms`. */
  | { kind: 'wait'; ms: number };

export type FailureOutcome = { kind: 'counted'; failures: number } | { kind: 'open'; ms: number; opened: boolean };

export interface BreakerSettings {
  failures: number;
  openMs: number;
  maxMs: number;
  /** A probe older than this has died with its worker: another takes its place. */
  probeStaleMs: number;
}

export interface BreakerStatus {
  state: BreakerState;
  failures: number;
  /** While open: when the next probe may go (ms since epoch). */
  until: number | null;
  openedAt: number | null;
}

/** The transitions, one Lua step each (./lua/breaker-*.lua say what each takes and returns). */
const SCRIPTS = {
  gate: new LuaScript<[key: string, now: number, staleMs: number, waitMs: number], [string, number]>('iwBreakerGate', 1, new URL('./lua/breaker-gate.lua', import.meta.url)),
  fail: new LuaScript<[key: string, now: number, failures: number, openMs: number, maxMs: number, probe: string], [string, number, number]>(
    'iwBreakerFail',
    1,
    new URL('./lua/breaker-fail.lua', import.meta.url),
  ),
  succeed: new LuaScript<[key: string, probe: string], string>('iwBreakerSucceed', 1, new URL('./lua/breaker-succeed.lua', import.meta.url)),
  release: new LuaScript<[key: string], number>('iwBreakerRelease', 1, new URL('./lua/breaker-release.lua', import.meta.url)),
};

export class Breaker {
  private readonly scripts: LuaOn<typeof SCRIPTS>;
  /**
   * Until when this process takes the breaker as closed without asking Redis: set for a short
   * while (`closedCacheMs`) by a gate that found it closed with no failures counted, cleared by
   * any failure this process sees. Asking once per order was one script call per order for a
   * state that almost never changes; the price is that another process's opening reaches this one
   * up to that much later (its requests meanwhile fail and are counted like any other).
   */
  private closedUntil = 0;
  private readonly closedCacheMs: number;

  constructor(
    private readonly redis: Redis | Cluster,
    /** The hash holding this lane's breaker (in the lane's own slot). */
    readonly key: string,
    readonly settings: BreakerSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.scripts = luaOn(redis, SCRIPTS);
    // Well under the open interval, so an opened breaker is still seen open for most of it.
    this.closedCacheMs = Math.min(250, Math.floor(settings.openMs / 4));
  }

  /** May this order be sent now? */
  async gate(): Promise<Gate> {
    const now = this.now();
    if (now < this.closedUntil) return { kind: 'pass', failures: 0 };
    // While a probe is out, the others look again soon: the probe may close it in a moment.
    const waitWhileProbing = Math.min(this.settings.openMs, 1000);
    const [kind, n] = await this.scripts.gate(this.key, now, this.settings.probeStaleMs, waitWhileProbing);
    if (kind === 'pass') {
      if (Number(n) === 0) this.closedUntil = now + this.closedCacheMs;
      return { kind, failures: Number(n) };
    }
    if (kind === 'probe') return { kind };
    return { kind: 'wait', ms: Math.max(1, Number(n)) };
  }

  /** A transport error, timeout or 5xx: the provider did not answer the request. */
  async failure(probe: boolean): Promise<FailureOutcome> {
    this.closedUntil = 0;
    const s = this.settings;
    const [kind, n, opened] = await this.scripts.fail(this.key, this.now(), s.failures, s.openMs, s.maxMs, probe ? '1' : '0');
    return kind === 'counted' ? { kind, failures: Number(n) } : { kind: 'open', ms: Number(n), opened: Number(opened) === 1 };
  }

  /** The provider answered (whatever it said): the lane is up. Returns the state it was in. */
  async success(probe: boolean): Promise<string> {
    return this.scripts.succeed(this.key, probe ? '1' : '0');
  }

  /** The probe sent nothing (the order needed no request): the next order may probe now. */
  async release(): Promise<void> {
    await this.scripts.release(this.key);
  }

  async status(): Promise<BreakerStatus> {
    const [state, failures, until, openedAt] = await this.redis.hmget(this.key, 'state', 'failures', 'until', 'opened_at');
    return {
      state: (state as BreakerState | null) ?? 'closed',
      failures: Number(failures ?? 0),
      until: state === 'open' && until ? Number(until) : null,
      openedAt: openedAt ? Number(openedAt) : null,
    };
  }
}
