/**
 * The producer API over HTTP with the global fetch. Request and answer types come from the
 * OpenAPI document (schema.ts, generated); an operation the document does not describe yet is
 * typed by the shape its route documents (the `*Fallback` types below) until a regeneration
 * picks the document's up.
 */
import { ClientError, errorFor } from './errors.ts';
import type { components, paths } from './schema.ts';

type Schemas = components['schemas'];
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : never;

/** The JSON answer of `method path` with `status` as the document describes it, else `F`. */
export type AnswerOf<P extends string, M extends string, S extends number, F = unknown> = P extends keyof paths
  ? paths[P] extends Record<M, infer O>
    ? O extends { responses: infer R }
      ? S extends keyof R
        ? JsonOf<R[S]>
        : F
      : F
    : F
  : F;

/** The JSON request body of `method path` as the document describes it, else `F`. */
export type BodyOf<P extends string, M extends string, F = unknown> = P extends keyof paths
  ? paths[P] extends Record<M, infer O>
    ? O extends { requestBody?: infer B }
      ? JsonOf<NonNullable<B>>
      : F
    : F
  : F;

export type Order = Schemas['Order'];
export type Invoice = Schemas['Invoice'];
export type CreateAnswer = Schemas['CreateAnswer'];
export type BatchAnswer = Schemas['BatchAnswer'];
export type RepairAnswer = Schemas['RepairAnswer'];

type Repair = '/v1/invoices/{provider}/{foreign_id}';
export type RetryRequest = BodyOf<`${Repair}/retry`, 'post'>;
export type CancelRequest = BodyOf<`${Repair}/cancel`, 'post'>;
export type AbandonRequest = BodyOf<`${Repair}/abandon`, 'post'>;
export type AttachRequest = BodyOf<`${Repair}/attach`, 'post'>;
export type ReissueRequest = BodyOf<`${Repair}/reissue`, 'post'>;
export type AcceptRequest = BodyOf<`${Repair}/accept`, 'post'>;
export type BulkRetryRequest = BodyOf<'/v1/invoices/retry', 'post'>;

/** A page of a listing: `next_cursor` null on the last one. */
export interface PageFallback<T> {
  items: T[];
  next_cursor: string | null;
}
export type InvoicePage = AnswerOf<'/v1/invoices', 'get', 200, PageFallback<Invoice>>;
/** One invoice of the listing. */
export type ListedInvoice = InvoicePage['items'][number];

/** Filters of the listing and the export (each optional). */
export interface ListQuery {
  provider?: string;
  account?: string;
  status?: Invoice['status'];
  /** ISO-8601: changed at or after. */
  updated_since?: string;
  /** ISO-8601: changed before. */
  updated_until?: string;
  /** Invoices per page (the server caps it). */
  limit?: number;
  /** Start after this page (from `next_cursor`). */
  cursor?: string;
}

export interface EndpointFallback {
  id: string;
  url: string;
  description?: string;
  status: 'enabled' | 'disabled';
  [field: string]: unknown;
}
export type EndpointCreated = AnswerOf<'/v1/webhook-endpoints', 'post', 201, { endpoint: EndpointFallback; secret: string }>;
export type EndpointList = AnswerOf<'/v1/webhook-endpoints', 'get', 200, { endpoints: EndpointFallback[] }>;
export type EndpointAnswer = AnswerOf<'/v1/webhook-endpoints/{id}', 'get', 200, { endpoint: EndpointFallback }>;
export type EndpointRotated = AnswerOf<'/v1/webhook-endpoints/{id}/rotate', 'post', 201, { endpoint: EndpointFallback; secret: string }>;
export type EndpointStatusAnswer = AnswerOf<'/v1/webhook-endpoints/{id}/enable', 'post', 200, { endpoint: EndpointFallback; promoted: number }>;
export type EndpointCreateRequest = BodyOf<'/v1/webhook-endpoints', 'post', { url: string; description?: string; secret?: string }>;
export type DeliveriesAnswer = AnswerOf<'/v1/webhook-endpoints/{id}/deliveries', 'get', 200, { event_id?: string; attempts?: unknown[]; [field: string]: unknown }>;
export type RedeliverRequest = BodyOf<'/v1/webhook-endpoints/{id}/redeliver', 'post', { event_id?: string; from?: string; to?: string; by?: string }>;
export type RedeliverAnswer = AnswerOf<'/v1/webhook-endpoints/{id}/redeliver', 'post', 202, { redelivering: number }>;

export interface ClientOptions {
  /** Where the API listens, e.g. `https://invoices.internal`. */
  baseUrl: string;
  /** An API key's token, sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Per-request timeout in ms (default 30 s; a create's wait is added to it). */
  timeoutMs?: number;
  /** Another fetch (a proxy agent, tests); the global one by default. */
  fetch?: typeof fetch;
}

export interface CreateOptions {
  /**
   * Wait up to this many seconds (the server caps it at 30) for the provider: the invoice comes
   * back past `queued`, with its `payment_url` once created, or still `queued` when time ran out.
   */
  wait?: number;
}

/** Which invoice: the provider's default account unless `account` is given. */
export interface InvoiceRef {
  provider: string;
  foreign_id: string;
  account?: string;
}

type Query = Record<string, string | number | boolean | undefined>;

export class InvoiceClient {
  private readonly base: string;
  private readonly doFetch: typeof fetch;
  private readonly timeoutMs: number;

  /** Result webhook endpoints: where results are POSTed, signed. */
  readonly webhookEndpoints: WebhookEndpoints;

  constructor(private readonly options: ClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.doFetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.webhookEndpoints = new WebhookEndpoints(this);
  }

  /** Submits one order: `accepted` or `existing`; a different order under its foreign_id throws ConflictError. */
  create(order: Order, options: CreateOptions = {}): Promise<CreateAnswer> {
    const wait = options.wait ?? 0;
    if (!Number.isInteger(wait) || wait < 0) throw new RangeError('wait must be a whole number of seconds');
    return this.request('POST', '/v1/invoices', { body: order, query: wait ? { wait } : {}, timeoutMs: this.timeoutMs + Math.min(wait, 30) * 1000 });
  }

  /** Submits 1 to 1,000 orders; each outcome comes back in input order (an invalid one does not stop the others). */
  createBatch(orders: Order[]): Promise<BatchAnswer> {
    return this.request('POST', '/v1/invoices/batch', { body: { orders } });
  }

  /** The invoice with its history; NotFoundError when there is none. */
  get(ref: InvoiceRef): Promise<Invoice> {
    return this.request('GET', invoicePath(ref), { query: { account: ref.account } });
  }

  /** The listing page by page (`GET /v1/invoices`), following `next_cursor`. */
  async *pages(query: ListQuery = {}): AsyncGenerator<InvoicePage> {
    let cursor = query.cursor;
    for (;;) {
      const page = await this.request<InvoicePage>('GET', '/v1/invoices', { query: { ...query, cursor } });
      yield page;
      const next = page.next_cursor;
      if (!next) return;
      cursor = next;
    }
  }

  /** Every invoice the filters match, oldest change first, fetched a page at a time. */
  async *list(query: ListQuery = {}): AsyncGenerator<ListedInvoice> {
    for await (const page of this.pages(query)) yield* page.items;
  }

  /** The export (`GET /v1/invoices/export`) as a byte stream: CSV or NDJSON. */
  async export(query: Omit<ListQuery, 'limit' | 'cursor'> & { format: 'csv' | 'ndjson' }): Promise<ReadableStream<Uint8Array>> {
    const res = await this.send('GET', '/v1/invoices/export', { query, accept: query.format === 'csv' ? 'text/csv' : 'application/x-ndjson' });
    if (!res.body) throw new ClientError('the export answered without a body', res.status, 'invalid_response');
    return res.body;
  }

  /** Queues again a submission that has not reached the provider (a parked one needs `confirm_not_created`). */
  retry(ref: InvoiceRef, body: RetryRequest = {}): Promise<AnswerOf<`${Repair}/retry`, 'post', 202>> {
    return this.repair(ref, 'retry', body);
  }
  /** Withdraws an order (cancelled at the provider first once it exists there). */
  cancel(ref: InvoiceRef, body: CancelRequest = {}): Promise<RepairAnswer> {
    return this.repair(ref, 'cancel', body);
  }
  /** Ends an open order for good (`cancelled` or `failed`), with who and why. */
  abandon(ref: InvoiceRef, body: AbandonRequest): Promise<RepairAnswer> {
    return this.repair(ref, 'abandon', body);
  }
  /** Attaches the invoice an operator found at the provider to a parked or failed order. */
  attach(ref: InvoiceRef, body: AttachRequest): Promise<RepairAnswer> {
    return this.repair(ref, 'attach', body);
  }
  /** Sends a parked order again as a new invoice under a derived provider-side foreign_id. */
  reissue(ref: InvoiceRef, body: ReissueRequest): Promise<RepairAnswer> {
    return this.repair(ref, 'reissue', body);
  }
  /** Takes a payment parked as underpaid or unverifiable as paid. */
  accept(ref: InvoiceRef, body: AcceptRequest): Promise<RepairAnswer> {
    return this.repair(ref, 'accept', body);
  }
  /** Retries failed submissions in bulk (`dry_run` only says what it would). */
  retryFailed(body: BulkRetryRequest): Promise<AnswerOf<'/v1/invoices/retry', 'post', 200>> {
    return this.request('POST', '/v1/invoices/retry', { body });
  }

  private repair<T>(ref: InvoiceRef, action: string, body: unknown): Promise<T> {
    return this.request('POST', `${invoicePath(ref)}/${action}`, { body, query: { account: ref.account } });
  }

  /** One call: the parsed JSON answer, or the ClientError subclass of its status. @internal */
  async request<T>(method: string, path: string, options: { body?: unknown; query?: Query; timeoutMs?: number } = {}): Promise<T> {
    const res = await this.send(method, path, { ...options, accept: 'application/json' });
    const text = await res.text();
    try {
      return (text ? JSON.parse(text) : {}) as T;
    } catch {
      throw new ClientError(`the server answered ${res.status} with a body that is not JSON`, res.status, 'invalid_response');
    }
  }

  private async send(method: string, path: string, options: { body?: unknown; query?: Query; timeoutMs?: number; accept: string }): Promise<Response> {
    const headers: Record<string, string> = { accept: options.accept };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) search.set(k, String(v));
    const qs = search.size ? `?${search}` : '';
    const res = await this.doFetch(`${this.base}${path}${qs}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs),
    });
    if (res.ok) return res;
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* kept as text */
    }
    throw errorFor(res.status, body, res.headers.get('retry-after'));
  }
}

/** `client.webhookEndpoints`: register, inspect and operate result webhook endpoints. */
export class WebhookEndpoints {
  constructor(private readonly client: InvoiceClient) {}

  /** Registers an endpoint; the answer holds its `whsec_` secret (shown this once). */
  create(body: EndpointCreateRequest): Promise<EndpointCreated> {
    return this.client.request('POST', '/v1/webhook-endpoints', { body });
  }
  list(): Promise<EndpointList> {
    return this.client.request('GET', '/v1/webhook-endpoints');
  }
  get(id: string): Promise<EndpointAnswer> {
    return this.client.request('GET', endpointPath(id));
  }
  /** A new secret; the previous one stays valid (deliveries carry both signatures) for a while. */
  rotate(id: string): Promise<EndpointRotated> {
    return this.client.request('POST', `${endpointPath(id)}/rotate`, { body: {} });
  }
  /** Enables it again: its held deliveries go now. */
  enable(id: string): Promise<EndpointStatusAnswer> {
    return this.client.request('POST', `${endpointPath(id)}/enable`, { body: {} });
  }
  disable(id: string): Promise<EndpointStatusAnswer> {
    return this.client.request('POST', `${endpointPath(id)}/disable`, { body: {} });
  }
  remove(id: string): Promise<AnswerOf<'/v1/webhook-endpoints/{id}', 'delete', 200, { removed: boolean }>> {
    return this.client.request('DELETE', endpointPath(id));
  }
  /** Delivery attempts: of one result (`event_id`), or as the route lists them (`status`, `limit`, `cursor`). */
  deliveries(id: string, query: { event_id?: string; status?: string; limit?: number; cursor?: string }): Promise<DeliveriesAnswer> {
    return this.client.request('GET', `${endpointPath(id)}/deliveries`, { query });
  }
  /** Sends results again: one (`event_id`) or those that occurred between `from` and `to`. */
  redeliver(id: string, body: RedeliverRequest): Promise<RedeliverAnswer> {
    return this.client.request('POST', `${endpointPath(id)}/redeliver`, { body });
  }
}

function invoicePath(ref: InvoiceRef): string {
  return `/v1/invoices/${encodeURIComponent(ref.provider)}/${encodeURIComponent(ref.foreign_id)}`;
}

function endpointPath(id: string): string {
  return `/v1/webhook-endpoints/${encodeURIComponent(id)}`;
}
