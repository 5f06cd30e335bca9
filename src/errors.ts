/**
 * Error taxonomy. Adapters throw these; workers branch on the class (never on message text).
 * `classify()` maps any error to what the create worker does with it (README guarantee 5).
 */

export interface FieldIssue {
  field: string;
  message: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly issues: FieldIssue[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }
}

/** Bad input from a caller (HTTP body, job payload): every bad field listed. */
export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(readonly issues: FieldIssue[]) {
    super(`invalid input: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }
}

/** Base of every error that came from talking to a provider. */
export abstract class ProviderError extends Error {
  abstract readonly code: string;
  constructor(
    message: string,
    readonly provider: string,
    readonly httpStatus?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** 5xx, or a transport failure before the request could reach the provider: safe to retry. */
export class ProviderUnavailable extends ProviderError {
  override name = 'ProviderUnavailable';
  readonly code = 'PROVIDER_UNAVAILABLE';
}

/** 429 or the provider's non-JSON throttle page: slow down, spend no attempt. */
export class ProviderRateLimited extends ProviderError {
  override name = 'ProviderRateLimited';
  readonly code = 'PROVIDER_RATE_LIMITED';
  constructor(
    message: string,
    provider: string,
    httpStatus?: number,
    readonly hint: {
      /** How long the provider asked us to wait (`Retry-After`), in ms. */
      retryAfterMs?: number;
      /**
       * The account is at a capacity limit (e.g. too many unpaid invoices), not sending too fast:
       * it clears in minutes, for the whole lane, and is not this order's fault.
       */
      capacity?: string;
    } = {},
  ) {
    super(message, provider, httpStatus);
  }
}

/** The request was (or may have been) sent and no answer came: reconcile, never blindly re-create. */
export class OutcomeUnknown extends ProviderError {
  override name = 'OutcomeUnknown';
  readonly code = 'OUTCOME_UNKNOWN';
}

/** The provider refused the order for good (validation, business rule). */
export class ProviderRejected extends ProviderError {
  override name = 'ProviderRejected';
  readonly code = 'PROVIDER_REJECTED';
  constructor(
    message: string,
    provider: string,
    httpStatus: number | undefined,
    readonly fields: Record<string, string> = {},
  ) {
    super(message, provider, httpStatus);
  }
}

/** The platform already holds an invoice with this foreign_id (docs/providers.md 1.7, 6.1). */
export class DuplicateForeignId extends ProviderError {
  override name = 'DuplicateForeignId';
  readonly code = 'DUPLICATE_FOREIGN_ID';
}

/** 401/403: bad key or signature. Permanent, and an operator must look. */
export class ProviderAuth extends ProviderError {
  override name = 'ProviderAuth';
  readonly code = 'PROVIDER_AUTH';
}

/** The provider's answer did not match its schema. The issues are kept, the body is not. */
export class ResponseShape extends ProviderError {
  override name = 'ResponseShape';
  readonly code = 'RESPONSE_SHAPE';
  constructor(
    provider: string,
    httpStatus: number | undefined,
    readonly issues: FieldIssue[],
  ) {
    super(`unexpected provider response: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`, provider, httpStatus);
  }
}

/** Another attempt of the same order wrote its in-flight marker first: this one must not send. */
export class ConcurrentAttempt extends Error {
  override name = 'ConcurrentAttempt';
  readonly code = 'CONCURRENT_ATTEMPT';
}

/** A create job whose order has no record: retrying cannot help (the job fails at once). */
export class MissingRecord extends Error {
  override name = 'MissingRecord';
  readonly code = 'MISSING_RECORD';
}

export type Disposition = 'retry' | 'rate-limited' | 'unknown-outcome' | 'duplicate' | 'permanent';

export function classify(err: unknown): Disposition {
  if (err instanceof ProviderRateLimited) return 'rate-limited';
  if (err instanceof ProviderUnavailable) return 'retry';
  if (err instanceof OutcomeUnknown) return 'unknown-outcome';
  if (err instanceof DuplicateForeignId) return 'duplicate';
  if (err instanceof ProviderRejected || err instanceof ProviderAuth || err instanceof ResponseShape) return 'permanent';
  if (err instanceof ValidationError) return 'permanent';
  // Anything else is our own bug or an unexpected runtime error: retry, so an operator sees it
  // in the failed set with its stack once attempts run out, instead of it being dropped.
  return 'retry';
}

/** Turns zod issues into field issues with dotted paths, e.g. `customer.sender.first_name`. */
export function zodIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>, root?: string): FieldIssue[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return { field: [root, path].filter(Boolean).join('.') || '(body)', message: issue.message };
  });
}

/** A short, log-safe description of an error: class, code and HTTP status, never a body. */
export function errorSummary(err: unknown): string {
  if (err instanceof ProviderError) {
    return `${err.name}${err.httpStatus ? ` ${err.httpStatus}` : ''}: ${err.message}`;
  }
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Redis replies that mean "not now": a replica or a loading server, a primary gone, a cluster without a node for the slot, memory full. */
const REDIS_NOT_NOW = /^(READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|BUSY|OOM)\b/;
/** ioredis' own errors while a connection is down or being re-established (failover, restart). */
const REDIS_DOWN_MESSAGES = ['Connection is closed', "Stream isn't writeable", 'Command timed out', 'All sentinels are unreachable', 'Failed to refresh slots cache'];
const REDIS_DOWN_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError']);
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * True when Redis could not serve a command for now (ioredis' and Redis' errors during a restart or
 * a failover, or at maxmemory): the HTTP API answers 503 with Retry-After, never 500, since nothing
 * was acknowledged and the same order again is safe. Looks at `cause` and a cluster's last node error too.
 */
export function redisUnavailable(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 3) return false;
  const e = err as Error & { code?: unknown; cause?: unknown; lastNodeError?: unknown };
  if (REDIS_DOWN_NAMES.has(e.name)) return true;
  if (e.name === 'ReplyError' && REDIS_NOT_NOW.test(e.message)) return true;
  if (REDIS_DOWN_MESSAGES.some((m) => e.message.startsWith(m))) return true;
  if (typeof e.code === 'string' && SOCKET_CODES.has(e.code)) return true;
  return redisUnavailable(e.cause, depth + 1) || redisUnavailable(e.lastNodeError, depth + 1);
}
