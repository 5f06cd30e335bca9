/**
 * One delivery of a result to a webhook endpoint: a signed POST (./signing.ts) of the result's
 * JSON, and what came of it: the endpoint's HTTP status, or why there was none. What that means
 * for the delivery (done, retried, held, the endpoint disabled) is the webhooks worker's to say
 * (workers/webhooks.ts).
 *
 * Each request goes through the delivery agent (./target.ts): the host is resolved and checked
 * again as the connection is made, the answer has one deadline (headers and body together) and a
 * size cap, and redirects are not followed.
 */
import { request, type Dispatcher } from 'undici';
import { clientSpan } from '../observability/tracing.ts';
import { MAX_BODY_BYTES, retryAfterMs } from '../providers/http.ts';
import type { Endpoint } from './endpoints.ts';
import { signHeaders } from './signing.ts';
import { deliveryAgent, targetUrlIssue, type Resolve } from './target.ts';

/** How deliveries are sent. */
export interface DeliveryOptions {
  /** One deadline for a delivery's whole answer (headers and body together). */
  timeoutMs: number;
  /** `WEBHOOK_ALLOW_PRIVATE`: deliveries may go to internal addresses (development). */
  allowPrivate?: boolean;
  /** Answers larger than this are cut (`PROVIDER_MAX_BODY_BYTES`). */
  maxBodyBytes?: number;
  /** Name resolution for the connect-time check (the system's resolver unless a test gives one). */
  resolve?: Resolve;
  /** The agent requests go through (made from the settings above unless given). */
  dispatcher?: Dispatcher;
}

/** The agent deliveries go through: the one given, or a new one from the options (the caller closes it). */
export function deliveryDispatcher(opts: DeliveryOptions): Dispatcher {
  return opts.dispatcher ?? deliveryAgent({ allowPrivate: opts.allowPrivate ?? false, maxBodyBytes: opts.maxBodyBytes ?? MAX_BODY_BYTES, resolve: opts.resolve });
}

/** What one delivery came to. */
export interface DeliveryOutcome {
  /** The HTTP status, or why there was none: `TARGET_REFUSED`, `DEADLINE`, the transport error's code. */
  outcome: number | string;
  ms: number;
  /** When the endpoint asked us to wait (Retry-After), in ms. */
  retryAfterMs?: number;
}

/** The code of a transport error, or of its cause (undici wraps the socket's errors). */
function causeCode(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
  }
  return (err as { code?: string })?.code;
}

/** POSTs `body`, the result whose id is `eventId`, to the endpoint, signed with its live secrets. */
export async function deliver(
  endpoint: Pick<Endpoint, 'url' | 'secrets'>,
  eventId: string,
  body: string,
  opts: DeliveryOptions & { dispatcher: Dispatcher },
): Promise<DeliveryOutcome> {
  const headers = { 'content-type': 'application/json', 'user-agent': 'invoice-worker-webhooks/1', ...signHeaders(endpoint, eventId, body) };
  const started = performance.now();
  let outcome: number | string;
  let wait: number | undefined;
  // An address literal is never looked up, so the connect-time check cannot see it: checked here
  // (the URL was checked at registration, but the policy may have been tightened since).
  const refused = targetUrlIssue(endpoint.url, opts.allowPrivate ?? false);
  // One deadline for headers and body together: undici's idle timers never end a body that drips.
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  if (refused) outcome = 'TARGET_REFUSED';
  else
    try {
      const res = await clientSpan(
        'POST',
        new URL(endpoint.url),
        async (trace) => {
          const res = await request(endpoint.url, { method: 'POST', headers: { ...headers, ...trace }, body, dispatcher: opts.dispatcher, signal: deadline });
          // The answer's body is not needed, only read (up to the cap) so the connection can be reused.
          await res.body.dump({ limit: opts.maxBodyBytes ?? MAX_BODY_BYTES, signal: deadline });
          return res;
        },
        (r) => r.statusCode,
      );
      outcome = res.statusCode;
      wait = retryAfterMs(res.headers);
    } catch (err) {
      outcome = deadline.aborted ? 'DEADLINE' : (causeCode(err) ?? 'error');
    }
  const ms = Math.round(performance.now() - started);
  return { outcome, ms, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
}
