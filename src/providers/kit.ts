/**
 * The plumbing every adapter shares around its provider's own words: one request with the
 * "it may have arrived" rule, reading a JSON answer or callback against a schema, the part of the
 * error taxonomy a status alone decides, and provider texts made safe to keep. Written once so
 * the adapters differ only where their providers do.
 */
import type { z } from 'zod';
import { OutcomeUnknown, ProviderAuth, ProviderError, ProviderRateLimited, ProviderRejected, ProviderUnavailable, ResponseShape, ValidationError, zodIssues } from '../errors.ts';
import { DEFAULT_ACCOUNT, type LaneRef } from '../lanes/key.ts';
import { maskEmails } from '../observability/redact.ts';
import { retryAfterMs, type HttpRequest, type HttpResponse } from './http.ts';
import type { AdapterDeps } from './types.ts';

export const NOT_JSON = Symbol('not JSON');

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isOneOf<T extends string>(list: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (list as readonly string[]).includes(value);
}

/** The default of an exhaustive switch: the compiler proves it unreachable; at run time it names the value. */
export function unreachable(value: never): never {
  throw new TypeError(`unhandled case: ${String(value)}`);
}

/** The account an adapter speaks for: the one it was given, else its provider's default account. */
export function laneOf(provider: string, deps: AdapterDeps): LaneRef {
  return deps.lane ?? { provider, account: DEFAULT_ACCOUNT };
}

/** Sends one request; a failure after we handed it over is `OutcomeUnknown`: it may have arrived. */
export async function send(deps: AdapterDeps, req: HttpRequest): Promise<HttpResponse> {
  try {
    return await deps.http.request(req);
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    // Aborted or otherwise interrupted after we handed the request over: it may have arrived.
    throw new OutcomeUnknown('request interrupted before an answer', req.provider, undefined, { cause: err });
  }
}

/**
 * A 2xx answer read against its schema. One we cannot read (not JSON, fields missing, a payment
 * URL that is not http(s)) most likely did what we asked: `ResponseShape` with the 2xx status,
 * which the submit path treats as an unknown outcome, never as a refusal (STYLE errors table).
 * Any other status goes through the provider's own error mapping.
 */
export function readAnswer<S extends z.ZodType>(provider: string, res: HttpResponse, schema: S, toError: (res: HttpResponse) => ProviderError): z.output<S> {
  if (res.status < 200 || res.status > 299) throw toError(res);
  const json = parseJson(res.text);
  if (json === NOT_JSON) throw new ResponseShape(provider, res.status, [{ field: '(body)', message: 'not JSON' }]);
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ResponseShape(provider, res.status, zodIssues(parsed.error.issues));
  return parsed.data;
}

/** The JSON document of an authentic callback body; `ValidationError` when it is not JSON. */
export function callbackJson(raw: Buffer): unknown {
  const json = parseJson(raw.toString('utf8'));
  if (json === NOT_JSON) throw new ValidationError([{ field: '(body)', message: 'must be a JSON object' }]);
  return json;
}

/** The same, where only an object can be a callback; `ValidationError` for any other JSON too. */
export function callbackObject(raw: Buffer): Record<string, unknown> {
  const json = callbackJson(raw);
  if (!isRecord(json)) throw new ValidationError([{ field: '(body)', message: 'must be a JSON object' }]);
  return json;
}

/** A provider message read against its schema; `ValidationError` naming the fields when malformed. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error.issues));
  return parsed.data;
}

/** Cloudflare's throttle page: plain text, and it may come with a status other than 429. */
export function isThrottled(res: HttpResponse): boolean {
  return res.status === 429 || /^error code:\s*1015$/i.test(res.text.trim());
}

/**
 * The taxonomy by status alone, for what a provider's own codes did not decide: throttled, down,
 * our credentials refused, the request refused (with the provider's words in `fields`), or a
 * status no answer should have. Never echoes the body.
 */
export function statusError(provider: string, res: HttpResponse, fields?: Record<string, string>): ProviderError {
  const { status } = res;
  if (isThrottled(res)) return new ProviderRateLimited('provider rate limit', provider, status, { retryAfterMs: retryAfterMs(res.headers) });
  if (status >= 500) return new ProviderUnavailable(`provider error (HTTP ${status})`, provider, status);
  if (status === 401 || status === 403) return new ProviderAuth(`provider refused our credentials (HTTP ${status})`, provider, status);
  if (status >= 400) return new ProviderRejected(`provider rejected the request (HTTP ${status})`, provider, status, fields);
  return new ResponseShape(provider, status, [{ field: '(status)', message: `unexpected HTTP status ${status}` }]);
}

/** Provider texts may quote what we sent; e-mail addresses are masked (redact.ts) before they travel on. */
export function scrub(text: string): string {
  return maskEmails(text, '[redacted]').slice(0, 300);
}
