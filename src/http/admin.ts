/**
 * Bull Board at `/admin/queues`: every queue of the system, behind HTTP Basic auth. Each user
 * (ADMIN_USER with ADMIN_ROLE, and the users of ADMIN_USERS_FILE, src/access/admin-users.ts) is a viewer
 * or an operator, and gets a board of that role: a viewer's is read-only, and any change a
 * viewer asks of the board's API is refused here too; even an operator cannot obliterate or empty a queue, add jobs
 * (except repairs, below), rewrite job data, or clean or remove anything but completed jobs of the
 * queues that hold accepted work (those would drop or forge accepted orders). Job data is masked
 * before it reaches the browser, and every retry and clean is logged with the signed-in user.
 *
 * Repairs: an operator adds a job to `invoice-repairs` (named `attach`, `reissue` or `abandon`,
 * the order and the reason as its data); the route checks it, names each wrong field in a 400,
 * and writes the signed-in user into it as `by`, the actor (a typed `by` becomes its `note`); the
 * repairs worker runs it (queues/repairs.ts).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { Router, type Express, type RequestHandler, type Response } from 'express';
import { CREATE_QUEUE, createQueueName } from '../../queues/create.ts';
import { EVENTS_QUEUE } from '../../queues/events.ts';
import { POLL_QUEUE } from '../../queues/poll.ts';
import { REPAIRS_QUEUE, parseRepairJob, repairFields } from '../../queues/repairs.ts';
import { repairDataJsonSchema } from '../ops/repair-templates.ts';
import { RESULTS_QUEUE } from '../../queues/results.ts';
import { WEBHOOKS_QUEUE } from '../../queues/webhooks.ts';
import type { Lane, Lanes } from '../lanes/lane.ts';
import type { Logger } from 'pino';
import { decoyHash, mayOperate, verifyPassword, type AdminRole, type AdminUser } from '../access/admin-users.ts';
import type { Metrics } from '../ops/metrics.ts';
import { maskPersonal } from '../observability/redact.ts';
import { safeEqual } from '../signing.ts';
import type { AuthFailures } from './auth.ts';

export const ADMIN_PATH = '/admin/queues';

export type { AdminRole };

export interface AdminOptions {
  queues: readonly Queue[];
  /** ADMIN_USER / ADMIN_PASSWORD: one user, of role `role`. */
  user?: string;
  password?: string;
  role: AdminRole;
  /** ADMIN_USERS_FILE: more users, each with a scrypt password hash and a role of its own. */
  users?: readonly AdminUser[];
  /** Local sandbox mode: without credentials the board is open (and says so loudly). */
  sandbox: boolean;
  log: Logger;
  metrics?: Pick<Metrics, 'operatorRetry'>;
  /** Failed sign-ins: logged, counted and braked per address (shared with the other surfaces). */
  failures?: AuthFailures;
  /** The lanes, so a lane's create queue says why it is paused (a capacity limit, an open breaker). */
  lanes?: Lanes;
}

/**
 * What each queue is and what is normal there, shown on its page in the board (an operator
 * should not have to know the code to tell a problem from the usual).
 */
export function queueDescription(name: string): string {
  if (name.startsWith(`${CREATE_QUEUE}.`)) {
    return `Orders of lane ${name.slice(CREATE_QUEUE.length + 1)} waiting to be sent to the provider. Normal: few waiting, delayed ones are retries after a provider error; failed ones ran out of attempts and wait for an operator's retry. The lane pauses itself when the provider rate-limits it, when the account is at a capacity limit, or while its circuit breaker is open; orders then wait without spending attempts.`;
  }
  if (name.startsWith(`${POLL_QUEUE}.`)) {
    return `Status polls of the open invoices of lane ${name.slice(POLL_QUEUE.length + 1)}: one delayed job per open invoice, due at its next poll. Normal: many delayed, few waiting; invoices not yet at their first poll are not jobs here (the poll index holds them).`;
  }
  switch (name) {
    case EVENTS_QUEUE:
      return 'Provider callbacks, stored before they were answered and applied to their invoice here. Normal: empty or draining fast; completed ones are kept to recognise redeliveries; a failed one is about an invoice we do not know (or no longer keep).';
    case RESULTS_QUEUE:
      return 'Results for the order system (created, paid, expired, exceptions...). The order system consumes this queue with its own workers, never this service: "No workers" here is normal unless the order system should be running; waiting jobs are results it has not taken yet.';
    case WEBHOOKS_QUEUE:
      return 'Result webhook deliveries, one job per result and endpoint, retried for about a day. Normal: delayed ones are retries; failed ones gave up (the endpoint kept failing).';
    case REPAIRS_QUEUE:
      return 'Repairs of single orders by an operator: attach, reissue or abandon. To run one, open its template under "Waiting children" (one per repair, never run), Duplicate it, fill in the order and the reason, Add. Completed and failed jobs are the record of who repaired what and why (kept 90 days).';
    default:
      return '';
  }
}

const PAUSE_NOTES = {
  capacity: (s: number) =>
    `CAPACITY PAUSE for another ${s} s: the provider account is at its capacity limit (e.g. as many unpaid invoices as it may hold); orders wait without spending attempts and sending resumes on its own. Not a rate limit: releasing it only hits the limit again.`,
  breaker: (s: number) => `CIRCUIT BREAKER OPEN for another ${s} s: the provider account does not answer; orders wait without spending attempts until a probe succeeds.`,
} as const;

/**
 * A lane's create queue: the board names a pause by its cause. BullMQ keeps one queue-wide pause
 * (`rateLimit`), which the board shows as "rate limited"; a capacity pause or an open breaker is
 * shown as such in the description instead (src/lanes/pause.ts), and only a provider's own rate
 * limit keeps the board's badge.
 */
class LaneQueueAdapter extends BullMQAdapter {
  private note = '';

  constructor(
    queue: Queue,
    options: ConstructorParameters<typeof BullMQAdapter>[1],
    private readonly lane: Lane,
  ) {
    super(queue, options);
  }

  override async getActiveRateLimitTtl(): Promise<number> {
    const ttl = await super.getActiveRateLimitTtl();
    const cause = ttl > 0 ? await this.lane.pause.cause().catch(() => null) : null;
    const note = cause === 'capacity' || cause === 'breaker' ? PAUSE_NOTES[cause] : undefined;
    // The board reads the description right after this, for the same request.
    this.note = note ? note(Math.ceil(ttl / 1000)) : '';
    return note ? 0 : ttl;
  }

  override getDescription(): string {
    return this.note ? `${this.note} ${super.getDescription()}` : super.getDescription();
  }
}

/** A verified (user, password) pair is remembered this long, so the board's polling does not run scrypt each time. */
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX = 1000;

/**
 * `Authorization: Basic`. ADMIN_USER's pair is compared in constant time (both parts always);
 * a file user's password is checked against its scrypt hash (an unknown name against a decoy
 * hash, so it takes as long). The user and role land in `res.locals.adminUser` / `adminRole`.
 */
export function basicAuth(opts: Pick<AdminOptions, 'user' | 'password' | 'role' | 'users' | 'log' | 'failures'>): RequestHandler {
  const users = new Map((opts.users ?? []).map((u) => [u.user, u]));
  // Keyed by an HMAC under a key of this process only: no password, nor a plain hash of one, is kept.
  const pepper = randomBytes(32);
  const verified = new Map<string, { role: AdminRole; until: number }>();
  const fingerprint = (user: string, password: string): string => createHmac('sha256', pepper).update(`${user}\u0000${password}`).digest('hex');

  async function check(givenUser: string, givenPassword: string): Promise<AdminRole | null> {
    if (opts.user && opts.password) {
      // Both comparisons always run, so a right user name is not measurably faster to refuse.
      const userOk = safeEqual(givenUser, opts.user);
      const passwordOk = safeEqual(givenPassword, opts.password);
      if (userOk && passwordOk) return opts.role;
    }
    if (!users.size) return null;
    const key = fingerprint(givenUser, givenPassword);
    const hit = verified.get(key);
    if (hit && hit.until > Date.now()) return hit.role;
    const u = users.get(givenUser);
    const ok = await verifyPassword(givenPassword, u?.passwordHash ?? (await decoyHash()));
    if (!u || !ok) return null;
    verified.delete(key);
    verified.set(key, { role: u.role, until: Date.now() + VERIFIED_TTL_MS });
    if (verified.size > VERIFIED_MAX) verified.delete(verified.keys().next().value as string);
    return u.role;
  }

  return async (req, res, next) => {
    if (opts.failures && opts.failures.retryAfter(req.ip ?? '') > 0) return opts.failures.brake()(req, res, next);
    const header = req.get('authorization') ?? '';
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header);
    const decoded = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const givenUser = colon >= 0 ? decoded.slice(0, colon) : '';
    const givenPassword = colon >= 0 ? decoded.slice(colon + 1) : '';
    const role = colon >= 0 ? await check(givenUser, givenPassword) : null;
    if (role) {
      res.locals.adminUser = givenUser;
      res.locals.adminRole = role;
      next();
      return;
    }
    if (header) {
      if (opts.failures) opts.failures.failed('admin', req, 'admin sign-in refused');
      else opts.log.warn({ surface: 'admin', ip: req.ip, path: ADMIN_PATH }, 'admin sign-in refused');
    }
    res.status(401).set('WWW-Authenticate', 'Basic realm="Bull Board", charset="UTF-8"').json({ error: 'unauthorized', message: 'sign in with the admin credentials' });
  };
}

// Bull Board API routes (relative to the board) that no role may use here.
const FORBIDDEN: Array<[method: 'put' | 'post' | 'patch', path: string, why: string]> = [
  ['put', '/api/queues/:queueName/obliterate', 'obliterating a queue would drop accepted orders'],
  ['put', '/api/queues/:queueName/empty', 'emptying a queue would drop accepted orders'],
  ['patch', '/api/queues/:queueName/:jobId/update-data', 'job data is derived from the invoice record'],
];
const ADD_ROUTE = '/api/queues/:queueName/add';
const RETRY_ROUTES = ['/api/queues/:queueName/:jobId/retry', '/api/queues/:queueName/retry/:queueStatus'];
const CLEAN_ALL_ROUTE = '/api/queues/:queueName/clean/:queueStatus';
const CLEAN_JOB_ROUTE = '/api/queues/:queueName/:jobId/clean';

/**
 * Queues whose jobs are accepted work: a failed job there waits for an operator's retry, a waiting
 * or delayed one is an order or an open invoice still being followed. Matched by prefix, so
 * per-lane queues (`invoice-create.<lane>`) are covered too. Only completed jobs may be cleaned.
 */
const ACCEPTED_WORK = ['invoice-create', 'invoice-events', 'invoice-poll'];
const holdsAcceptedWork = (queueName: string): boolean => ACCEPTED_WORK.some((prefix) => queueName.startsWith(prefix));
const CLEANABLE_STATE = 'completed';

function refuseClean(res: Response, queueName: string, state: string): void {
  res.status(403).json({
    error: 'forbidden',
    message: `not allowed here: ${queueName} holds accepted work (${state === 'failed' ? 'a failed job waits there for a retry' : `its ${state} jobs are still to be processed`}); only completed jobs may be cleaned`,
  });
}

/**
 * Bull Board's API answers a path it cannot percent-decode itself, as a 400 "internal server
 * error"; refusing it first gives the same `invalid_path` answer as the rest of the app.
 */
const decodablePath: RequestHandler = (req, _res, next) => {
  try {
    decodeURIComponent(req.path);
  } catch (err) {
    next(Object.assign(err as URIError, { status: 400 }));
    return;
  }
  next();
};

/** Query parameters Bull Board percent-decodes a second time, as queue names. */
const QUEUE_NAME_PARAMS = new Set(['activeQueue', 'queueName']);
/**
 * Far beyond what the board's pages reach, and small enough that (page - 1) * jobsPerPage stays a
 * plain integer in BullMQ's Lua scripts: past about 1e14 Lua writes it in exponent form (`1e+17`),
 * which Redis refuses as a range, and Bull Board answers 500.
 */
const MAX_JOBS_PER_PAGE = 1000;
const MAX_PAGE = 1_000_000;

/**
 * Query values Bull Board turns into a 500 rather than a 400: a NUL (it splits its own validation
 * messages on U+0000, and the message quotes the value), a queue name whose second decoding
 * throws, a page or page size past what a Redis range takes. Refused here with a 400 naming it.
 */
function queryProblem(query: Record<string, unknown>): string | undefined {
  for (const [name, value] of Object.entries(query)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
      if (name.includes('\u0000') || text.includes('\u0000')) return 'a query parameter holds a NUL character';
      if (QUEUE_NAME_PARAMS.has(name)) {
        try {
          decodeURIComponent(text);
        } catch {
          return `query parameter ${name} has a percent-escape that does not decode`;
        }
      }
      if (name === 'jobsPerPage' && Number(text) > MAX_JOBS_PER_PAGE) return `jobsPerPage must be at most ${MAX_JOBS_PER_PAGE}`;
      if (name === 'page' && Number(text) > MAX_PAGE) return `page must be at most ${MAX_PAGE}`;
    }
  }
  return undefined;
}

const boardQuery: RequestHandler = (req, res, next) => {
  const problem = queryProblem(req.query);
  if (problem) {
    res.status(400).json({ error: 'invalid_query', message: problem });
    return;
  }
  next();
};

/** One Bull Board over every queue: read-only for viewers, with retries for operators. */
function board(opts: AdminOptions, role: AdminRole): Express {
  const operator = mayOperate(role);
  const serverAdapter = new ExpressAdapter().setBasePath(ADMIN_PATH);
  const lanesByQueue = new Map([...(opts.lanes?.values() ?? [])].map((l) => [createQueueName(l.key), l]));
  const adapters = opts.queues.map((queue) => {
    const repairs = queue.name === REPAIRS_QUEUE;
    const options = {
      readOnlyMode: !operator,
      allowRetries: operator,
      description: queueDescription(queue.name),
      ...(repairs ? { jobDataSchema: repairDataJsonSchema() } : {}),
    };
    const lane = lanesByQueue.get(queue.name);
    const adapter = lane ? new LaneQueueAdapter(queue, options, lane) : new BullMQAdapter(queue, options);
    // Our create jobs carry only ids, but other queues may carry callback bodies: mask whatever comes.
    adapter.setFormatter('data', (data: unknown) => maskPersonal(data));
    adapter.setFormatter('returnValue', (value: unknown) => maskPersonal(value));
    adapter.setFormatter('progress', (value: unknown) => maskPersonal(value));
    return adapter;
  });
  createBullBoard({
    queues: adapters,
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: operator ? 'Invoice worker' : 'Invoice worker (read-only)',
        hideDocsLink: true,
        // The board shows jobs; the invoice page (src/http/admin-invoices.ts) finds an invoice.
        miscLinks: [{ text: 'Find an invoice', url: '/admin/invoices' }],
      },
    },
  });
  // The adapter's own express app: without this it announces `X-Powered-By: Express` on every answer.
  const app = serverAdapter.getRouter() as Express;
  app.disable('x-powered-by');
  return app;
}

const roleOf = (res: Response): AdminRole => (res.locals.adminRole === 'operator' ? 'operator' : 'viewer');

/**
 * A viewer changes nothing: every method but GET and HEAD on the board's API is refused here,
 * whatever Bull Board's own read-only mode would do (its routes change between versions; this
 * list does not need to follow them). 405, as Bull Board answers a read-only queue.
 */
const viewerReadsOnly: RequestHandler = (req, res, next) => {
  if (mayOperate(roleOf(res)) || req.method === 'GET' || req.method === 'HEAD' || !req.path.startsWith('/api/')) return next();
  res.status(405).json({ error: 'read_only', message: 'viewers cannot change queues or jobs: this needs the operator role' });
};

function boardRouter(opts: AdminOptions): Router {
  const roles = new Set<AdminRole>([...(opts.user || opts.sandbox ? [opts.role] : []), ...(opts.users ?? []).map((u) => u.role)]);
  const boards = new Map([...roles].map((r) => [r, board(opts, r)] as const));
  const router = Router();
  router.use(decodablePath, boardQuery);
  for (const [method, path, why] of FORBIDDEN) {
    router[method](path, (_req, res) => {
      res.status(403).json({ error: 'forbidden', message: `not allowed here: ${why}` });
    });
  }
  // Repairs are the one queue jobs may be added to, by an operator, in the shape queues/repairs.ts says.
  router.post(ADD_ROUTE, express.json({ limit: '16kb' }), (req, res, next) => {
    const queueName = String(req.params.queueName);
    const by = String(res.locals.adminUser ?? 'anonymous');
    const operator = mayOperate(roleOf(res));
    if (queueName !== REPAIRS_QUEUE || !operator) {
      res.status(403).json({
        error: 'forbidden',
        message:
          queueName !== REPAIRS_QUEUE
            ? `not allowed here: orders enter through the producer API or the CLI; repairs go to ${REPAIRS_QUEUE}`
            : 'repairs need the operator role (ADMIN_ROLE=operator, or role operator in ADMIN_USERS_FILE)',
      });
      return;
    }
    const body = (req.body ?? {}) as { name?: unknown; data?: unknown };
    const given = body.data && typeof body.data === 'object' && !Array.isArray(body.data) ? (body.data as Record<string, unknown>) : {};
    // The board's form starts from a template with every field of every repair: the ones left
    // empty, and those the chosen repair does not take, are not part of the request.
    const takes = repairFields(body.name);
    const { by: typedBy, ...typed } = Object.fromEntries(Object.entries(given).filter(([k, v]) => v !== '' && (!takes || takes.has(k))));
    // Who is the signed-in user, never what was typed (a typed `by` is kept as a note); `v` and `via` are ours too.
    const note = typeof typedBy === 'string' && typedBy.trim() ? typedBy.trim().slice(0, 100) : typeof typed.note === 'string' ? typed.note : undefined;
    const data = { ...typed, v: 1, by, via: 'bull-board', ...(note ? { note } : {}) };
    const parsed = parseRepairJob(body.name, data);
    if ('issues' in parsed) {
      opts.log.warn(
        { by, via: 'bull-board', queue: queueName, name: typeof body.name === 'string' ? body.name.slice(0, 40) : null, fields: parsed.issues.map((i) => i.field) },
        'repair from Bull Board refused: invalid',
      );
      res.status(400).json({ error: 'invalid_repair', issues: parsed.issues });
      return;
    }
    // Only what the repair takes goes on: no job options (delays, ids, attempts) from the form.
    req.body = { name: parsed.job.action, data: parsed.job.data, options: {} };
    opts.log.info(
      { by, via: 'bull-board', action: parsed.job.action, provider: parsed.job.data.provider, foreign_id: parsed.job.data.foreign_id },
      'repair requested from Bull Board',
    );
    next();
  });
  const audit =
    (action: 'retry' | 'clean'): RequestHandler =>
    (req, res, next) => {
      const by = String(res.locals.adminUser ?? 'anonymous');
      res.on('finish', () => {
        const ok = res.statusCode < 300;
        opts.log[ok ? 'info' : 'warn'](
          { by, via: 'bull-board', queue: req.params.queueName, jobId: req.params.jobId ?? null, jobState: req.params.queueStatus ?? null, httpStatus: res.statusCode },
          ok ? `${action} requested from Bull Board` : `${action} from Bull Board refused`,
        );
        if (ok && action === 'retry') opts.metrics?.operatorRetry('bull-board');
      });
      next();
    };
  router.put(RETRY_ROUTES, audit('retry'));
  // Before the guards below, so a refused clean is logged too.
  router.put([CLEAN_ALL_ROUTE, CLEAN_JOB_ROUTE], audit('clean'));
  router.put(CLEAN_ALL_ROUTE, (req, res, next) => {
    const queueName = String(req.params.queueName);
    const state = String(req.params.queueStatus);
    if (holdsAcceptedWork(queueName) && state !== CLEANABLE_STATE) return refuseClean(res, queueName, state);
    next();
  });
  router.put(CLEAN_JOB_ROUTE, async (req, res, next) => {
    const queueName = String(req.params.queueName);
    const queue = opts.queues.find((q) => q.name === queueName);
    if (!queue || !holdsAcceptedWork(queueName)) return next();
    const state = await queue.getJobState(String(req.params.jobId));
    // An unknown job is Bull Board's to answer (404).
    if (state !== CLEANABLE_STATE && state !== 'unknown') return refuseClean(res, queueName, state);
    next();
  });
  router.use(viewerReadsOnly);
  router.use((req, res, next) => {
    const app = boards.get(roleOf(res));
    if (!app) return next(Object.assign(new Error('no board for this role'), { status: 403, expose: true }));
    app(req, res, next);
  });
  return router;
}

/**
 * The sign-in of every admin page (Bull Board, the invoice page at /admin/invoices): HTTP Basic
 * for ADMIN_USER and the ADMIN_USERS_FILE users, open in sandbox mode without them (loudly), and
 * refused (403) when neither is set. One instance serves both pages, so they share the verified
 * cache and count failed sign-ins the same way.
 */
export function adminSignIn(opts: AdminOptions): RequestHandler {
  if ((opts.user && opts.password) || opts.users?.length) return basicAuth(opts);
  if (opts.sandbox) {
    opts.log.warn(
      { path: ADMIN_PATH, role: opts.role },
      'BULL BOARD IS OPEN WITHOUT AUTHENTICATION (sandbox mode): set ADMIN_USER and ADMIN_PASSWORD before this port is reachable by anyone else',
    );
    return (_req, res, next) => {
      res.locals.adminUser = 'sandbox';
      res.locals.adminRole = opts.role;
      next();
    };
  }
  opts.log.info({ path: ADMIN_PATH }, 'Bull Board disabled: ADMIN_USER and ADMIN_PASSWORD (or ADMIN_USERS_FILE) are not set');
  return (_req, res) => {
    res.status(403).json({ error: 'admin_disabled', message: 'Bull Board is disabled: set ADMIN_USER and ADMIN_PASSWORD, or ADMIN_USERS_FILE' });
  };
}

/** The router to mount at {@link ADMIN_PATH}, behind `signIn` (default: one of its own). */
export function adminRouter(opts: AdminOptions, signIn: RequestHandler = adminSignIn(opts)): Router {
  const router = Router();
  router.use(signIn);
  // Without any sign-in the gate above answers every request; no board is built.
  if ((opts.user && opts.password) || opts.users?.length || opts.sandbox) router.use(boardRouter(opts));
  return router;
}
