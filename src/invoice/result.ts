/**
 * What the order system is told: one result per change of state (or event), v1. Built where the
 * change is decided (the store's outbox entry) and checked against this schema there; published
 * by the relay to `invoice-results` (queues/results.ts) and to result webhooks.
 */
import { z } from 'zod';
import { KINDS, ProviderName } from './order.ts';
import { STATUSES } from './state.ts';

/** One payment transaction (src/providers/types.ts `Transaction`), deduplicated by txid. */
export const TransactionSchema = z.object({
  txid: z.string().describe('the transaction hash on its chain'),
  amount: z.string().optional().describe('what it carried, in `currency`; absent where the provider gives one total for several transactions'),
  currency: z.string().describe('the currency the payer sent'),
  confirmations: z.int().min(0).optional(),
  network: z.string().optional(),
});
export const FeeSchema = z.object({ type: z.string(), amount: z.string(), currency: z.string() });
/** Where and how much the payer must send, when the provider states it. */
export const PayToSchema = z.object({ currency: z.string(), network: z.string().optional(), address: z.string(), amount: z.string() });
export type Transaction = z.infer<typeof TransactionSchema>;
export type Fee = z.infer<typeof FeeSchema>;
export type PayTo = z.infer<typeof PayToSchema>;

/**
 * The result contract, v1. Consumers should parse with this. Job `name` is `status`; the job id is
 * `result.<lane>.<encoded foreign_id>.<status>` for a transition and
 * `result.<lane>.<encoded foreign_id>.<exception|parked|payment>.<id>` for an event, so each is stored once.
 */
export const ResultSchema = z.object({
  v: z.literal(1),
  event_id: z.string(),
  provider: ProviderName,
  /** The provider account (lane); `default` unless the order named another. Added in v1, so consumers may not rely on it for older results. */
  account: z.string().optional(),
  kind: z.enum(KINDS),
  foreign_id: z.string(),
  status: z.enum(STATUSES),
  previous_status: z.enum(STATUSES),
  provider_invoice_id: z.string().nullable(),
  payment_url: z.string().nullable(),
  amount: z.string(),
  currency: z.string(),
  /**
   * What the payer actually sent so far, in `received_currency` (the currency sent, usually a
   * crypto): the sum of the provider's transactions. Never the invoice's target.
   */
  received_amount: z.string().optional(),
  received_currency: z.string().optional(),
  /** What the merchant is credited, only where the provider states it for a finished payment. */
  settled_amount: z.string().optional(),
  settled_currency: z.string().optional(),
  transactions: z.array(TransactionSchema).optional(),
  fees: z.array(FeeSchema).optional(),
  pay_to: PayToSchema.optional(),
  reason: z.string().optional(),
  occurred_at: z.iso.datetime(),
  /**
   * What this result is (added in v1; absent on results published before it means `transition`):
   * `transition`: the status moved from `previous_status` to `status`;
   * `exception`: a provider message about money or status for an invoice already finished
   * (`exception` says what; status does not move);
   * `parked`: the order waits for an operator (`parked` says why and what happens next);
   * `payment`: more money arrived while the status stays (a second installment; `payment` has the
   * amount, which `received_amount` also carries).
   */
  event: z.enum(['transition', 'exception', 'parked', 'payment']).optional(),
  exception: z
    .object({
      /**
       * payment_after_end | paid_after_end | status_after_end | status_after_inferred_end |
       * payment_on_replaced_invoice | underpaid | overpaid | unverifiable_amount | amount_mismatch
       */
      type: z.string(),
      provider_status: z.string(),
      received_amount: z.string().optional(),
      received_currency: z.string().optional(),
      reason: z.string().optional(),
      /** payment_on_replaced_invoice: the provider-side foreign_id (and invoice id) of the replaced invoice. */
      replaced_foreign_id: z.string().optional(),
      replaced_invoice_id: z.string().optional(),
      /** underpaid, overpaid, unverifiable_amount, amount_mismatch: the provider's figure beside the order's. */
      provider_amount: z.string().optional(),
      provider_currency: z.string().optional(),
      order_amount: z.string().optional(),
      order_currency: z.string().optional(),
      /** overpaid: how much more than due arrived. */
      excess_amount: z.string().optional(),
      excess_currency: z.string().optional(),
    })
    .optional(),
  parked: z.object({ reason: z.string(), next: z.string() }).optional(),
  payment: z.object({ provider_status: z.string(), received_amount: z.string(), received_currency: z.string().optional(), reason: z.string().optional() }).optional(),
});
export type InvoiceResult = z.infer<typeof ResultSchema>;
