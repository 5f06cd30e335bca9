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
import { AccountName } from '../lanes/key.ts';
import * as answers from './answers.ts';
import { BatchSchema, BulkRetrySchema, MAX_BATCH, MAX_WAITERS, RetryBody, WAIT_MAX_SECONDS } from './invoices.ts';
import { renderReference } from './reference.ts';
import { SCOPES } from '../access/api-keys.ts';
import { requiredScope } from './auth.ts';
import { AbandonSchema, AcceptSchema, AttachSchema, CancelSchema, ReissueSchema } from '../invoice/repair.ts';
import { ResultSchema, type InvoiceResult } from '../invoice/result.ts';
import { PROVIDER_IDS } from '../providers/registry.ts';
import { CSV_COLUMNS, ExportQuery, LIST_DEFAULT, LIST_MAX, ListQuery } from './listing.ts';
import { PaymentMethodBody } from './payment-method.ts';
import { DeliveriesQuery, EndpointCreateBody, RedeliverSchema } from './webhook-endpoints.ts';

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
      PaymentMethodRequest: PaymentMethodBody,
      EndpointCreateRequest: EndpointCreateBody,
      RedeliverRequest: RedeliverSchema,
    },
    'input',
  );
  // The provider is one of the registry's connectors; each connector's own required fields
  // (its `validate`, which the API runs) are stated as one variant per provider and kind.
  const orderProps = (requests.Order as { properties: Record<string, JsonSchema> }).properties;
  orderProps.provider = { ...orderProps.provider, enum: [...PROVIDER_IDS] };
  delete orderProps.provider.pattern;
  (requests.Order as JsonSchema).oneOf = connectorVariants();
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
      ListAnswer: answers.ListAnswerSchema,
      Unavailable: answers.UnavailableSchema,
      // The result payload (queue and webhooks), so clients generated from this document can type what they receive.
      Result: ResultSchema,
      Endpoint: answers.EndpointViewSchema,
      EndpointCreated: answers.EndpointCreatedSchema,
      EndpointList: answers.EndpointListSchema,
      EndpointAnswer: answers.EndpointAnswerSchema,
      EndpointToggled: answers.EndpointToggledSchema,
      EndpointRemoved: answers.EndpointRemovedSchema,
      DeliveryAttempt: answers.DeliveryAttemptSchema,
      DeliveriesAnswer: answers.DeliveriesAnswerSchema,
      RedeliverAnswer: answers.RedeliverAnswerSchema,
    },
    'output',
  );
  // The result's provider, like the order's, is a connector of the registry.
  const resultProps = (responses.Result as { properties: Record<string, JsonSchema> }).properties;
  resultProps.provider = { type: 'string', enum: [...PROVIDER_IDS] };

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
  const retryAfter = { 'Retry-After': { description: 'seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } } };
  const listParams = (schema: z.ZodObject) =>
    Object.entries(inline(schema).properties as Record<string, JsonSchema>).map(([name, sch]) => {
      const { description, ...rest } = sch;
      // `limit` arrives as text and is read as a whole number: documented as the number it is.
      const schema = name === 'limit' ? { type: 'integer', minimum: 1, maximum: LIST_MAX, default: LIST_DEFAULT } : rest;
      return { name, in: 'query', required: false, ...(description ? { description } : {}), schema };
    });
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
        'After repeated failed authentications from one address, that address gets 429 with Retry-After for up to a minute. ' +
        'Results (one per change of an invoice) reach the order system on the results queue and, signed, on registered webhook endpoints: `webhooks` below describes each event.',
      license: { name: 'MIT', identifier: 'MIT' },
      contact: { name: 'invoice-worker maintainers', url: 'https://github.com/invoice-worker/invoice-worker/issues' },
    },
    servers: [{ url: '/', description: 'this service, where the document is served' }],
    tags: [
      ...TAGS.map(({ name, description }) => ({ name, description })),
      { name: 'Results', description: 'the results the order system receives, one per change of an invoice' },
    ],
    security: [{ bearer: [] }],
    paths: {
      '/v1/invoices': {
        get: {
          operationId: 'listInvoices',
          summary: 'List invoices, a page at a time',
          description:
            'Invoices of the lanes the API key may use, filtered, in the order of their last change (with `status`: of the time they entered it), oldest first, then by id. ' +
            'Follow `next_cursor` until it is null. With `status`, every invoice that is in that status from the first page to the last is met exactly once, also while others enter it (they come later) or are changed; ' +
            'without `status`, an invoice changed while the pages are read appears again later, as it is then (keep the last copy per provider, account and foreign_id). docs/api.md.',
          parameters: listParams(ListQuery),
          responses: {
            '200': answer('a page', ref('ListAnswer')),
            '400': answer('a bad query parameter (`invalid_query`, naming it)', ref('BadRequest')),
            ...common,
          },
        },
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
      '/v1/invoices/export': {
        get: {
          operationId: 'exportInvoices',
          summary: 'Export invoices as CSV or NDJSON',
          description:
            'Every invoice matching the filters (as `GET /v1/invoices`, in the same order), streamed: CSV with a header row (' +
            CSV_COLUMNS.map((c) => `\`${c}\``).join(', ') +
            '; txids joined by spaces, fees as `type amount currency` joined by `; `) or NDJSON (one invoice view per line). Money is the decimal strings the records hold.',
          parameters: listParams(ExportQuery),
          responses: {
            '200': {
              description: 'the invoices, streamed',
              content: { 'text/csv': { schema: { type: 'string' } }, 'application/x-ndjson': { schema: { type: 'string' } } },
            },
            '400': answer('a bad query parameter (`invalid_query`, naming it)', ref('BadRequest')),
            ...common,
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
            '503': answer('the provider could not be asked to cancel; nothing changed, try again after `Retry-After`', ref('MessageError'), retryAfter),
            ...withBody,
          },
        },
      },
      '/v1/invoices/{provider}/{foreign_id}/payment-method': {
        post: {
          operationId: 'choosePaymentMethod',
          summary: 'Choose how the payer pays (for your own payment page)',
          description:
            "Where the connector supports choosing the method after creation (CryptoSteroid, while the invoice waits for payment): the provider answers the address and amount to pay, returned as the invoice's `pay_to` (and in later results). A connector without it answers 409 saying why; `payment_currency` on the order preselects at creation everywhere.",
          parameters: invoicePath,
          requestBody: { required: true, ...json(ref('PaymentMethodRequest'), { example: { payment_method: 'BTC' } }) },
          responses: {
            '200': answer('chosen: the invoice with its `pay_to`', ref('RepairAnswer')),
            '400': answer('bad body (naming `payment_method`) or `account`', ref('BadRequest')),
            '404': answer('unknown provider or account, or no invoice with this foreign_id', ref('NotFound')),
            '409': answer(
              'not possible: the connector offers no choice, the invoice is past waiting for payment, or the provider refused (`not_possible`, with why)',
              ref('RepairRefused'),
            ),
            '503': answer('the provider did not answer; nothing is known to have changed, try again', ref('Unavailable'), retryAfter),
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
            '503': answer('the provider could not be asked to cancel; nothing changed, try again after `Retry-After`', ref('MessageError'), retryAfter),
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
      ...endpointPaths(),
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
    webhooks: resultWebhooks(),
  };
  // Each operation's scope, from the table the API enforces (auth.ts), so the two cannot drift.
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item) as Array<[string, { security?: unknown; responses: Record<string, unknown>; description?: string }]>) {
      const scope = requiredScope(method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x'));
      const scopes = scope === 'all' ? [...SCOPES] : [scope];
      // Bearer tokens carry no OAuth scopes, so the scope is stated beside the requirement
      // (`x-required-scopes`, and in words) rather than inside it.
      op.security = [{ bearer: [] }];
      (op as Record<string, unknown>)['x-required-scopes'] = scopes;
      (op as Record<string, unknown>).tags = [TAGS.find((t) => t.match(path))?.name ?? 'Orders'];
      op.responses['403'] = answer(`the API key lacks the scope ${scopes.map((x) => `\`${x}\``).join(', ')}, or may not act on this lane`, ref('Forbidden'));
      op.description = `${op.description ? `${op.description} ` : ''}Needs the scope ${scopes.map((x) => `\`${x}\``).join(', ')}.`;
    }
  }
  return doc;
}

/** The document's tags: which operations each holds. */
const TAGS: Array<{ name: string; description: string; match: (path: string) => boolean }> = [
  {
    name: 'Webhook endpoints',
    description: 'signed result webhooks: register, rotate, enable, disable, deliveries, redeliver',
    match: (p) => p.startsWith('/v1/webhook-endpoints'),
  },
  { name: 'Listing', description: 'listing and export for reconciliation', match: (p) => p === '/v1/invoices/export' },
  {
    name: 'Repairs',
    description: 'operator repairs: retry, abandon, attach, reissue, accept',
    match: (p) => /\/(retry|abandon|attach|reissue|accept)$/.test(p),
  },
  { name: 'Orders', description: 'orders in, invoices out: create, read, list, cancel, choose the payment method', match: () => true },
];

/**
 * Each connector's required fields, as its `validate` (src/providers) checks them: one variant
 * per provider and kind. test/unit/openapi-connectors.test.ts drops each required field from a
 * valid order and expects the connector to name it, so the two cannot drift apart.
 */
export const CONNECTOR_RULES: Array<{ provider: string; kind: 'invoice' | 'payment_request'; required: string[] }> = [
  { provider: 'cryptoprocessing', kind: 'invoice', required: ['title', 'urls.success', 'urls.failure', 'customer.email'] },
  { provider: 'cryptoprocessing', kind: 'payment_request', required: [] },
  { provider: 'alphapo', kind: 'invoice', required: ['title', 'urls.success', 'urls.failure', 'customer.email', 'customer.reference'] },
  { provider: 'alphapo', kind: 'payment_request', required: [] },
  { provider: 'cryptosteroid', kind: 'invoice', required: ['description'] },
];

/** `CONNECTOR_RULES` as JSON Schema variants of the order (`oneOf`: provider and kind pick exactly one). */
function connectorVariants(): JsonSchema[] {
  return CONNECTOR_RULES.map((rule) => {
    const top = new Set<string>(['provider']);
    const nested: Record<string, string[]> = {};
    for (const f of rule.required) {
      const [head, tail] = f.split('.', 2) as [string, string | undefined];
      top.add(head);
      if (tail) (nested[head] ??= []).push(tail);
    }
    // An invoice may leave `kind` out (it defaults to `invoice`); a payment request names it.
    if (rule.kind === 'payment_request') top.add('kind');
    // The nested objects' type is the base schema's: stated once, so the variant only adds what is required.
    const properties: Record<string, JsonSchema> = {
      provider: { const: rule.provider },
      kind: { const: rule.kind },
      ...Object.fromEntries(
        Object.entries(nested).map(([k, req]) => [k, { properties: Object.fromEntries(req.map((f) => [f, { type: 'string', minLength: 1 }])), required: req }]),
      ),
    };
    const variant: JsonSchema = { title: `${rule.provider} ${rule.kind}`, properties, required: [...top] };
    // A payment request lasts exactly one of these two.
    if (rule.kind === 'payment_request') variant.oneOf = [{ required: ['expires_in_seconds'] }, { required: ['expires_at'] }];
    return variant;
  });
}

/** The result webhook endpoints' operations (src/http/webhook-endpoints.ts). */
function endpointPaths(): Record<string, Record<string, unknown>> {
  const id = [{ name: 'id', in: 'path', required: true, description: 'the endpoint id', schema: { type: 'string', minLength: 1 } }];
  const common = { '401': answer('missing or wrong bearer token', ref('MessageError')) };
  const withBody = {
    ...common,
    '413': answer('the body is larger than 5 MB', ref('MessageError')),
    '415': answer('the body is not declared `application/json`, or not UTF-8', ref('MessageError')),
  };
  const notFound = { '404': answer('no such endpoint (or one of lanes the API key may not use)', ref('NotFound')) };
  const toggle = (action: 'enable' | 'disable') => ({
    post: {
      operationId: `${action}WebhookEndpoint`,
      summary: action === 'enable' ? 'Enable an endpoint: its held deliveries go at once' : 'Disable an endpoint: its deliveries are held',
      parameters: id,
      responses: { '200': answer(`${action}d`, ref('EndpointToggled')), ...notFound, ...common },
    },
  });
  const deliveryParams = Object.entries(inline(DeliveriesQuery).properties as Record<string, JsonSchema>).map(([name, sch]) => {
    const { description, ...rest } = sch;
    const schema = name === 'limit' ? { type: 'integer', minimum: 1, maximum: LIST_MAX, default: LIST_DEFAULT } : rest;
    return { name, in: 'query', required: false, ...(description ? { description } : {}), schema };
  });
  return {
    '/v1/webhook-endpoints': {
      post: {
        operationId: 'createWebhookEndpoint',
        summary: 'Register a result webhook endpoint',
        description:
          'Every result (of the lanes of a lane-limited key) is then delivered to it, signed (Standard Webhooks). The secret is shown in this answer only. docs/webhooks.md.',
        requestBody: { required: true, ...json(ref('EndpointCreateRequest'), { example: { url: 'https://shop.example.com/hooks/invoices', description: 'shop' } }) },
        responses: {
          '201': answer('registered, with its secret', ref('EndpointCreated')),
          '400': answer('bad body (`invalid_body`, naming the field)', ref('BadRequest')),
          ...withBody,
        },
      },
      get: {
        operationId: 'listWebhookEndpoints',
        summary: 'The endpoints (without secrets)',
        responses: { '200': answer('the endpoints the API key may see', ref('EndpointList')), ...common },
      },
    },
    '/v1/webhook-endpoints/{id}': {
      get: {
        operationId: 'getWebhookEndpoint',
        summary: 'One endpoint: its status, and why and when it was disabled',
        parameters: id,
        responses: { '200': answer('the endpoint', ref('EndpointAnswer')), ...notFound, ...common },
      },
      delete: {
        operationId: 'deleteWebhookEndpoint',
        summary: 'Remove an endpoint; its queued deliveries are dropped',
        parameters: id,
        responses: { '200': answer('removed', ref('EndpointRemoved')), ...notFound, ...common },
      },
    },
    '/v1/webhook-endpoints/{id}/rotate': {
      post: {
        operationId: 'rotateWebhookEndpointSecret',
        summary: 'A new secret (shown once); the old one is still signed with for a day',
        parameters: id,
        responses: { '201': answer('rotated, with the new secret', ref('EndpointCreated')), ...notFound, ...common },
      },
    },
    '/v1/webhook-endpoints/{id}/enable': toggle('enable'),
    '/v1/webhook-endpoints/{id}/disable': toggle('disable'),
    '/v1/webhook-endpoints/{id}/deliveries': {
      get: {
        operationId: 'listWebhookDeliveries',
        summary: "The endpoint's deliveries, or every attempt of one result",
        description:
          'Without `event_id`: a page of the deliveries, newest attempt first, each with its latest attempt (`status` filters on it); follow `next_cursor`. With `event_id`: every attempt of that result. Kept 8 days.',
        parameters: [...id, ...deliveryParams],
        responses: {
          '200': answer('the deliveries, or the attempts', ref('DeliveriesAnswer')),
          '400': answer('a bad query parameter (`invalid_query`, naming it)', ref('BadRequest')),
          ...notFound,
          ...common,
        },
      },
    },
    '/v1/webhook-endpoints/{id}/redeliver': {
      post: {
        operationId: 'redeliverWebhooks',
        summary: 'Deliver results again: one (`event_id`) or those of a time range (`from`, `to`)',
        parameters: id,
        requestBody: { required: true, ...json(ref('RedeliverRequest'), { example: { event_id: 'result.alphapo.order-1001.paid' } }) },
        responses: {
          '202': answer('queued for delivery again', ref('RedeliverAnswer')),
          '400': answer('bad body: give `event_id`, or `from` and `to`', ref('BadRequest')),
          '404': answer('no such endpoint, or no such result is kept (results are kept a week)', ref('NotFound')),
          ...withBody,
        },
      },
    },
  };
}

/** One example result per event, checked against ResultSchema when the document is built. */
function resultExample(event: NonNullable<InvoiceResult['event']>): InvoiceResult {
  const base = {
    v: 1 as const,
    provider: 'cryptosteroid',
    account: 'default',
    kind: 'invoice' as const,
    foreign_id: 'order-1001',
    provider_invoice_id: 'cs-7f3a9c',
    payment_url: 'https://pay.cryptosteroid.example/i/cs-7f3a9c',
    amount: '25.50',
    currency: 'EUR',
    occurred_at: '2026-01-05T10:15:30.000Z',
    event,
  };
  const paid = {
    received_amount: '0.00027',
    received_currency: 'BTC',
    transactions: [{ txid: '4f1c0e8a9b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e', amount: '0.00027', currency: 'BTC', confirmations: 2 }],
  };
  const payTo = { pay_to: { currency: 'BTC', address: 'bc1qexampleaddress0000000000000000000000', amount: '0.00027' } };
  const examples: Record<typeof event, InvoiceResult> = {
    transition: {
      ...base,
      ...paid,
      ...payTo,
      event_id: 'result.cryptosteroid.order-1001.paid',
      status: 'paid',
      previous_status: 'pending',
      settled_amount: '0.000265',
      settled_currency: 'BTC',
      fees: [{ type: 'commission', amount: '0.000005', currency: 'BTC' }],
    },
    exception: {
      ...base,
      ...paid,
      event_id: 'result.cryptosteroid.order-1001.exception.payment_after_end-1',
      status: 'expired',
      previous_status: 'expired',
      exception: { type: 'payment_after_end', provider_status: 'PAID', received_amount: '0.00027', received_currency: 'BTC' },
    },
    parked: {
      ...base,
      event_id: 'result.cryptosteroid.order-1001.parked.outcome_unknown-1',
      status: 'queued',
      previous_status: 'queued',
      provider_invoice_id: null,
      payment_url: null,
      parked: { reason: 'the create request may have reached the provider; its outcome is unknown', next: 'an operator checks at the provider, then attaches or retries' },
    },
    payment: {
      ...base,
      ...payTo,
      received_amount: '0.0001',
      received_currency: 'BTC',
      event_id: 'result.cryptosteroid.order-1001.payment.0.0001',
      status: 'pending',
      previous_status: 'pending',
      payment: { provider_status: 'WAITING', received_amount: '0.0001', received_currency: 'BTC', reason: 'partially paid' },
    },
  };
  return ResultSchema.parse(examples[event]);
}

/** The results as OpenAPI 3.1 `webhooks`: one per event, each with an example. */
function resultWebhooks(): Record<string, unknown> {
  const about: Record<NonNullable<InvoiceResult['event']>, string> = {
    transition: 'the status moved from `previous_status` to `status`',
    exception: 'provider news about money or status for an invoice already finished (`exception` says what); the status does not move',
    parked: 'the order waits for an operator (`parked` says why and what happens next)',
    payment: 'more money arrived while the status stays (`payment` has the amount; `received_amount` the total)',
  };
  const out: Record<string, unknown> = {};
  for (const event of ['transition', 'exception', 'parked', 'payment'] as const) {
    out[event] = {
      post: {
        operationId: `result${event[0]!.toUpperCase()}${event.slice(1)}`,
        summary: `Result: ${event}`,
        description: `${about[event]}. Sent to each registered webhook endpoint (Standard Webhooks: \`webhook-id\` is the result's \`event_id\`, signed with the endpoint's secret), and published on the results queue. docs/webhooks.md.`,
        tags: ['Results'],
        security: [],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Result' }, example: resultExample(event) } } },
        responses: {
          '200': { description: 'received (any 2xx); anything else is retried, 410 disables the endpoint' },
        },
      },
    };
  }
  return out;
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
