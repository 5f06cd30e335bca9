/**
 * Intake: validate an order, record it once per (provider, foreign_id) and enqueue its create
 * job. Shared by the HTTP API, the batch endpoint, the direct producer and the CLI, so every way
 * in has the same validation and idempotency. How an order is queued is handed in (`enqueue`,
 * queues/create.ts in the system): the invoice domain does not know the queue modules.
 */
import { z } from 'zod';
import type { FieldIssue } from '../errors.ts';
import { zodIssues } from '../errors.ts';
import { newOrderSecret } from '../signing.ts';
import { DEFAULT_ACCOUNT, laneKey } from '../lanes/key.ts';
import { KINDS, OrderSchema, forbiddenKeys, orderHash, type Order, type OrderRef } from './order.ts';
import { FeeSchema, PayToSchema, TransactionSchema } from './result.ts';
import { STATUSES } from './state.ts';
import { HistoryEntrySchema, type HistoryEntry, type InvoiceRecord } from './record.ts';
import type { InvoiceStore } from './store.ts';
import type { ProviderAdapter } from '../providers/types.ts';
import { activeTraceparent } from '../observability/tracing.ts';

/** What intake needs of a lane: its adapter's rules. */
export interface IntakeLane {
  adapter: Pick<ProviderAdapter, 'validate' | 'kinds'>;
}

/** Gives orders of one lane their create jobs (idempotent: an order that has its job keeps it). */
export type EnqueueOrders = (lane: string, orders: OrderRef[]) => Promise<void>;

const text = z.string().nullable();

/**
 * The public view of an invoice record (no secrets, no personal data): what intake returns, the
 * API answers and the CLI shows. The OpenAPI document states it from this schema (its `Invoice`
 * component), and the type is inferred from it, so the two are one.
 */
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
export type InvoiceView = z.infer<typeof InvoiceViewSchema>;

export type IntakeResult =
  { outcome: 'accepted' | 'existing'; invoice: InvoiceView } | { outcome: 'conflict'; foreign_id: string; message: string } | { outcome: 'invalid'; issues: FieldIssue[] };

export function toView(r: InvoiceRecord, history?: HistoryEntry[]): InvoiceView {
  const view: InvoiceView = {
    provider: r.provider,
    account: r.account,
    kind: r.kind,
    foreign_id: r.foreign_id,
    status: r.status,
    provider_invoice_id: r.provider_invoice_id,
    provider_status: r.provider_status,
    payment_url: r.payment_url,
    amount: r.amount,
    currency: r.currency,
    received_amount: r.received_amount,
    received_currency: r.received_currency,
    settled_amount: r.settled_amount,
    settled_currency: r.settled_currency,
    transactions: r.transactions,
    fees: r.fees,
    pay_to: r.pay_to,
    reason: r.reason,
    last_error: r.last_error,
    reconcile: r.reconcile,
    accepted_at: r.accepted_at,
    updated_at: r.updated_at,
    events: r.events,
  };
  if (r.provider_foreign_id) view.provider_foreign_id = r.provider_foreign_id;
  if (r.replaced_foreign_ids.length) view.replaced_foreign_ids = r.replaced_foreign_ids;
  if (history) view.history = history;
  return view;
}

export class Intake {
  constructor(
    private readonly store: InvoiceStore,
    /** Every lane by key (`provider` or `provider@account`). */
    private readonly lanes: ReadonlyMap<string, IntakeLane>,
    private readonly enqueue: EnqueueOrders,
  ) {}

  private providers(): Set<string> {
    return new Set([...this.lanes.keys()].map((k) => k.split('@')[0] as string));
  }

  /** Schema, then the connector's own rules. Sends nothing, writes nothing. */
  validate(input: unknown): { order: Order } | { issues: FieldIssue[] } {
    const forbidden = forbiddenKeys(input);
    if (forbidden.length) return { issues: forbidden.map((field) => ({ field, message: 'reserved key name is not allowed' })) };
    const parsed = OrderSchema.safeParse(input);
    if (!parsed.success) {
      // A provider that is not configured here is named with the rest, not only once the rest is right.
      const provider = (input as { provider?: unknown } | null)?.provider;
      const issues = zodIssues(parsed.error.issues);
      if (typeof provider === 'string' && !issues.some((i) => i.field === 'provider') && !this.providers().has(provider)) {
        issues.unshift({ field: 'provider', message: `provider ${provider.slice(0, 64)} is not configured here` });
      }
      return { issues };
    }
    const order = parsed.data;
    const lane = this.lanes.get(laneKey(order.provider, order.account));
    if (!lane) {
      const known = [...this.lanes.keys()].some((k) => k === order.provider || k.startsWith(`${order.provider}@`));
      if (known) return { issues: [{ field: 'account', message: `no account ${order.account ?? DEFAULT_ACCOUNT} is configured here for ${order.provider}` }] };
      return { issues: [{ field: 'provider', message: `provider ${order.provider.slice(0, 64)} is not configured here` }] };
    }
    const adapter = lane.adapter;
    if (!adapter.kinds.includes(order.kind)) {
      return { issues: [{ field: 'kind', message: `${order.provider} does not offer ${order.kind}` }] };
    }
    const issues = adapter.validate(order);
    return issues.length ? { issues } : { order };
  }

  async accept(input: unknown): Promise<IntakeResult> {
    const [result] = await this.acceptMany([input]);
    return result as IntakeResult;
  }

  /** Each order's outcome, in input order. Invalid items change nothing; the rest are enqueued together. */
  async acceptMany(inputs: unknown[]): Promise<IntakeResult[]> {
    const checked = inputs.map((input) => this.validate(input));
    // Lua scripts run in the order they are sent, so a foreign_id repeated inside one batch is
    // accepted once and then answered as existing (or conflict).
    // The order's trace: the request accepting it (kept on the record for what follows later).
    const trace = activeTraceparent();
    const written = await Promise.all(
      checked.map((c) => ('order' in c ? this.store.acceptRecord(c.order, orderHash(c.order), newOrderSecret(), undefined, trace) : Promise.resolve(null))),
    );
    const outcomes = written.map((w) => w?.outcome ?? null);
    const results: IntakeResult[] = [];
    const jobs: OrderRef[] = [];
    // An accepted order's record is the one just written; an existing one is read.
    const records = await Promise.all(
      checked.map((c, i) => {
        if (!('order' in c) || outcomes[i] === 'conflict') return Promise.resolve(null);
        return written[i]?.record ? Promise.resolve(written[i].record) : this.store.get(laneKey(c.order.provider, c.order.account), c.order.foreign_id);
      }),
    );
    checked.forEach((c, i) => {
      if (!('order' in c)) {
        results.push({ outcome: 'invalid', issues: c.issues });
        return;
      }
      const outcome = outcomes[i];
      const record = records[i];
      if (outcome === 'conflict' || !record) {
        results.push({
          outcome: 'conflict',
          foreign_id: c.order.foreign_id,
          message: 'another order with a different payload already uses this provider and foreign_id (or a reissued order reserved it)',
        });
        return;
      }
      // A still-queued order gets its job (again): adding is idempotent by job id, and this heals an
      // accept whose enqueue was lost.
      if (record.status === 'queued' && !record.reconcile) {
        jobs.push({
          v: 1,
          provider: record.provider,
          ...(record.account !== DEFAULT_ACCOUNT ? { account: record.account } : {}),
          kind: record.kind,
          foreign_id: record.foreign_id,
        });
      }
      results.push({ outcome: outcome === 'accepted' ? 'accepted' : 'existing', invoice: toView(record) });
    });
    // One addBulk per lane: each lane's jobs go to its own queue.
    const byLane = new Map<string, OrderRef[]>();
    for (const job of dedupe(jobs)) {
      const lane = laneKey(job.provider, job.account);
      const list = byLane.get(lane);
      if (list) list.push(job);
      else byLane.set(lane, [job]);
    }
    await Promise.all([...byLane].map(([lane, items]) => this.enqueue(lane, items)));
    return results;
  }
}

function dedupe(jobs: OrderRef[]): OrderRef[] {
  const seen = new Set<string>();
  return jobs.filter((j) => {
    const k = `${laneKey(j.provider, j.account)}\u0000${j.foreign_id}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
