/**
 * Runs provider API requests through the fault rules (faults.ts): creates get every fault, cancels
 * and updates 5xx and reset, every request the global latency. The gate runs in front of auth and
 * validation, like the load balancer or network it imitates; only commit-then-drop (and hang,
 * drip or huge with `commit`) lets the request reach the provider logic. A 502, 503 or 504 is the
 * proxy's page; a 500 or 429 is the provider's own (its `faultReplies`: the platform's 429 is a
 * non-JSON Cloudflare body, docs/providers.md 1.7 / 6.4).
 */
import type { Request, Response } from 'express';
import type { SandboxContext } from './context.ts';
import { json, send, text, type Reply } from './reply.ts';
import type { SandboxKind } from './types.ts';

const NGINX = (status: number, title: string): string =>
  `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;

function serverError(ctx: SandboxContext, provider: string, status: number): Reply {
  if (status === 500) {
    // The application answered: each provider's framework error body.
    return ctx.providers.get(provider)?.faultReplies?.serverError ?? text(500, 'Internal Server Error');
  }
  const title = status === 502 ? 'Bad Gateway' : status === 503 ? 'Service Temporarily Unavailable' : 'Gateway Time-out';
  return text(status, NGINX(status, title), 'text/html');
}

function tooManyRequests(ctx: SandboxContext, provider: string): Reply {
  return ctx.providers.get(provider)?.faultReplies?.tooManyRequests ?? text(429, 'Too Many Requests');
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
export async function cancelGate(ctx: SandboxContext, provider: string, req: Request, res: Response, handle: () => Reply, op: 'cancel' | 'update' = 'cancel'): Promise<void> {
  const { fault } = ctx.faults.take(provider, 'invoice', op);
  if (fault?.fault === 'reset') {
    req.socket.resetAndDestroy();
    return;
  }
  if (fault?.fault === '5xx') {
    send(res, serverError(ctx, provider, ctx.faults.nextServerStatus(fault.status)));
    return;
  }
  await answer(ctx, res, handle);
}

/** Runs one create request through the fault rules, counting it in the stats. */
export async function gate(ctx: SandboxContext, provider: string, kind: SandboxKind, req: Request, res: Response, handle: () => Reply): Promise<void> {
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
      const reply = serverError(ctx, provider, ctx.faults.nextServerStatus(fault?.status));
      ctx.stats.outcome(provider, reply.status);
      send(res, reply);
      return;
    }
    case '429':
      ctx.stats.outcome(provider, 429);
      send(res, tooManyRequests(ctx, provider));
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
