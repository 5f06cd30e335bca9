/**
 * Operations endpoints every role serves: `/healthz` (the process answers), `/readyz` (Redis
 * answers and, where this process runs workers, they are running) and `/metrics` (Prometheus,
 * behind `METRICS_TOKEN` when set). The worker role serves only these.
 */
import express, { Router, type Express } from 'express';
import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.ts';
import type { LaneStatus } from '../lanes/lane.ts';
import { AuthFailures, bearerAuth } from './auth.ts';

/** A Redis that is reconnecting queues commands instead of failing them; readiness must not wait. */
const PING_TIMEOUT_MS = 1000;

export interface OpsDeps {
  redis: { ping(): Promise<string> };
  log: Logger;
  metrics?: Metrics;
  metricsToken?: string;
  /** Present where this process runs workers: true while every one of them is running. */
  workersRunning?: () => boolean;
  /** Each lane's state (breaker, waiting orders, oldest wait), shown by /readyz; a lane that is down does not make this process unready. */
  laneStatus?: () => Promise<LaneStatus[]>;
  /** Failed authentications (shared with the API and Bull Board when they run in this app). */
  failures?: AuthFailures;
  /** AUTH_FAILURE_LIMIT, when `failures` is not given. */
  authFailureLimit?: number;
}

async function redisAnswers(redis: OpsDeps['redis']): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      redis.ping().then((pong) => pong === 'PONG'),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function opsRoutes(deps: OpsDeps): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  r.get('/readyz', async (_req, res) => {
    const redis = await redisAnswers(deps.redis);
    const workers = deps.workersRunning?.();
    const ok = redis && workers !== false;
    const lanes = redis && deps.laneStatus ? await deps.laneStatus().catch(() => undefined) : undefined;
    res.status(ok ? 200 : 503).json({
      ok,
      redis: redis ? 'up' : 'down',
      ...(workers === undefined ? {} : { workers: workers ? 'running' : 'stopped' }),
      ...(lanes ? { lanes } : {}),
    });
  });
  if (deps.metrics) {
    const metrics = deps.metrics;
    const failures = deps.failures ?? new AuthFailures({ log: deps.log, metrics, limit: deps.authFailureLimit ?? 10 });
    r.get('/metrics', bearerAuth(deps.metricsToken, failures, 'metrics'), async (_req, res) => {
      try {
        const body = await metrics.render();
        res.set('Content-Type', metrics.contentType).send(body);
      } catch (err) {
        deps.log.error({ err }, 'metrics scrape failed');
        res.status(500).type('text/plain').send('metrics unavailable\n');
      }
    });
  }
  return r;
}

/** The worker role's whole HTTP surface. */
export function createOpsApp(deps: OpsDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(opsRoutes(deps));
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  return app;
}
