/**
 * Bull Board at `/admin/queues`: every queue of the system, behind HTTP Basic auth. Read-only
 * unless `ADMIN_ROLE=operator`; even an operator cannot obliterate or empty a queue, add jobs or
 * rewrite job data here (those would drop or forge accepted orders). Job data is masked before it
 * reaches the browser, and every retry is logged with the signed-in user.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { Router, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import { maskPersonal } from '../redact.ts';
import { safeEqual } from '../signing.ts';

export const ADMIN_PATH = '/admin/queues';

export type AdminRole = 'viewer' | 'operator';

export interface AdminOptions {
  queues: readonly Queue[];
  user?: string;
  password?: string;
  role: AdminRole;
  /** Local sandbox mode: without credentials the board is open (and says so loudly). */
  sandbox: boolean;
  log: Logger;
  metrics?: Pick<Metrics, 'operatorRetry'>;
}

/** `Authorization: Basic`, both parts compared in constant time; the user name lands in `res.locals.adminUser`. */
export function basicAuth(user: string, password: string, log: Logger): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header);
    const decoded = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const givenUser = colon >= 0 ? decoded.slice(0, colon) : '';
    const givenPassword = colon >= 0 ? decoded.slice(colon + 1) : '';
    // Both comparisons always run, so a right user name is not measurably faster to refuse.
    const userOk = safeEqual(givenUser, user);
    const passwordOk = safeEqual(givenPassword, password);
    if (userOk && passwordOk) {
      res.locals.adminUser = user;
      next();
      return;
    }
    if (header) log.warn({ path: ADMIN_PATH, ip: req.ip }, 'admin sign-in refused');
    res.status(401).set('WWW-Authenticate', 'Basic realm="Bull Board", charset="UTF-8"').json({ error: 'unauthorized', message: 'sign in with the admin credentials' });
  };
}

// Bull Board API routes (relative to the board) that no role may use here.
const FORBIDDEN: Array<[method: 'put' | 'post' | 'patch', path: string, why: string]> = [
  ['put', '/api/queues/:queueName/obliterate', 'obliterating a queue would drop accepted orders'],
  ['put', '/api/queues/:queueName/empty', 'emptying a queue would drop accepted orders'],
  ['post', '/api/queues/:queueName/add', 'orders enter through the producer API or the CLI'],
  ['patch', '/api/queues/:queueName/:jobId/update-data', 'job data is derived from the invoice record'],
];
const RETRY_ROUTES = ['/api/queues/:queueName/:jobId/retry', '/api/queues/:queueName/retry/:queueStatus'];

function boardRouter(opts: AdminOptions): Router {
  const operator = opts.role === 'operator';
  const serverAdapter = new ExpressAdapter().setBasePath(ADMIN_PATH);
  const adapters = opts.queues.map((queue) => {
    const adapter = new BullMQAdapter(queue, { readOnlyMode: !operator, allowRetries: operator });
    // Our create jobs carry only ids, but other queues may carry callback bodies: mask whatever comes.
    adapter.setFormatter('data', (data) => maskPersonal(data));
    adapter.setFormatter('returnValue', (value) => maskPersonal(value));
    adapter.setFormatter('progress', (value) => maskPersonal(value));
    return adapter;
  });
  createBullBoard({
    queues: adapters,
    serverAdapter,
    options: { uiConfig: { boardTitle: operator ? 'Invoice worker' : 'Invoice worker (read-only)', hideDocsLink: true } },
  });

  const router = Router();
  for (const [method, path, why] of FORBIDDEN) {
    router[method](path, (_req, res) => {
      res.status(403).json({ error: 'forbidden', message: `not allowed here: ${why}` });
    });
  }
  router.put(RETRY_ROUTES, (req, res, next) => {
    const by = String(res.locals.adminUser ?? 'anonymous');
    res.on('finish', () => {
      const ok = res.statusCode < 300;
      opts.log[ok ? 'info' : 'warn'](
        { by, via: 'bull-board', queue: req.params.queueName, jobId: req.params.jobId ?? null, jobState: req.params.queueStatus ?? null, httpStatus: res.statusCode },
        ok ? 'retry requested from Bull Board' : 'retry from Bull Board refused',
      );
      if (ok) opts.metrics?.operatorRetry('bull-board');
    });
    next();
  });
  router.use(serverAdapter.getRouter() as RequestHandler);
  return router;
}

/** The router to mount at {@link ADMIN_PATH}. */
export function adminRouter(opts: AdminOptions): Router {
  const router = Router();
  if (opts.user && opts.password) {
    router.use(basicAuth(opts.user, opts.password, opts.log));
  } else if (opts.sandbox) {
    opts.log.warn(
      { path: ADMIN_PATH, role: opts.role },
      'BULL BOARD IS OPEN WITHOUT AUTHENTICATION (sandbox mode): set ADMIN_USER and ADMIN_PASSWORD before this port is reachable by anyone else',
    );
    router.use((_req, res, next) => {
      res.locals.adminUser = 'sandbox';
      next();
    });
  } else {
    opts.log.info({ path: ADMIN_PATH }, 'Bull Board disabled: ADMIN_USER and ADMIN_PASSWORD are not set');
    router.use((_req, res) => {
      res.status(403).json({ error: 'admin_disabled', message: 'Bull Board is disabled: set ADMIN_USER and ADMIN_PASSWORD' });
    });
    return router;
  }
  router.use(boardRouter(opts));
  return router;
}
