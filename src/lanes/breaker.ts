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

// KEYS: breaker. ARGV: now, probe stale ms, wait while a probe is out.
const GATE = `
local s = redis.call('HMGET', KEYS[1], 'state', 'until', 'probe_at', 'failures')
local state = s[1] or 'closed'
local now = tonumber(ARGV[1])
if state == 'closed' then return {'pass', tonumber(s[4]) or 0} end
if state == 'open' then
  local u = tonumber(s[2]) or 0
  if now < u then return {'wait', u - now} end
  redis.call('HSET', KEYS[1], 'state', 'half-open', 'probe_at', ARGV[1])
  return {'probe', 0}
end
if now - (tonumber(s[3]) or 0) > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'probe_at', ARGV[1])
  return {'probe', 0}
end
return {'wait', tonumber(ARGV[3])}
`;

// KEYS: breaker. ARGV: now, failures to open, first open ms, max open ms, was this the probe (1/0).
const FAIL = `
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local now = tonumber(ARGV[1])
if state == 'closed' then
  local f = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  if f < tonumber(ARGV[2]) then return {'counted', f, 0} end
  redis.call('HSET', KEYS[1], 'state', 'open', 'until', now + tonumber(ARGV[3]), 'interval', ARGV[3], 'opened_at', ARGV[1])
  return {'open', tonumber(ARGV[3]), 1}
end
if state == 'half-open' and ARGV[5] == '1' then
  local iv = math.min((tonumber(redis.call('HGET', KEYS[1], 'interval')) or tonumber(ARGV[3])) * 2, tonumber(ARGV[4]))
  redis.call('HSET', KEYS[1], 'state', 'open', 'until', now + iv, 'interval', iv)
  return {'open', iv, 0}
end
local u = tonumber(redis.call('HGET', KEYS[1], 'until')) or now
return {'open', math.max(u - now, 100), 0}
`;

// KEYS: breaker. ARGV: was this the probe (1/0). Returns the state it left.
const SUCCEED = `
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then redis.call('HDEL', KEYS[1], 'failures') return state end
if state == 'half-open' and ARGV[1] == '1' then redis.call('DEL', KEYS[1]) return state end
return 'ignored'
`;

// KEYS: breaker. A probe that sent nothing hands the probe on at once.
const RELEASE = `
if redis.call('HGET', KEYS[1], 'state') == 'half-open' then redis.call('HSET', KEYS[1], 'probe_at', 0) end
return 1
`;

interface Scripts {
  iwBreakerRelease(key: string): Promise<number>;
  iwBreakerGate(key: string, now: number, staleMs: number, waitMs: number): Promise<[string, number]>;
  iwBreakerFail(key: string, now: number, failures: number, openMs: number, maxMs: number, probe: string): Promise<[string, number, number]>;
  iwBreakerSucceed(key: string, probe: string): Promise<string>;
}

export class Breaker {
  private readonly scripts: Scripts;
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
    if (!('iwBreakerGate' in redis)) {
      redis.defineCommand('iwBreakerGate', { numberOfKeys: 1, lua: GATE });
      redis.defineCommand('iwBreakerFail', { numberOfKeys: 1, lua: FAIL });
      redis.defineCommand('iwBreakerSucceed', { numberOfKeys: 1, lua: SUCCEED });
      redis.defineCommand('iwBreakerRelease', { numberOfKeys: 1, lua: RELEASE });
    }
    this.scripts = redis as unknown as Scripts;
    // Well under the open interval, so an opened breaker is still seen open for most of it.
    this.closedCacheMs = Math.min(250, Math.floor(settings.openMs / 4));
  }

  /** May this order be sent now? */
  async gate(): Promise<Gate> {
    const now = this.now();
    if (now < this.closedUntil) return { kind: 'pass', failures: 0 };
    // While a probe is out, the others look again soon: the probe may close it in a moment.
    const waitWhileProbing = Math.min(this.settings.openMs, 1000);
    const [kind, n] = await this.scripts.iwBreakerGate(this.key, now, this.settings.probeStaleMs, waitWhileProbing);
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
    const [kind, n, opened] = await this.scripts.iwBreakerFail(this.key, this.now(), s.failures, s.openMs, s.maxMs, probe ? '1' : '0');
    return kind === 'counted' ? { kind, failures: Number(n) } : { kind: 'open', ms: Number(n), opened: Number(opened) === 1 };
  }

  /** The provider answered (whatever it said): the lane is up. Returns the state it was in. */
  async success(probe: boolean): Promise<string> {
    return this.scripts.iwBreakerSucceed(this.key, probe ? '1' : '0');
  }

  /** The probe sent nothing (the order needed no request): the next order may probe now. */
  async release(): Promise<void> {
    await this.scripts.iwBreakerRelease(this.key);
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
