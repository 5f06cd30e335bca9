/**
 * Outbound HTTP for adapters: one undici Pool per base URL with keep-alive and timeouts, and the
 * split that matters for idempotency. A failure before the request could reach the provider
 * (refused, DNS, connect timeout) is `ProviderUnavailable` and safe to retry; a failure after the
 * request may have been delivered (reset, headers/body timeout) is `OutcomeUnknown`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry, { AbortError } from 'p-retry';
import { Pool } from 'undici';
import { OutcomeUnknown, ProviderUnavailable } from '../errors.ts';
import { clientSpan } from '../observability/tracing.ts';

export interface HttpRequest {
  provider: string;
  baseUrl: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  /** The exact body string to send (already signed by the caller where needed). */
  body?: string;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Milliseconds from send to the full body. */
  durationMs: number;
}

/**
 * `Retry-After` in ms: delta-seconds or an HTTP date (RFC 9110 10.2.3); undefined when absent or
 * unreadable. Capped at a day, so a hostile header cannot park a lane for ever.
 */
export function retryAfterMs(headers: HttpResponse['headers'], now = Date.now()): number | undefined {
  const raw = headers['retry-after'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!value) return undefined;
  const ms = /^\d{1,9}$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(ms, 86_400_000);
}

export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

export interface HttpClientOptions {
  connectTimeoutMs?: number;
  /** One deadline for the whole answer, headers and body together, from the moment it is sent. */
  responseTimeoutMs?: number;
  /** Larger answers are cut as soon as they pass this (no provider answer comes near it). */
  maxBodyBytes?: number;
  connections?: number;
  /** In-attempt retries for failures that provably never reached the provider. */
  connectRetries?: number;
  /** Called once per finished exchange (metrics). */
  onResponse?: (req: HttpRequest, res: { status: number | 'error'; durationMs: number }) => void;
}

/** `PROVIDER_MAX_BODY_BYTES` by default: 1 MB. */
export const MAX_BODY_BYTES = 1_048_576;

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return (err as { code?: string })?.code;
}

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const responseTimeoutMs = options.responseTimeoutMs ?? 20_000;
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const pools = new Map<string, Pool>();
  const pool = (origin: string): Pool => {
    let p = pools.get(origin);
    if (!p) {
      p = new Pool(origin, {
        // A ceiling, not a reservation: sockets open as requests need them, and the worker's
        // concurrency bounds those. 64 capped one provider at 64 / latency (320/s at 200 ms);
        // 256 measured 2.4x that in bench/RESULTS.md.
        connections: options.connections ?? 256,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connectTimeout: options.connectTimeoutMs ?? 5000,
        headersTimeout: responseTimeoutMs,
        bodyTimeout: responseTimeoutMs,
        // Stops reading (and closes the socket) as soon as the body passes the cap, or at once when
        // Content-Length announces more: a 50 MB answer costs the cap in memory, not 50 MB.
        maxResponseSize: maxBodyBytes,
      });
      pools.set(origin, p);
    }
    return p;
  };

  async function once(req: HttpRequest): Promise<HttpResponse> {
    // Base URLs may carry a path (a sandbox or proxy mount point): append, never resolve.
    const url = new URL(req.baseUrl.replace(/\/+$/, '') + req.path);
    const started = performance.now();
    // headersTimeout and bodyTimeout are idle timers: a body dripping a byte every few seconds never
    // trips them and would hold the worker's slot for ever. This one bounds the whole exchange.
    const deadline = AbortSignal.timeout(responseTimeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, deadline]) : deadline;
    try {
      // Tracing on: a client span per attempt, and `traceparent` for the provider.
      const { res, text } = await clientSpan(
        req.method,
        url,
        async (traceHeaders) => {
          const res = await pool(url.origin).request({
            method: req.method,
            path: url.pathname + url.search,
            headers: traceHeaders.traceparent ? { ...req.headers, ...traceHeaders } : req.headers,
            body: req.body,
            signal,
          });
          return { res, text: await res.body.text() };
        },
        (r) => r.res.statusCode,
      );
      const durationMs = performance.now() - started;
      options.onResponse?.(req, { status: res.statusCode, durationMs });
      return { status: res.statusCode, headers: res.headers, text, durationMs };
    } catch (err) {
      options.onResponse?.(req, { status: 'error', durationMs: performance.now() - started });
      const code = errorCode(err);
      if (code && NOT_SENT_CODES.has(code)) {
        throw new ProviderUnavailable(`provider unreachable (${code})`, req.provider, undefined, { cause: err });
      }
      // The caller's own abort (shutdown) is the caller's to handle.
      if (req.signal?.aborted) throw err;
      // The request may have been delivered and acted on: the outcome is unknown.
      const why = deadline.aborted
        ? `no full answer within ${responseTimeoutMs} ms`
        : code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE'
          ? `answer larger than ${maxBodyBytes} bytes; cut`
          : `no answer from provider (${code ?? 'error'})`;
      throw new OutcomeUnknown(why, req.provider, undefined, { cause: err });
    }
  }

  return {
    async request(req) {
      // Only failures that never reached the provider are retried here; a POST is never re-sent
      // after it may have been delivered (that is the worker's reconciliation decision). The first
      // attempt goes out on its own: almost every request is answered, and p-retry's bookkeeping
      // around it was a measurable part of each request's CPU.
      const retries = options.connectRetries ?? 2;
      try {
        return await once(req);
      } catch (err) {
        if (!(err instanceof ProviderUnavailable) || retries <= 0 || req.signal?.aborted) throw err;
      }
      await sleep(50 * (1 + Math.random()), undefined, req.signal ? { signal: req.signal } : undefined);
      return pRetry(
        async () => {
          try {
            return await once(req);
          } catch (err) {
            if (err instanceof ProviderUnavailable) throw err;
            throw new AbortError(err as Error);
          }
        },
        { retries: retries - 1, minTimeout: 100, maxTimeout: 500, randomize: true, signal: req.signal },
      );
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.close()));
      pools.clear();
    },
  };
}
