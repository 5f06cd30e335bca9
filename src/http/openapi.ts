/**
 * The producer API's OpenAPI 3.1 document, generated from the zod schemas that validate the
 * requests (the order, src/invoice/order.ts; batch and retry bodies, invoices.ts) and the schemas
 * of the answers (answers.ts) with zod's own `z.toJSONSchema`: requests as they are sent
 * (`io: 'input'`: defaults optional, before transforms), answers as they are written. Nothing
 * here restates a field by hand; test/integration/openapi.test.ts checks a real request and
 * answer of every operation against it.
 *
 * Served at `GET /openapi.json`, with a reference page at `GET /docs` (reference.ts), both
 * without the bearer token: the document describes the API and holds no data.
 */
import { Router } from 'express';
import { z } from 'zod';
import { OrderObject, OrderSchema, ProviderName } from '../invoice/order.ts';
import { AccountName } from '../lanes.ts';
import * as answers from './answers.ts';
import { BatchSchema, BulkRetrySchema, MAX_BATCH, MAX_WAITERS, RetryBody, WAIT_MAX_SECONDS } from './invoices.ts';
import { renderReference } from './reference.ts';
import { SCOPES } from '../api-keys.ts';
import { requiredScope } from './auth.ts';
import { AbandonSchema, AcceptSchema, AttachSchema, CancelSchema, ReissueSchema } from '../invoice/repair.ts';
import { ResultSchema } from '../invoice/result.ts';

export type JsonSchema = Record<string, unknown>;
export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

const ref = (id: string): JsonSchema => ({ $ref: `#/components/schemas/${id}` });

/** What the README says of each order field (the schema says its type and limits). */
const ORDER_FIELDS: Record<keyof typeof OrderObject.shape, string> = {
  provider: 'the connector: `cryptoprocessing`, `alphapo` or `cryptosteroid` (those configured here)',
  account: 'the provider account (lane); absent or `default` for the default one',
  kind: '`invoice` (default) or `payment_request` (platform providers)',
  foreign_id: "the order's id in your system (any unicode), unique per (provider, account)",
  amount: 'decimal string > 0, e.g. "100.50"',
  currency: 'e.g. "EUR" (upper-cased)',
  title: 'platform invoices: required',
  description: 'CryptoSteroid: required',
  customer: 'reference, email and the sender (natural or legal person)',
  urls: 'where the payer is sent: success, failure, store',
  timer: 'platform invoice that expires 15 minutes after creation',
  expires_in_seconds: 'payment requests: exactly one of expires_in_seconds and expires_at',
  expires_at: 'payment requests: absolute end of the lifetime (ISO-8601 with offset)',
  payment_currency: 'crypto the payer must use (platform sender_currency / payment_currency, CryptoSteroid paymentMethod)',
  provider_options: 'platform: type, payment_currency_network; CryptoSteroid: whoPayCommission',
};

/** JSON Schemas of a set of named zod schemas; a named schema inside another becomes a `$ref`. */
function componentSchemas(named: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
    override: ({ jsonSchema }) => {
      // Answers are open: v1 may add fields, which clients ignore (the test closes them to catch drift).
      if (io === 'output' && jsonSchema.additionalProperties === false) delete jsonSchema.additionalProperties;
    },
  });
  const out: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema as JsonSchema;
    out[id] = rest;
  }
  return out;
}

/** An inline JSON Schema (parameters). */
function inline(schema: z.ZodType): JsonSchema {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const json = (schema: JsonSchema, extra: Record<string, unknown> = {}) => ({ content: { 'application/json': { schema, ...extra } } });
const answer = (description: string, schema: JsonSchema, headers?: Record<string, unknown>) => ({ description, ...(headers ? { headers } : {}), ...json(schema) });

const EXAMPLE_ORDER = {
  provider: 'alphapo',
  foreign_id: 'order-1001',
  amount: '100.50',
  currency: 'EUR',
  title: 'Order 1001',
  description: 'Two mugs',
  customer: { reference: 'cust-42', email: 'payer@example.com' },
  urls: { success: 'https://shop.example/ok', failure: 'https://shop.example/fail' },
};

/** W3C Trace Context: with tracing on (README "Tracing"), the order's spans continue the caller's trace. */
const traceparent = {
  name: 'traceparent',
  in: 'header',
  required: false,
  description: "W3C Trace Context; with tracing on, the order's spans (create, provider request, callbacks, results) join this trace",
  schema: { type: 'string', pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' },
  example: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
} as const;

function build(): OpenApiDocument {
  const requests = componentSchemas(
    {
      Order: OrderSchema,
      BatchRequest: BatchSchema,
      RetryRequest: RetryBody,
      BulkRetryRequest: BulkRetrySchema,
      CancelRequest: CancelSchema,
      AbandonRequest: AbandonSchema,
      AttachRequest: AttachSchema,
      ReissueRequest: ReissueSchema,
      AcceptRequest: AcceptSchema,
    },
    'input',
  );
  const order = requests.Order as { properties: Record<string, JsonSchema> };
  for (const [field, text] of Object.entries(ORDER_FIELDS)) {
    const property = order.properties[field];
    if (property) property.description ??= text;
  }
  // The batch schema takes any item (each is validated on its own, an invalid one is an item of the answer); each is meant to be an order.
  const batch = requests.BatchRequest as { properties: { orders: JsonSchema } };
  batch.properties.orders.items = { ...ref('Order') };
  batch.properties.orders.description = `1 to ${MAX_BATCH} orders; each is validated on its own: an invalid one is answered \`invalid\` in its result, the others go ahead`;

  const responses = componentSchemas(
    {
      Invoice: answers.InvoiceViewSchema,
      CreateAnswer: answers.CreateAnswerSchema,
      BatchAnswer: answers.BatchAnswerSchema,
      RetryAnswer: answers.RetryAnswerSchema,
      BulkRetryAnswer: answers.BulkRetryAnswerSchema,
      FieldIssue: answers.FieldIssueSchema,
      IssuesError: answers.IssuesErrorSchema,
      MessageError: answers.MessageErrorSchema,
      BadRequest: answers.BadRequestSchema,
      NotFound: answers.NotFoundSchema,
      Forbidden: answers.ForbiddenSchema,
      Conflict: answers.ConflictSchema,
      RetryRefused: answers.RetryRefusedSchema,
      RepairAnswer: answers.RepairAnswerSchema,
      RepairRefused: answers.RepairRefusedSchema,
      // The result payload (queue and webhooks), so clients generated from this document can type what they receive.
      Result: ResultSchema,
    },
    'output',
  );

  const common = { '401': answer('missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set)', ref('MessageError')) };
  const withBody = {
    ...common,
    '413': answer('the body is larger than 5 MB', ref('MessageError')),
    '415': answer('the body is not declared `application/json`, or not UTF-8', ref('MessageError')),
  };
  const invoicePath = [
    { name: 'provider', in: 'path', required: true, schema: inline(ProviderName) },
    { name: 'foreign_id', in: 'path', required: true, description: 'percent-encoded', schema: inline(OrderObject.shape.foreign_id) },
    { name: 'account', in: 'query', required: false, description: 'the provider account; absent: the default one', schema: inline(AccountName) },
  ];
  const preferenceApplied = {
    'Preference-Applied': { description: '`wait=N` when the wait was honoured (N: the seconds it allowed)', schema: { type: 'string' } },
  };

  const doc: OpenApiDocument = {
    openapi: '3.1.1',
    info: {
      title: 'Invoice worker: producer API',
      version: '1',
      description:
        'Orders in, invoices at crypto payment providers out. An order is recorded once per (provider, account, foreign_id) and sent to the provider by a worker; ' +
        'its state is read with GET, or followed on the results queue. When the server has `API_TOKEN` or `API_KEYS_FILE` set every call needs `Authorization: Bearer <token>`. ' +
        'Each operation needs a scope of the key (`security` names it): `orders:write`, `orders:read`, `repairs` or `webhooks`; a key limited to lanes reads only their orders (another lane is 404) and acts only on them (403). ' +
        'After repeated failed authentications from one address, that address gets 429 with Retry-After for up to a minute.',
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/invoices': {
        post: {
          operationId: 'createInvoice',
          summary: 'Submit one order',
          description:
            'Validates the order (every bad field is listed), records it and queues its create request. The same order again is `existing` (no new job); ' +
            'another payload under the same foreign_id is a 409.\n\n' +
            `**Wait for the payment URL**: with \`?wait=N\` or \`Prefer: wait=N\` (RFC 7240) the answer waits up to N seconds (at most ${WAIT_MAX_SECONDS}; more is capped) ` +
            'for the provider: once the record is past `queued` (created, pending, or rejected...) it answers 201 (this call accepted the order) or 200 (existing) with the record; ' +
            `when the time runs out, 202 (or 200) as without a wait. \`Preference-Applied\` says the wait was honoured (not when ${MAX_WAITERS} requests already wait in this process).`,
          parameters: [
            {
              name: 'wait',
              in: 'query',
              required: false,
              description: `seconds to wait for the provider's answer (capped at ${WAIT_MAX_SECONDS}); 0: do not wait`,
              schema: { type: 'integer', minimum: 0, maximum: 999_999_999 },
            },
            { name: 'Prefer', in: 'header', required: false, description: 'RFC 7240; `wait=N` as `?wait=N` (the query wins)', schema: { type: 'string' }, example: 'wait=10' },
            traceparent,
          ],
          requestBody: { required: true, ...json(ref('Order'), { example: EXAMPLE_ORDER }) },
          responses: {
            '201': answer(
              'asked to wait: the order was accepted by this call and the provider has answered (see `invoice.status`, `invoice.payment_url`)',
              ref('CreateAnswer'),
              preferenceApplied,
            ),
            '202': answer('accepted: recorded and queued for the provider (also when a wait ran out)', ref('CreateAnswer'), preferenceApplied),
            '200': answer('existing: the same order was already recorded (with a wait: once past `queued`, or when the wait ran out)', ref('CreateAnswer'), preferenceApplied),
            '400': answer('invalid order (`invalid_order`, every bad field), bad `wait` (`invalid_query`), or malformed JSON; nothing recorded', ref('BadRequest')),
            '409': answer('another order with a different payload already uses this provider, account and foreign_id', ref('Conflict')),
            ...withBody,
          },
        },
      },
      '/v1/invoices/batch': {
        post: {
          operationId: 'createInvoices',
          summary: `Submit 1 to ${MAX_BATCH} orders`,
          description: 'Each order is handled as by POST /v1/invoices (no wait); each outcome comes back in input order.',
          parameters: [traceparent],
          requestBody: { required: true, ...json(ref('BatchRequest')) },
          responses: {
            '200': answer('one result per order: accepted, existing, conflict or invalid (with its issues)', ref('BatchAnswer')),
            '400': answer('not `{orders: [...]}` with 1 to 1000 items (`invalid_batch`), or malformed JSON', ref('BadRequest')),
            ...withBody,
          },
        },
      },
      '/v1/invoices/{provider}/{foreign_id}': {
        get: {
          operationId: 'getInvoice',
          summary: 'Read an invoice',
          description:
            'The record of the provider default account, or of `account`: status, provider ids, payment URL, amounts, reason, last error, reconciliation note and history.',
          parameters: invoicePath,
          responses: {
            '200': answer('the invoice with its history', ref('Invoice')),
            '400': answer('bad `account` (`invalid_query`)', ref('BadRequest')),
            '404': answer('unknown provider or account, or no invoice with this foreign_id', ref('NotFound')),
            ...common,
          },
        },
      },
      '/v1/invoices/{provider}/{foreign_id}/retry': {
        post: {
          operationId: 'retryInvoice',
          summary: 'Retry a submission that has not reached the provider',
          description: 'A parked submission (the provider may already hold it) needs `{"confirm_not_created": true}`, after checking at the provider.',
          parameters: invoicePath,
          requestBody: { required: false, ...json(ref('RetryRequest')) },
          responses: {
            '202': answer('its create job is queued again', ref('RetryAnswer')),
            '400': answer('bad body or `account`', ref('BadRequest')),
            '404': answer('unknown provider or account, or no invoice with this foreign_id', ref('NotFound')),
            '409': answer('past the provider already (`not_retryable`) or parked (`needs_reconciliation`)', ref('RetryRefused')),
            ...withBody,
          },
        },
      },
      '/v1/invoices/{provider}/{foreign_id}/cancel': {
        post: {
          operationId: 'cancelInvoice',
          summary: 'Withdraw an order',
          description:
            'Not yet sent: ends `cancelled` and is never sent. Once the invoice exists, it is cancelled at the provider first (platform invoices, CryptoSteroid) and ends `cancelled` only when the provider confirmed; refused (409, with the provider words) when the provider refuses (already paid) or documents no cancel (payment requests), and while a request for it may be in flight. docs/exceptions.md.',
          parameters: invoicePath,
          requestBody: { required: false, ...json(ref('CancelRequest')) },
          responses: {
            '200': answer('cancelled', ref('RepairAnswer')),
            '400': answer('bad body or `account`', ref('BadRequest')),
            '404': answer('unknown provider or account, or no invoice with this foreign_id', ref('NotFound')),
            '409': answer('not possible in its state (`not_possible`, with why)', ref('RepairRefused')),
            '503': answer('the provider could not be asked to cancel; nothing changed, try again (`Retry-After`)', ref('MessageError')),
            ...withBody,
          },
        },
      },
      '/v1/invoices/{provider}/{foreign_id}/abandon': {
        post: {
          operationId: 'abandonInvoice',
          summary: 'End an open order for good (an operator)',
          description:
            'Ends `cancelled` (default) or `failed` with the reason, whoever asked; an invoice at the provider is cancelled there first where the provider can cancel; a payment on it later is published as an exception.',
          parameters: invoicePath,
          requestBody: { required: true, ...json(ref('AbandonRequest')) },
          responses: {
            '200': answer('abandoned', ref('RepairAnswer')),
            '400': answer('bad body (reason and by are required) or `account`', ref('BadRequest')),
            '404': answer('unknown provider or account, or no invoice with this foreign_id', ref('NotFound')),
            '409': answer('already finished, or the provider refused to cancel it (`not_possible`)', ref('RepairRefused')),
            '503': answer('the provider could not be asked to cancel; nothing changed, try again (`Retry-After`)', ref('MessageError')),
            ...withBody,
          },
        },
      },
      '/v1/invoices/{provider}/{foreign_id}/attach': {
        post: {
          operationId: 'attachInvoice',
          summary: 'Attach the invoice an operator found at the provider',
          description: 'For a parked order, or one whose submission failed for good: becomes `created` with this provider invoice id and payment URL, and is followed from there.',
          parameters: invoicePath,
          requestBody: { required: true, ...json(ref('AttachRequest')) },
          responses: {
            '200': answer('attached: created', ref('RepairAnswer')),
            '400': answer('bad body or `account`', ref('BadRequest')),
            '404': answer('unknown provider or account, or no invoice with this foreign_id', ref('NotFound')),
            '409': answer('not parked or failed, or already past `queued` (`not_possible`)', ref('RepairRefused')),
            ...withBody,
          },
        },
      },
      '/v1/invoices/{provider}/{foreign_id}/reissue': {
        post: {
          operationId: 'reissueInvoice',
          summary: 'Send a parked order again as a new invoice (an operator)',
          description:
            "For providers that refuse a repeated foreign_id (the platform), when the invoice of a parked order cannot be found: a new invoice is created under a provider-side foreign_id derived from the order's (`<foreign_id>~r<n>`, shown as `provider_foreign_id`), and the replaced one is cancelled at the provider where it can be (best effort). Callbacks for either id land on the order; a payment on the replaced invoice is published as a `payment_on_replaced_invoice` exception.",
          parameters: invoicePath,
          requestBody: { required: true, ...json(ref('ReissueRequest')) },
          responses: {
            '200': answer('reissued: queued again under the new provider-side foreign_id', ref('RepairAnswer')),
            '400': answer('bad body or `account`', ref('BadRequest')),
            '404': answer('unknown provider or account, or no invoice with this foreign_id', ref('NotFound')),
            '409': answer('not parked or failed, already past `queued`, or a provider that takes a plain retry (`not_possible`)', ref('RepairRefused')),
            ...withBody,
          },
        },
      },
      '/v1/invoices/{provider}/{foreign_id}/accept': {
        post: {
          operationId: 'acceptPayment',
          summary: 'Take a payment parked as underpaid or unverifiable as paid (an operator)',
          description:
            'For an order parked with an `underpaid` or `unverifiable_amount` exception: the provider called the payment complete but its figures did not cover the order, or could not be compared. Ends `paid`; who and why are in the history. docs/money.md.',
          parameters: invoicePath,
          requestBody: { required: true, ...json(ref('AcceptRequest')) },
          responses: {
            '200': answer('accepted: paid', ref('RepairAnswer')),
            '400': answer('bad body or `account`', ref('BadRequest')),
            '404': answer('unknown provider or account, or no invoice with this foreign_id', ref('NotFound')),
            '409': answer('not a payment parked as underpaid or unverifiable (`not_possible`)', ref('RepairRefused')),
            ...withBody,
          },
        },
      },
      '/v1/invoices/retry': {
        post: {
          operationId: 'retryFailedInvoices',
          summary: 'Retry failed submissions in bulk',
          description: 'Failed submissions filtered by provider, account and reason (case-insensitive substring), up to `limit`; `dry_run` only says what it would retry.',
          requestBody: { required: false, ...json(ref('BulkRetryRequest')) },
          responses: {
            '200': answer('what was (or would be) retried and what was skipped, and why', ref('BulkRetryAnswer')),
            '400': answer('bad body, or a provider or account not configured here', ref('BadRequest')),
            ...withBody,
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: `an API key's token: \`API_TOKEN\` (every scope) or a key of \`API_KEYS_FILE\`; scopes: ${SCOPES.map((x) => `\`${x}\``).join(', ')} (docs/security.md)`,
        },
      },
      schemas: { ...requests, ...responses },
    },
  };
  // Each operation's scope, from the table the API enforces (auth.ts), so the two cannot drift.
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item) as Array<[string, { security?: unknown; responses: Record<string, unknown>; description?: string }]>) {
      const scope = requiredScope(method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x'));
      const scopes = scope === 'all' ? [...SCOPES] : [scope];
      op.security = [{ bearer: scopes }];
      op.responses['403'] = answer(`the API key lacks the scope ${scopes.map((x) => `\`${x}\``).join(', ')}, or may not act on this lane`, ref('Forbidden'));
      op.description = `${op.description ? `${op.description} ` : ''}Needs the scope ${scopes.map((x) => `\`${x}\``).join(', ')}.`;
    }
  }
  return doc;
}

let cached: string | undefined;

/** The document (a fresh copy). */
export function openApiDocument(): OpenApiDocument {
  cached ??= JSON.stringify(build());
  return JSON.parse(cached) as OpenApiDocument;
}

/** The document as served: built once per process. */
export function openApiJson(): string {
  cached ??= JSON.stringify(build());
  return cached;
}

export const OPENAPI_PATH = '/openapi.json';
export const REFERENCE_PATH = '/docs';

/** `GET /openapi.json` and the reference page `GET /docs`: no token needed, nothing but the API's description. */
export function openApiRoutes(): Router {
  const r = Router();
  let page: string | undefined;
  r.get(OPENAPI_PATH, (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('application/json').send(openApiJson());
  });
  r.get(REFERENCE_PATH, (_req, res) => {
    page ??= renderReference(openApiDocument());
    res
      .set('Cache-Control', 'no-cache')
      .set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
      .set('X-Content-Type-Options', 'nosniff')
      .type('html')
      .send(page);
  });
  return r;
}
