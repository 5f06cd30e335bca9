/**
 * Authentication at the HTTP edge: bearer tokens for the producer API (API keys, src/access/api-keys.ts)
 * and /metrics, and the bookkeeping of failures every surface (api, admin, metrics) shares: a
 * warn line (surface, address, path; never anything of the credential), the
 * `invoice_worker_auth_failures_total{surface}` counter, and a per-address brake: after
 * `limit` failures within a minute an address gets 429 with Retry-After, without its
 * credentials being checked, until that minute is over. Other addresses are not affected.
 *
 * A request without credentials at all is refused (401) but not counted: browsers ask first
 * without, and guessing takes presenting something.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { OPEN_ACCESS, mayUseLane, missingScope, type KeyRing, type Principal, type Scope } from '../access/api-keys.ts';
import { DEFAULT_ACCOUNT, laneKey } from '../lanes/key.ts';
import type { Metrics } from '../ops/metrics.ts';
import { safeEqual } from '../signing.ts';

export type AuthSurface = 'api' | 'admin' | 'metrics';

const WINDOW_MS = 60_000;
/** Addresses remembered at once; the least recently failing ones are forgotten first. */
const MAX_ADDRESSES = 10_000;

export interface AuthFailuresOptions {
  log: Logger;
  metrics?: Pick<Metrics, 'authFailure'>;
  /** Failures per address within a minute before it is refused with 429; 0: never. */
  limit: number;
  now?: () => number;
}

/** Failed authentications: logged, counted, and braked per client address. */
export class AuthFailures {
  private readonly windows = new Map<string, { count: number; until: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: AuthFailuresOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Seconds the address must wait, or 0 when it may try. */
  retryAfter(ip: string): number {
    if (this.opts.limit <= 0) return 0;
    const w = this.windows.get(ip);
    if (!w) return 0;
    const left = w.until - this.now();
    if (left <= 0) {
      this.windows.delete(ip);
      return 0;
    }
    return w.count >= this.opts.limit ? Math.ceil(left / 1000) : 0;
  }

  failed(surface: AuthSurface, req: Request, message = 'authentication failed'): void {
    const ip = clientAddress(req);
    // The path only: a query could carry anything.
    const path = (req.originalUrl.split('?')[0] ?? '').slice(0, 200);
    this.opts.log.warn({ surface, ip, path, method: req.method }, message);
    this.opts.metrics?.authFailure(surface);
    if (this.opts.limit <= 0) return;
    const now = this.now();
    let w = this.windows.get(ip);
    if (!w || w.until <= now) w = { count: 0, until: now + WINDOW_MS };
    w.count++;
    // Re-inserted, so the Map's order is least recently failing first.
    this.windows.delete(ip);
    this.windows.set(ip, w);
    if (this.windows.size > MAX_ADDRESSES) this.windows.delete(this.windows.keys().next().value as string);
    if (w.count === this.opts.limit)
      this.opts.log.warn({ surface, ip, failures: w.count, seconds: Math.ceil((w.until - now) / 1000) }, 'authentication failures: address refused until the minute is over');
  }

  /** Middleware: answers 429 while the address is braked. */
  brake(): RequestHandler {
    return (req, res, next) => {
      const wait = this.retryAfter(clientAddress(req));
      if (wait > 0) {
        res
          .status(429)
          .set('Retry-After', String(wait))
          .json({ error: 'too_many_requests', message: `too many failed authentications from this address; retry after ${wait} s` });
        return;
      }
      next();
    };
  }
}

/** The path from the app's root (a router mounted at `/v1` sees only the rest in `req.path`). */
function fullPath(req: Request): string {
  return req.baseUrl + req.path;
}

function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

function bearerToken(req: Request): string | undefined {
  const header = req.get('authorization');
  if (header === undefined) return undefined;
  return /^Bearer (.+)$/i.exec(header)?.[1] ?? '';
}

function refuse(res: Response): void {
  res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthorized', message: 'missing or wrong bearer token' });
}

/** `Authorization: Bearer <token>`, compared in constant time (/metrics). No token configured: open. */
export function bearerAuth(token: string | undefined, failures?: AuthFailures, surface: AuthSurface = 'metrics'): RequestHandler {
  return (req, res, next) => {
    if (!token) return next();
    if (failures && failures.retryAfter(clientAddress(req)) > 0) return failures.brake()(req, res, next);
    const given = bearerToken(req);
    if (given && safeEqual(given, token)) return next();
    if (given !== undefined) failures?.failed(surface, req);
    refuse(res);
  };
}

/** The principal of a request to the producer API (set by {@link apiAuth}). */
export function principalOf(res: Response): Principal {
  return (res.locals.principal as Principal | undefined) ?? OPEN_ACCESS;
}

/** The producer API's authentication: the request's key becomes `res.locals.principal`. */
export function apiAuth(keys: KeyRing, failures: AuthFailures): RequestHandler {
  return (req, res, next) => {
    if (keys.open) {
      res.locals.principal = OPEN_ACCESS;
      return next();
    }
    if (failures.retryAfter(clientAddress(req)) > 0) return failures.brake()(req, res, next);
    const given = bearerToken(req);
    const principal = given ? keys.authenticate(given) : null;
    if (principal) {
      res.locals.principal = principal;
      return next();
    }
    if (given !== undefined) failures.failed('api', req);
    refuse(res);
  };
}

/** The lane a request names in its path (`/v1/invoices/{provider}/{foreign_id}...?account=`), when it does. */
function pathLane(req: Request): string | undefined {
  const m = /^\/v1\/invoices\/([^/]+)\/[^/]+(?:\/[^/]+)?$/.exec(fullPath(req));
  if (!m?.[1]) return undefined;
  const account = req.query.account;
  if (account !== undefined && typeof account !== 'string') return undefined;
  let provider: string;
  try {
    provider = decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
  return laneKey(provider, account ?? DEFAULT_ACCOUNT);
}

/** The lane a create request's body names, when it names one. */
function bodyLane(body: unknown): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const { provider, account } = body as { provider?: unknown; account?: unknown };
  if (typeof provider !== 'string') return undefined;
  return laneKey(provider, typeof account === 'string' ? account : DEFAULT_ACCOUNT);
}

/**
 * The scope each route of the producer API needs, in one place. A route not listed needs every
 * scope (a route added without a line here is closed to limited keys, not open to them).
 */
const ROUTES: Array<[method: string, path: RegExp, scope: Scope]> = [
  ['POST', /^\/v1\/invoices$/, 'orders:write'],
  ['POST', /^\/v1\/invoices\/batch$/, 'orders:write'],
  ['POST', /^\/v1\/invoices\/retry$/, 'repairs'],
  ['GET', /^\/v1\/invoices(\/export)?$/, 'orders:read'],
  ['GET', /^\/v1\/invoices\/[^/]+\/[^/]+$/, 'orders:read'],
  ['POST', /^\/v1\/invoices\/[^/]+\/[^/]+\/(cancel|payment-method)$/, 'orders:write'],
  ['POST', /^\/v1\/invoices\/[^/]+\/[^/]+\/(retry|abandon|attach|reissue|accept)$/, 'repairs'],
  ['*', /^\/v1\/webhook-endpoints(\/.*)?$/, 'webhooks'],
];

export function requiredScope(method: string, path: string): Scope | 'all' {
  for (const [m, re, scope] of ROUTES) if ((m === '*' || m === method) && re.test(path)) return scope;
  return 'all';
}

/**
 * After {@link apiAuth}: the route's scope (403 naming it when missing), and the lane a key is
 * limited to: reading another lane's order is a 404 (so ids do not leak), acting on one a 403.
 */
export const apiAccess: RequestHandler = (req, res, next) => {
  const p = principalOf(res);
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const path = fullPath(req);
  const scope = requiredScope(method, path);
  const missing = missingScope(p, scope);
  if (missing) {
    res.status(403).json({ error: 'forbidden', message: missing === 'all' ? 'this API key may not use this route' : `this API key lacks the scope ${missing}`, scope: missing });
    return;
  }
  if (p.lanes === null) return next();
  const lane = pathLane(req) ?? (method === 'POST' && path === '/v1/invoices' ? bodyLane(req.body) : undefined);
  if (lane !== undefined && !mayUseLane(p, lane)) {
    if (method === 'GET') res.status(404).json({ error: 'not_found', message: 'no invoice for this provider and foreign_id' });
    else res.status(403).json({ error: 'forbidden', message: `this API key may not act on lane ${lane}`, lane });
    return;
  }
  next();
};
