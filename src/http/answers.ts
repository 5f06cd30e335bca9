/**
 * The producer API's answers, as zod schemas: the OpenAPI document (openapi.ts) describes them from
 * here, and test/integration/openapi.test.ts checks every real answer against that document, so
 * an answer that changes shape without this file fails the test.
 */
import { z } from 'zod';
import { KINDS } from '../invoice/order.ts';
import type { InvoiceView } from '../invoice/intake.ts';
import { STATUSES } from '../invoice/state.ts';
import type { HistoryEntry } from '../invoice/record.ts';
import { FeeSchema, PayToSchema, TransactionSchema } from '../invoice/result.ts';

export const FieldIssueSchema = z.object({
  field: z.string().describe('dotted path of the bad field, e.g. `customer.sender.first_name`; `(body)` for the body as a whole'),
  message: z.string(),
});

export const HistoryEntrySchema = z.object({
  at: z.iso.datetime(),
  from: z.enum(STATUSES).nullable(),
  to: z.enum(STATUSES),
  source: z.string().describe('where the change came from: api, create, callback, poll, operator...'),
  reason: z.string().optional(),
});

const text = z.string().nullable();

/** `InvoiceView` (src/invoice/intake.ts): the public view of a record, no secrets, no personal data. */
export const InvoiceViewSchema = z.object({
  provider: z.string(),
  account: z.string().describe('the provider account (lane); `default` unless the order named another'),
  kind: z.enum(KINDS),
  foreign_id: z.string(),
  status: z.enum(STATUSES).describe('`queued` until the provider has answered the create request'),
  provider_invoice_id: text,
  provider_status: text,
  payment_url: text.describe('where the payer pays; set once the provider created the invoice'),
  amount: z.string().describe('decimal string, as ordered'),
  currency: z.string(),
  received_amount: text.describe('what the payer actually sent so far, in `received_currency` (the sum of the provider transactions); never the invoice target'),
  received_currency: text.describe('the currency the payer sent (usually a crypto code)'),
  settled_amount: text.describe('what the merchant is credited, only where the provider states it for a finished payment'),
  settled_currency: text,
  transactions: z.array(TransactionSchema).describe('every payment transaction the provider reported, one per txid'),
  fees: z.array(FeeSchema).describe('the fees the provider stated'),
  pay_to: PayToSchema.nullable().describe('where and how much the payer must send, when the provider states it'),
  reason: text,
  last_error: text,
  reconcile: text.describe('set while the order is parked for an operator (the provider may hold it already)'),
  accepted_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  events: z
    .array(
      z.looseObject({
        id: z.string().describe('unique per invoice and kind'),
        kind: z.enum(['exception', 'parked', 'payment']),
        at: z.iso.datetime(),
      }),
    )
    .describe('exceptions (provider news after the end) and parkings, oldest first, each also published as a result; more fields give the details'),
  provider_foreign_id: z.string().optional().describe('only on a reissued order: the foreign_id the provider knows its current invoice under (`<foreign_id>~r<n>`)'),
  replaced_foreign_ids: z.array(z.string()).optional().describe('only on a reissued order: the provider-side foreign_ids of the invoices it replaced, oldest first'),
  history: z.array(HistoryEntrySchema).optional().describe('every transition, oldest first (only on GET)'),
});

/** `{outcome, invoice}`: POST /v1/invoices. */
export const CreateAnswerSchema = z.object({
  outcome: z.enum(['accepted', 'existing']).describe('`accepted`: this call recorded the order; `existing`: the same order was already recorded'),
  invoice: InvoiceViewSchema,
});

export const IssuesErrorSchema = z.object({ error: z.enum(['invalid_order', 'invalid_batch', 'invalid_body', 'invalid_query']), issues: z.array(FieldIssueSchema) });

/** A refusal with a message only: malformed JSON, too large, wrong media type, unauthorized... */
export const MessageErrorSchema = z.object({ error: z.string(), message: z.string() });

export const BadRequestSchema = z.union([IssuesErrorSchema, MessageErrorSchema]);

/** 403: the API key lacks the route's scope, or may not act on the lane. */
export const ForbiddenSchema = z.object({
  error: z.literal('forbidden'),
  message: z.string(),
  scope: z.string().optional().describe('the scope the key lacks (`all`: the route needs a key with every scope)'),
  lane: z.string().optional().describe('the lane the key may not act on'),
});

export const NotFoundSchema = z.object({ error: z.literal('not_found'), message: z.string(), provider: z.string().optional() });

export const ConflictSchema = z.object({ error: z.literal('conflict'), message: z.string(), foreign_id: z.string() });

export const BatchAnswerSchema = z.object({
  counts: z.object({
    accepted: z.int().min(0),
    existing: z.int().min(0),
    conflict: z.int().min(0),
    invalid: z.int().min(0),
    forbidden: z.int().min(1).optional().describe('only when some order was for a lane the API key may not use'),
  }),
  results: z
    .array(
      z.discriminatedUnion('outcome', [
        z.object({ index: z.int().min(0), outcome: z.enum(['accepted', 'existing']), invoice: InvoiceViewSchema }),
        z.object({ index: z.int().min(0), outcome: z.literal('conflict'), foreign_id: z.string(), message: z.string() }),
        z.object({ index: z.int().min(0), outcome: z.literal('invalid'), issues: z.array(FieldIssueSchema) }),
        z.object({
          index: z.int().min(0),
          outcome: z.literal('forbidden').describe("the API key may not use this order's lane; nothing was recorded for it"),
          lane: z.string(),
          message: z.string(),
        }),
      ]),
    )
    .describe('one per order, in input order'),
});

export const RetryAnswerSchema = z.object({ outcome: z.literal('retrying'), previous_job_state: z.string().describe('state of the create job before the retry') });

export const RetryRefusedSchema = z.union([
  z.object({ error: z.literal('not_retryable'), message: z.string(), status: z.string() }),
  z.object({ error: z.literal('needs_reconciliation'), message: z.string(), reconcile: z.string() }),
]);

const Ref = z.object({ provider: z.string(), account: z.string(), foreign_id: z.string() });

export const BulkRetryAnswerSchema = z.object({
  dry_run: z.boolean(),
  matched: z.int().min(0),
  retried: z.array(Ref),
  skipped: z.array(Ref.extend({ why: z.string() })),
});

export const RepairAnswerSchema = z.object({ outcome: z.literal('done'), invoice: InvoiceViewSchema });

export const RepairRefusedSchema = z.object({ error: z.literal('not_possible'), message: z.string().describe('why, and what is possible instead'), status: z.string() });

// Compile-time drift guard: the schema names exactly the fields of the TypeScript views.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const viewKeys: SameKeys<z.infer<typeof InvoiceViewSchema>, InvoiceView> = true;
const historyKeys: SameKeys<z.infer<typeof HistoryEntrySchema>, HistoryEntry> = true;
void viewKeys;
void historyKeys;

/** `GET /v1/invoices`: a page of invoices in listing order (docs/api.md "Listing and export"). */
export const ListAnswerSchema = z.object({
  items: z.array(InvoiceViewSchema).describe('up to `limit` invoices, without their history'),
  next_cursor: z.string().nullable().describe('pass as `cursor` for the next page; null: the end was reached when this page was read'),
});

/** 503: something this service depends on did not answer; nothing changed, try again after `Retry-After`. */
export const UnavailableSchema = z.object({ error: z.string(), message: z.string() });

/** A result webhook endpoint as answers show it: never its secrets, only a prefix of each (src/results/endpoints.ts `endpointView`). */
export const EndpointViewSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().optional(),
  status: z.enum(['enabled', 'disabled']),
  disabled_reason: z.string().optional(),
  disabled_at: z.string().optional(),
  created_at: z.string(),
  secrets: z.array(
    z.object({
      prefix: z.string().describe('the first characters, to tell secrets apart'),
      until: z.iso.datetime().optional().describe('a rotated-out secret is still signed with until then'),
    }),
  ),
  lanes: z.array(z.string()).optional().describe("registered by a lane-limited key: only these lanes' results"),
});
export const EndpointCreatedSchema = z.object({ endpoint: EndpointViewSchema, secret: z.string().describe('the signing secret, shown only in this answer') });
export const EndpointListSchema = z.object({ endpoints: z.array(EndpointViewSchema) });
export const EndpointAnswerSchema = z.object({ endpoint: EndpointViewSchema });
export const EndpointToggledSchema = z.object({ endpoint: EndpointViewSchema, promoted: z.int().min(0).describe('held deliveries sent on at once (enable)') });
export const EndpointRemovedSchema = z.object({ removed: z.literal(true) });
export const DeliveryAttemptSchema = z.object({
  at: z.iso.datetime(),
  attempt: z.int().min(1),
  outcome: z.union([z.int(), z.string()]).describe('the HTTP status, or the transport error (e.g. `DEADLINE`, `ECONNREFUSED`)'),
  ms: z.int().min(0),
  retry_after_ms: z.int().min(0).optional(),
  redelivery: z.string().optional().describe('who asked for this redelivery'),
});
export const DeliveriesAnswerSchema = z.union([
  z.object({ event_id: z.string(), attempts: z.array(DeliveryAttemptSchema).describe('newest first') }).describe('with `event_id`: every attempt of that result'),
  z
    .object({
      items: z.array(z.object({ event_id: z.string(), status: z.enum(['delivered', 'failed']), last_attempt: DeliveryAttemptSchema })),
      next_cursor: z.string().nullable(),
    })
    .describe('without `event_id`: a page of the deliveries, newest attempt first'),
]);
export const RedeliverAnswerSchema = z.object({ redelivering: z.int().min(0) });
