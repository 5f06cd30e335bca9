/**
 * The OpenAPI document's paths: every operation of the producer API (orders, listing and export,
 * the payment method and repairs: invoices.ts, listing.ts, payment-method.ts, repairs.ts) and of
 * the result webhook endpoints (webhook-endpoints.ts), with their parameters, bodies and answers
 * by status. The scope each needs, its tag and its 403 are added where the document is put
 * together (openapi.ts), from the table the API enforces.
 */
import { OrderObject, ProviderName } from '../invoice/order.ts';
import { AccountName } from '../lanes/key.ts';
import { MAX_BATCH, MAX_WAITERS, WAIT_MAX_SECONDS } from './invoices.ts';
import { CSV_COLUMNS, ExportQuery, ListQuery } from './listing.ts';
import { answer, inline, json, queryParams, ref } from './openapi-kit.ts';
import { DeliveriesQuery } from './webhook-endpoints.ts';

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

/** The operations by path: the orders' first, then the webhook endpoints'. */
export function paths(): Record<string, Record<string, unknown>> {
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
  const preferenceApplied = {
    'Preference-Applied': { description: '`wait=N` when the wait was honoured (N: the seconds it allowed)', schema: { type: 'string' } },
  };
  return {
    '/v1/invoices': {
      get: {
        operationId: 'listInvoices',
        summary: 'List invoices, a page at a time',
        description:
          'Invoices of the lanes the API key may use, filtered, in the order of their last change (with `status`: of the time they entered it), oldest first, then by id. ' +
          'Follow `next_cursor` until it is null. With `status`, every invoice that is in that status from the first page to the last is met exactly once, also while others enter it (they come later) or are changed; ' +
          'without `status`, an invoice changed while the pages are read appears again later, as it is then (keep the last copy per provider, account and foreign_id). docs/api.md.',
        parameters: queryParams(ListQuery),
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
        parameters: queryParams(ExportQuery),
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
  };
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
        parameters: [...id, ...queryParams(DeliveriesQuery)],
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
