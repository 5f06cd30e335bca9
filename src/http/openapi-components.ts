/**
 * The OpenAPI document's components: the JSON Schemas of the requests (the order,
 * src/invoice/order.ts; batch and retry bodies, invoices.ts; repairs, src/invoice/repair.ts...) as
 * they are sent (`io: 'input'`: defaults optional, before transforms) and of the answers
 * (answers.ts) as they are written, generated from the zod schemas that validate and describe
 * them; the connectors' required fields as variants of the order; and the results, as OpenAPI 3.1
 * `webhooks` with an example each.
 */
import { InvoiceViewSchema } from '../invoice/intake.ts';
import { OrderObject, OrderSchema } from '../invoice/order.ts';
import { AbandonSchema, AcceptSchema, AttachSchema, CancelSchema, ReissueSchema } from '../invoice/repair.ts';
import { ResultSchema, type InvoiceResult } from '../invoice/result.ts';
import { PROVIDER_IDS } from '../providers/registry.ts';
import * as answers from './answers.ts';
import { BatchSchema, BulkRetrySchema, MAX_BATCH, RetryBody } from './invoices.ts';
import { componentSchemas, ref, type JsonSchema } from './openapi-kit.ts';
import { PaymentMethodBody } from './payment-method.ts';
import { EndpointCreateBody, RedeliverSchema } from './webhook-endpoints.ts';

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

/** Every component schema: the requests, then the answers (and the result payload). */
export function components(): Record<string, JsonSchema> {
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
      Invoice: InvoiceViewSchema,
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
  return { ...requests, ...responses };
}

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
export function resultWebhooks(): Record<string, unknown> {
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
