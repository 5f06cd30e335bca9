/**
 * One error class per kind of refusal, chosen by the HTTP status (stripe-node's factory shape), so
 * callers match on the class, never on message text. Every one carries the status, the server's
 * stable `error` code and, for 400, every bad field.
 */

/** A field the server refused, and why (`field` is a dotted path such as `customer.email`). */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Any non-2xx answer, or an answer that is not the JSON the API promises. */
export class ClientError extends Error {
  override name = 'ClientError';
  constructor(
    message: string,
    /** The HTTP status (0 when no answer was read). */
    readonly status: number,
    /** The server's `error` code, e.g. `invalid_order`, `not_found`, `conflict`, `not_possible`. */
    readonly code: string,
    /** Every bad field (400), empty otherwise. */
    readonly issues: FieldIssue[] = [],
    /** The parsed answer body, for fields a subclass does not name. */
    readonly body: unknown = undefined,
  ) {
    super(message);
  }
}

/** 400: the request was refused as invalid; nothing was recorded or changed. */
export class ValidationError extends ClientError {
  override name = 'ValidationError';
}

/** 401 (no or a wrong token) or 403 (the key lacks the scope, or may not act on this lane). */
export class AuthError extends ClientError {
  override name = 'AuthError';
}

/** 404: no such invoice, provider, account or webhook endpoint. */
export class NotFoundError extends ClientError {
  override name = 'NotFoundError';
}

/** 409: another order under this foreign_id, or a repair not possible in the invoice's state. */
export class ConflictError extends ClientError {
  override name = 'ConflictError';
}

/** 503: the service (its Redis, or the provider it had to ask) could not answer now; nothing changed. */
export class UnavailableError extends ClientError {
  override name = 'UnavailableError';
  constructor(
    message: string,
    status: number,
    code: string,
    issues: FieldIssue[],
    body: unknown,
    /** Seconds the server asked to wait before trying again (`Retry-After`), when it said. */
    readonly retryAfter: number | undefined,
  ) {
    super(message, status, code, issues, body);
  }
}

/** The error for an answer: its class by status. */
export function errorFor(status: number, body: unknown, retryAfterHeader: string | null): ClientError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { error?: unknown; message?: unknown; issues?: unknown };
  const code = typeof b.error === 'string' ? b.error : `http_${status}`;
  const issues = Array.isArray(b.issues) ? (b.issues as FieldIssue[]) : [];
  const message = typeof b.message === 'string' ? b.message : issues.length ? issues.map((i) => `${i.field}: ${i.message}`).join('; ') : `the server answered ${status}`;
  switch (status) {
    case 400:
      return new ValidationError(message, status, code, issues, body);
    case 401:
    case 403:
      return new AuthError(message, status, code, issues, body);
    case 404:
      return new NotFoundError(message, status, code, issues, body);
    case 409:
      return new ConflictError(message, status, code, issues, body);
    case 503: {
      const seconds = retryAfterHeader === null ? NaN : Number(retryAfterHeader);
      return new UnavailableError(message, status, code, issues, body, Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined);
    }
    default:
      return new ClientError(message, status, code, issues, body);
  }
}
