/**
 * Typed producer client used inside this repository (it imports the service's own types). Order
 * systems use the publishable package in client/ (`@invoice-worker/client`), whose types come
 * from the OpenAPI document and which imports nothing of the service.
 *
 * ```ts
 * const client = new InvoiceClient({ baseUrl: 'https://invoices.internal', token: process.env.API_TOKEN });
 * const { outcome, invoice } = await client.create({ provider: 'alphapo', foreign_id: 'o-1', amount: '10.00', currency: 'EUR', ... });
 * // The payment URL in one call: wait up to 10 s for the provider.
 * const { invoice: { payment_url } } = await client.create(order, { waitSeconds: 10 });
 * ```
 */
import type { z } from 'zod';
import type { FieldIssue } from './errors.ts';
import type { BatchAnswerSchema, CreateAnswerSchema } from './http/answers.ts';
import type { InvoiceView } from './invoice/intake.ts';
import type { OrderInput } from './invoice/order.ts';

export type { InvoiceView, OrderInput, FieldIssue };

export interface ClientOptions {
  baseUrl: string;
  token?: string;
  /** Per-request timeout (ms). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The answers' types are the API's own answer schemas (src/http/answers.ts), so they cannot drift from what it sends. */
export type CreateAnswer = z.infer<typeof CreateAnswerSchema>;

export interface CreateOptions {
  /**
   * Wait up to this many seconds (the server caps it at 30) for the provider's answer: the
   * invoice comes back past `queued` (with its `payment_url` once created), or still `queued`
   * when the time ran out. The request timeout is stretched to cover the wait.
   */
  waitSeconds?: number;
}

/** One order's outcome: accepted or existing (with the invoice), conflict, invalid, or forbidden (the key may not use its lane). */
export type BatchItem = BatchAnswer['results'][number];

export type BatchAnswer = z.infer<typeof BatchAnswerSchema>;

/** A non-2xx answer: `status`, the server's `error` code and, for 400, every bad field. */
export class InvoiceApiError extends Error {
  override name = 'InvoiceApiError';
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

export class InvoiceClient {
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.doFetch = options.fetch ?? fetch;
  }

  /**
   * Submits one order. Resolves for accepted and existing; throws InvoiceApiError (409, 400...)
   * otherwise. With `waitSeconds` the answer waits for the provider (see {@link CreateOptions}).
   */
  create(order: OrderInput, options: CreateOptions = {}): Promise<CreateAnswer> {
    const wait = options.waitSeconds;
    if (wait === undefined || wait === 0) return this.call<CreateAnswer>('POST', '/v1/invoices', order);
    if (!Number.isInteger(wait) || wait < 0) throw new RangeError('waitSeconds must be a whole number of seconds');
    const seconds = Math.min(wait, 30);
    return this.call<CreateAnswer>('POST', `/v1/invoices?wait=${seconds}`, order, (this.options.timeoutMs ?? 30_000) + seconds * 1000);
  }

  /** Submits up to 1,000 orders; each item's outcome comes back in input order. */
  createBatch(orders: OrderInput[]): Promise<BatchAnswer> {
    return this.call<BatchAnswer>('POST', '/v1/invoices/batch', { orders });
  }

  /** The invoice with its history, or null when unknown. */
  async get(provider: string, foreignId: string): Promise<InvoiceView | null> {
    try {
      return await this.call<InvoiceView>('GET', `/v1/invoices/${encodeURIComponent(provider)}/${encodeURIComponent(foreignId)}`);
    } catch (err) {
      if (err instanceof InvoiceApiError && err.status === 404) return null;
      throw err;
    }
  }

  /** Retries a submission that has not reached the provider. */
  retry(provider: string, foreignId: string, body: { confirm_not_created?: boolean; by?: string } = {}): Promise<{ outcome: string }> {
    return this.call('POST', `/v1/invoices/${encodeURIComponent(provider)}/${encodeURIComponent(foreignId)}/retry`, body);
  }

  private async call<T>(method: string, path: string, body?: unknown, timeoutMs = this.options.timeoutMs ?? 30_000): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const res = await this.doFetch(`${this.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      throw new InvoiceApiError(res.status, 'invalid_response', `server answered ${res.status} with a non-JSON body`);
    }
    if (!res.ok) {
      throw new InvoiceApiError(
        res.status,
        String(parsed.error ?? 'error'),
        String(parsed.message ?? `server answered ${res.status}`),
        Array.isArray(parsed.issues) ? (parsed.issues as FieldIssue[]) : [],
      );
    }
    return parsed as T;
  }
}
