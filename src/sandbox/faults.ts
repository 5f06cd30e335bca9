/**
 * Fault injection on create requests: latency, 5xx, 429 (the platform's non-JSON Cloudflare body,
 * docs/providers.md 1.7 / 6.4), connection reset, "committed, then the response is lost", hang,
 * an answer that drips a byte at a time (`drip`) and one of 50 MB (`huge`).
 * The gate runs in front of auth and validation, like the load balancer or network it imitates;
 * only commit-then-drop (and hang with `commit`) lets the request reach the provider logic.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { json, send, text, type Reply, type SandboxContext } from './context.ts';
import type { FaultRule, SandboxKind, SandboxProvider } from './types.ts';

export const FaultRuleSchema = z
  .strictObject({
    provider: z.enum(['cryptoprocessing', 'alphapo', 'cryptosteroid']).optional(),
    kind: z.enum(['invoice', 'payment_request']).optional(),
    fault: z.enum(['latency', '5xx', '429', 'reset', 'commit-then-drop', 'hang', 'drip', 'huge']),
    count: z.number().int().min(1).optional(),
    rate: z.number().min(0).max(1).optional(),
    ms: z.number().int().min(0).max(600_000).optional(),
    status: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).optional(),
    commit: z.boolean().optional(),
    op: z.enum(['create', 'cancel', 'update']).optional(),
  })
  .refine((r) => r.count === undefined || r.rate === undefined, { message: 'count and rate are exclusive', path: ['rate'] });

export class Faults {
  private rules: FaultRule[] = [];
  private cycle = 0;

  constructor(private readonly random: () => number) {}

  add(rule: FaultRule): void {
    this.rules.push({ ...FaultRuleSchema.parse(rule) });
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /**
   * Decides what happens to one create request: the sum of matching latency rules, plus the first
   * matching non-latency rule that fires. Count-limited rules are spent only when they fire.
   */
  take(provider: SandboxProvider, kind: SandboxKind, op: 'create' | 'cancel' | 'update' = 'create'): { latencyMs: number; fault?: FaultRule } {
    let latencyMs = 0;
    let fault: FaultRule | undefined;
    for (const rule of this.rules) {
      if ((rule.op ?? 'create') !== op) continue;
      if (rule.provider && rule.provider !== provider) continue;
      if (rule.kind && rule.kind !== kind) continue;
      if (rule.fault !== 'latency' && fault) continue;
      if (rule.rate !== undefined && this.random() >= rule.rate) continue;
      if (rule.count !== undefined) rule.count -= 1;
      if (rule.fault === 'latency') latencyMs += rule.ms ?? 1000;
      else fault = rule;
    }
    this.rules = this.rules.filter((r) => r.count === undefined || r.count > 0);
    return fault ? { latencyMs, fault } : { latencyMs };
  }

  nextServerStatus(status?: number): number {
    if (status) return status;
    const statuses = [500, 502, 503] as const;
    return statuses[this.cycle++ % statuses.length] as number;
  }
}

const NGINX = (status: number, title: string): string =>
  `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;

function serverError(provider: SandboxProvider, status: number): Reply {
  if (status === 500) {
    // The application answered: each provider's framework error body.
    return provider === 'cryptosteroid' ? json(500, { statusCode: 500, message: 'Internal server error' }) : json(500, { message: 'Server Error' });
  }
  const title = status === 502 ? 'Bad Gateway' : status === 503 ? 'Service Temporarily Unavailable' : 'Gateway Time-out';
  return text(status, NGINX(status, title), 'text/html');
}

function tooManyRequests(provider: SandboxProvider): Reply {
  // The platform's throttle page is Cloudflare text, not JSON, and carries no Retry-After.
  return provider === 'cryptosteroid' ? json(429, { statusCode: 429, message: 'ThrottlerException: Too Many Requests' }) : text(429, 'error code: 1015');
}

function run(ctx: SandboxContext, handle: () => Reply): Reply {
  try {
    return handle();
  } catch (err) {
    ctx.log.error({ err }, 'sandbox handler failed');
    return json(500, { message: 'Server Error' });
  }
}

/** Global latency for every provider API call (not only creates). */
export async function answer(ctx: SandboxContext, res: Response, handle: () => Reply): Promise<void> {
  if (ctx.options.latencyMs > 0) await ctx.timers.sleep(ctx.options.latencyMs);
  if (ctx.timers.isClosed) return;
  send(res, run(ctx, handle));
}

/**
 * Runs one cancel (or update) request through the fault rules that target it (`op: 'cancel'` or
 * `'update'`): a 5xx or a reset instead of the provider's answer, so tests can make one fail. Not
 * counted in the create stats.
 */
export async function cancelGate(
  ctx: SandboxContext,
  provider: SandboxProvider,
  req: Request,
  res: Response,
  handle: () => Reply,
  op: 'cancel' | 'update' = 'cancel',
): Promise<void> {
  const { fault } = ctx.faults.take(provider, 'invoice', op);
  if (fault?.fault === 'reset') {
    req.socket.resetAndDestroy();
    return;
  }
  if (fault?.fault === '5xx') {
    send(res, serverError(provider, ctx.faults.nextServerStatus(fault.status)));
    return;
  }
  await answer(ctx, res, handle);
}

/** Runs one create request through the fault rules, counting it in the stats. */
export async function gate(ctx: SandboxContext, provider: SandboxProvider, kind: SandboxKind, req: Request, res: Response, handle: () => Reply): Promise<void> {
  ctx.stats.received(provider, kind);
  const { latencyMs, fault } = ctx.faults.take(provider, kind);
  const delay = ctx.options.latencyMs + latencyMs;
  if (delay > 0) await ctx.timers.sleep(delay);
  if (ctx.timers.isClosed) return;
  const kindOfFault = fault?.fault;
  switch (kindOfFault) {
    case 'reset':
      ctx.stats.outcome(provider, 'reset');
      req.socket.resetAndDestroy();
      return;
    case '5xx': {
      const reply = serverError(provider, ctx.faults.nextServerStatus(fault?.status));
      ctx.stats.outcome(provider, reply.status);
      send(res, reply);
      return;
    }
    case '429':
      ctx.stats.outcome(provider, 429);
      send(res, tooManyRequests(provider));
      return;
    case 'hang':
      // Hold the socket open without a word; close() destroys it.
      if (fault?.commit) run(ctx, handle);
      ctx.stats.outcome(provider, 'hang');
      return;
    case 'drip': {
      // Headers at once, then a byte now and then: only a deadline on the whole answer ends it.
      if (fault?.commit) run(ctx, handle);
      ctx.stats.outcome(provider, 'drip');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      const every = fault?.ms ?? 1000;
      const drip = setInterval(() => res.write(' '), every);
      res.once('close', () => clearInterval(drip));
      return;
    }
    case 'huge': {
      // 50 MB of JSON whitespace, streamed from one small buffer (the sandbox itself stays small).
      if (fault?.commit) run(ctx, handle);
      ctx.stats.outcome(provider, 'huge');
      const total = 50 * 1024 * 1024;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(total) });
      const pump = (): void => {
        while (sent < total && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (sent >= total) res.end();
      };
      pump();
      return;
    }
    case 'commit-then-drop':
      run(ctx, handle);
      ctx.stats.outcome(provider, 'dropped');
      req.socket.destroy();
      return;
    case 'latency':
    case undefined: {
      const reply = run(ctx, handle);
      ctx.stats.outcome(provider, reply.status);
      send(res, reply);
      return;
    }
    default: {
      const never: never = kindOfFault;
      throw new Error(`unknown fault ${String(never)}`);
    }
  }
}
