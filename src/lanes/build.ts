/**
 * Building a running lane from its account: its adapter, tuning, key prefix, queues, breaker and
 * pause note. The composition root (src/system.ts) builds one per configured account. Kept apart
 * from ./lane.ts, the lane's shape, which every reader of a lane imports: only this module needs
 * the queue factories and the breaker's scripts.
 */
import { createCreateQueue } from '../../queues/create.ts';
import { createPollQueue } from '../../queues/poll.ts';
import type { Config } from '../config.ts';
import type { HttpClient } from '../providers/http.ts';
import type { ProviderModule } from '../providers/types.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { AccountConfig } from './accounts.ts';
import { Breaker } from './breaker.ts';
import { laneKey, lanePrefix } from './key.ts';
import type { Lane } from './lane.ts';
import { LanePause } from './pause.ts';
import { laneTuning, type LaneDefaults } from './tuning.ts';

/** The settings a lane is built with: the environment's lane defaults, the create jobs' options, the worker lock. */
export type LaneConfig = LaneDefaults & Pick<Config, 'CREATE_ATTEMPTS' | 'CREATE_BACKOFF_MS' | 'CREATE_RETENTION' | 'CREATE_RETENTION_COUNT' | 'WORKER_LOCK_DURATION_MS' | 'env'>;

/** What building a lane takes besides its account and provider. */
export interface LaneBuildDeps {
  /** The connection of the lane's queues (BullMQ duplicates it for its blocking connections). */
  queues: RedisClient;
  /** The store's connection: the breaker's hash and the pause note live beside the lane's records. */
  store: RedisClient;
  /** The system's key prefix (`QUEUE_PREFIX`): the lane's own is made from it (see `lanePrefix`). */
  prefix: string;
  /** The provider HTTP client its adapter sends through. */
  http: HttpClient;
  config: LaneConfig;
}

/** One lane: its adapter, tuning, queues and breaker. */
export function buildLane(account: AccountConfig, module: ProviderModule, deps: LaneBuildDeps): Lane {
  const { config, http } = deps;
  const key = laneKey(account.provider, account.account);
  const tuning = laneTuning(account.tuning, config);
  const lp = lanePrefix(deps.prefix, key, tuning.hashTag);
  const ref = { provider: account.provider, account: account.account };
  return {
    key,
    ...ref,
    prefix: lp,
    tuning,
    adapter: module.create(account.settings, { http, lane: ref, env: config.env }),
    paymentHosts: [...(module.paymentHosts ?? []), ...(account.paymentHosts ?? [])],
    createQueue: createCreateQueue(deps.queues, lp, key, config.CREATE_ATTEMPTS, config.CREATE_BACKOFF_MS, { age: config.CREATE_RETENTION, count: config.CREATE_RETENTION_COUNT }),
    pollQueue: createPollQueue(deps.queues, lp, key),
    breaker: new Breaker(deps.store, `${lp}:lane:${key}:breaker`, {
      failures: tuning.breakerFailures,
      openMs: tuning.breakerOpenMs,
      maxMs: tuning.breakerMaxMs,
      probeStaleMs: config.WORKER_LOCK_DURATION_MS,
    }),
    pause: new LanePause(deps.store, `${lp}:lane:${key}:pause`),
  };
}
