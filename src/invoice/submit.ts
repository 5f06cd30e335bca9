/**
 * Submitting one accepted order to its provider, with the idempotency rules of the README
 * guarantees 1 and 5. The decisive fact is the `submitting` marker, written before a request
 * goes out and cleared only when an answer proves nothing was created:
 * - marker present on entry: an earlier attempt may have created an invoice (crash or lost
 *   response). Providers that refuse a duplicate foreign_id (the platform) are asked again;
 *   the rest are parked for reconciliation, never re-created blindly.
 * - the platform's "foreign id has already been taken" after an attempt of ours, or a 2xx answer we
 *   cannot read: the invoice exists (ours, from an attempt whose answer was lost) and its payment
 *   URL never reached anybody. Where the provider can cancel, the orphan is cancelled and the order
 *   created again under a derived provider-side foreign_id (`~r<n>`, as an operator's reissue does);
 *   callbacks for either id land on the order. Only a cancel that fails parks it.
 * - the create answer's amount and currency are compared with the order: an invoice for another
 *   amount is never published `created`; it is cancelled at the provider and the order parked.
 * - a lane whose provider caps unpaid invoices (CryptoSteroid) reserves a slot of its own count
 *   before anything goes out: past the cap the order waits like a rate limit, spending no attempt.
 */
import {
  ConcurrentAttempt,
  MissingRecord,
  ProviderAuth,
  ProviderError,
  ProviderRateLimited,
  ProviderUnavailable,
  ResponseShape,
  classify,
  errorSummary,
  type Disposition,
} from '../errors.ts';
import { compare, DECIMAL_TEXT } from '../money.ts';
import type { CreateResult, ProviderAdapter } from '../providers/types.ts';
import { reissuedForeignId } from './repair.ts';
import { providerForeignId, type InvoiceRecord } from './record.ts';
import type { InvoiceStore } from './store.ts';

export type SubmitOutcome =
  | { kind: 'done'; status: InvoiceRecord['status'] }
  | { kind: 'created'; record: InvoiceRecord }
  /** `error`: what parked it, when a failed request did; `answered`: the provider answered that request. */
  | { kind: 'parked'; reason: string; error?: Error; answered?: boolean }
  | { kind: 'rejected'; reason: string; auth: boolean }
  | { kind: 'retry'; error: Error; disposition: Extract<Disposition, 'retry' | 'unknown-outcome'> }
  | { kind: 'rate-limited'; error: ProviderRateLimited; hits: number };

export interface SubmitDeps {
  store: InvoiceStore;
  adapter: ProviderAdapter;
  /** Per-order callback URL for providers that take one (CryptoSteroid `processingUrl`). */
  callbackUrl?: (record: InvoiceRecord) => string | undefined;
  /** When the created invoice's first poll is due: scheduled with the change to `created` itself (store `Change.firstPoll`). */
  firstPoll?: (record: InvoiceRecord) => number | null;
  /** How long the lane waits when it is at its own cap of unpaid invoices before looking again (ms; one cheap check). */
  capWaitMs?: number;
}

/** How many orphans one order may leave behind by itself before an operator must look. */
const MAX_RECOVERIES = 5;

/** Submits the order `foreignId` of lane `lane` (the lane key) through that lane's adapter. */
export async function submitOrder(deps: SubmitDeps, lane: string, foreignId: string, depth = 0): Promise<SubmitOutcome> {
  const { store, adapter } = deps;
  const record = await store.get(lane, foreignId);
  // Jobs are only added for recorded orders; one without a record cannot succeed by retrying.
  if (!record) throw new MissingRecord('no invoice record for this job');
  if (record.status !== 'queued') return { kind: 'done', status: record.status };
  if (record.reconcile) return { kind: 'parked', reason: record.reconcile };

  const resend = record.submitting !== null;
  if (resend && !adapter.uniqueForeignId) {
    return park(deps, record, 'outcome unknown: an earlier request may have created an invoice; not re-sent (reconcile at the provider)');
  }
  // The provider caps unpaid invoices and does not say how it refuses past the cap: we keep count
  // ourselves and never send past it (docs/providers.md 4.5, 6.4). The slot stays the order's until
  // its invoice is paid into or ends (the store frees it in the same step).
  if (adapter.maxUnpaid !== undefined && !(await store.reserveUnpaid(lane, foreignId, adapter.maxUnpaid))) {
    const error = new ProviderRateLimited(`lane holds ${adapter.maxUnpaid} unpaid invoices, its cap; waiting for payments or expiries`, adapter.id, undefined, {
      capacity: 'unpaid_invoices',
      retryAfterMs: deps.capWaitMs ?? 1_000,
    });
    return { kind: 'rate-limited', error, hits: record.rate_limited_hits };
  }

  // Write-ahead: from here on, a crash leaves the marker behind and the next attempt knows.
  // Only while it is still queued and not parked, decided under the compare-and-set: an order the
  // order system cancelled (or an operator repaired) a moment ago is never sent.
  const marked = await store.apply(
    lane,
    foreignId,
    // And only if nobody wrote a marker since we read the record: two attempts of one job (the
    // first one's lock ran out while it was starved of CPU, and BullMQ handed the job to another
    // worker) must not both send. Exactly one of them wins this compare-and-set.
    {
      source: 'create',
      whileIn: ['queued'],
      guard: (r) => !r.reconcile && r.submitting === record.submitting,
      fields: { submitting: Date.now(), submit_attempts: record.submit_attempts + 1 },
    },
    // Durability mode: nothing is sent before a replica holds the marker; if none confirms in time,
    // the marker is taken back and this attempt throws (retried). See InvoiceStore.confirmApplied.
    { known: record, durable: 'submit' },
  );
  if (marked.kind === 'missing') throw new Error('invoice record vanished');
  if (marked.kind === 'ignored') {
    const r = marked.record;
    if (r.status !== 'queued') return { kind: 'done', status: r.status };
    if (r.reconcile) return { kind: 'parked', reason: r.reconcile };
    // Another attempt holds the marker now and is sending: this one sends nothing (and the next attempt reconciles if needed).
    return { kind: 'retry', error: new ConcurrentAttempt('another attempt of this order is sending it'), disposition: 'retry' };
  }
  const current = marked.record;

  let result: CreateResult;
  try {
    // Under the provider-side foreign_id: the order's own, or the one an operator reissued it under.
    const order = record.provider_foreign_id ? { ...record.order, foreign_id: record.provider_foreign_id } : record.order;
    result = await adapter.create(order, { secret: record.secret, callbackUrl: deps.callbackUrl?.(record) });
  } catch (err) {
    return failed(deps, current, resend, err, depth);
  }
  // The provider's echo must be the order: an invoice for another amount or currency is never
  // published as the order's `created` (guarantee 8).
  const mismatch = echoMismatch(record, result);
  if (mismatch) return mismatched(deps, current, result, mismatch);
  // Outside the try: if recording the success fails (Redis away), the marker stays and the next
  // attempt reconciles instead of creating again.
  const fields = {
    submitting: null,
    last_error: null,
    provider_invoice_id: result.providerInvoiceId,
    provider_status: result.providerStatus,
    payment_url: result.paymentUrl,
    ...(result.expiresAt ? { expires_at: result.expiresAt } : {}),
    ...(result.payTo ? { pay_to: JSON.stringify(result.payTo) } : {}),
  };
  let applied = await store.apply(lane, foreignId, { status: 'created', source: 'create', fields, firstPoll: deps.firstPoll }, { known: current });
  if (applied.kind === 'missing') throw new Error('invoice record vanished');
  if (applied.kind === 'ignored') {
    // A callback adopted the invoice while our request was in flight: keep what only the create
    // answer knows (the payment URL), without moving the status.
    const known = applied.record;
    applied = await store.apply(lane, foreignId, {
      source: 'create',
      fields: {
        submitting: null,
        payment_url: known.payment_url ?? result.paymentUrl,
        provider_invoice_id: known.provider_invoice_id ?? result.providerInvoiceId,
        ...(known.expires_at || !result.expiresAt ? {} : { expires_at: result.expiresAt }),
      },
    });
    if (applied.kind === 'missing') throw new Error('invoice record vanished');
    return { kind: 'done', status: applied.record.status };
  }
  if (result.status === 'pending') {
    // Timed platform invoices start `pending` (docs/providers.md 1.3): `created` (URL known) then `pending`.
    const moved = await store.apply(lane, foreignId, { status: 'pending', source: 'create', firstPoll: deps.firstPoll }, { known: applied.record });
    if (moved.kind !== 'missing') applied = moved;
  }
  return { kind: 'created', record: applied.record };
}

/** A 2xx create answer we could not read: the invoice most likely exists (STYLE errors table), so never `rejected`. */
function unreadableSuccess(err: unknown): boolean {
  return err instanceof ResponseShape && err.httpStatus !== undefined && err.httpStatus >= 200 && err.httpStatus <= 299;
}

/** What a failed create means for the order; the `submitting` marker is cleared only when an answer proves nothing was created. */
async function failed(deps: SubmitDeps, record: InvoiceRecord, resend: boolean, err: unknown, depth: number): Promise<SubmitOutcome> {
  const { store, adapter } = deps;
  const { lane, foreign_id: foreignId } = record;
  const error = err instanceof Error ? err : new Error(String(err));
  const disposition = unreadableSuccess(err) ? 'unknown-outcome' : classify(err);
  const ours = resend || record.submit_attempts > 1 || unreadableSuccess(err);
  // The orphan's payment URL never reached anybody: cancel it and create the order again, no operator.
  if ((disposition === 'duplicate' && ours) || (unreadableSuccess(err) && adapter.uniqueForeignId)) {
    if (adapter.cancel && adapter.cancels?.includes(record.kind) && depth < MAX_RECOVERIES) return recoverOrphan(deps, record, error, depth);
  }
  switch (disposition) {
    case 'duplicate':
      return park(
        deps,
        record,
        resend || record.submit_attempts > 0
          ? 'provider already holds this foreign_id: an earlier request created it but its answer was lost; following it by callbacks'
          : 'provider already holds this foreign_id (created outside this worker?); following it by callbacks',
        { error, answered: true },
      );
    case 'permanent': {
      // The provider's own words (masked by the adapter) are the reason: "The minimum amount is 10.00 EUR."
      const reason = errorSummary(error);
      await store.apply(lane, foreignId, { status: 'rejected', source: 'create', reason, fields: { submitting: null, last_error: reason, reason } }, { known: record });
      return { kind: 'rejected', reason, auth: err instanceof ProviderAuth };
    }
    case 'rate-limited': {
      // Answered, so nothing was created: clear the marker.
      // The count of throttled answers goes up with the same compare-and-set, on the fresh copy.
      const cleared = await store.apply(
        lane,
        foreignId,
        { source: 'create', fields: (r) => ({ submitting: null, last_error: errorSummary(error), rate_limited_hits: r.rate_limited_hits + 1 }) },
        { known: record },
      );
      const hits = cleared.kind === 'missing' ? record.rate_limited_hits + 1 : cleared.record.rate_limited_hits;
      return { kind: 'rate-limited', error: err as ProviderRateLimited, hits };
    }
    case 'unknown-outcome':
      if (!adapter.uniqueForeignId) {
        return park(deps, record, `outcome unknown (${errorSummary(error)}): the invoice may exist; not re-sent (reconcile at the provider)`, { error });
      }
      // Keep the marker: the next attempt re-sends and the provider refuses a duplicate.
      await store.apply(lane, foreignId, { source: 'create', fields: { last_error: errorSummary(error) } }, { known: record });
      return { kind: 'retry', error, disposition };
    case 'retry': {
      // Only a provider answer (5xx) or a refused connection proves nothing was created. Any other
      // error (a bug, an unexpected throw) keeps the marker, so the next attempt reconciles.
      const proven = err instanceof ProviderUnavailable;
      await store.apply(lane, foreignId, { source: 'create', fields: { ...(proven ? { submitting: null } : {}), last_error: errorSummary(error) } }, { known: record });
      return { kind: 'retry', error, disposition };
    }
  }
}

/**
 * The provider holds an invoice of ours whose answer we never read (lost, or unreadable). Nobody
 * has its payment URL, so nobody can pay it: cancel it at the provider, then create the order again
 * under the next free derived provider-side foreign_id, in this same attempt. Money or a paid status
 * on the cancelled one is an exception (track.ts `onReplaced`); a cancel that fails parks the order.
 */
async function recoverOrphan(deps: SubmitDeps, record: InvoiceRecord, error: Error, depth: number): Promise<SubmitOutcome> {
  const { store, adapter } = deps;
  const orphan = providerForeignId(record);
  // Money already on it (its URL reached a payer after all, or a callback is on its way): it is not
  // an orphan to cancel; the order waits for its callbacks, which adopt it (parked until then).
  const seen = await adapter.lookup({ kind: record.kind, foreignId: orphan }).catch(() => null);
  if (seen) {
    return park(deps, record, `provider already holds this foreign_id (${orphan}) and reports a payment on it; following it by callbacks`, { error, answered: true });
  }
  let providerFid: string | null = null;
  for (let n = record.replaced_foreign_ids.length + 1; n <= record.replaced_foreign_ids.length + 20 && !providerFid; n++) {
    const candidate = reissuedForeignId(record.foreign_id, n);
    if (await store.reserveAlias(record.lane, candidate, record.foreign_id)) providerFid = candidate;
  }
  if (!providerFid)
    return park(deps, record, `provider already holds this foreign_id (${orphan}), and no derived foreign_id is free (20 taken in a row)`, { error, answered: true });
  // The order moves to the derived id before the orphan is cancelled, so the provider's word on the
  // cancelled orphan (its callback may overtake our answer) is news about a replaced invoice,
  // never a change of this order (track.ts `onReplaced`).
  const why = `the answer to ${orphan} was lost (${errorSummary(error)}); that invoice is cancelled at the provider and the order goes again as ${providerFid}`;
  const moved = await store.apply(
    record.lane,
    record.foreign_id,
    {
      source: 'create',
      reason: why,
      recorded: true,
      whileIn: ['queued'],
      guard: (r) => !r.reconcile && providerForeignId(r) === orphan,
      fields: {
        provider_foreign_id: providerFid,
        replaced_foreign_ids: JSON.stringify([...record.replaced_foreign_ids, orphan]),
        submitting: null,
        last_error: why,
      },
    },
    { known: record },
  );
  if (moved.kind === 'missing') throw new Error('invoice record vanished');
  if (moved.kind === 'ignored') {
    return moved.record.status === 'queued' ? { kind: 'parked', reason: moved.record.reconcile ?? 'changed meanwhile' } : { kind: 'done', status: moved.record.status };
  }
  let failure: string | undefined;
  try {
    const res = await adapter.cancel!({ kind: record.kind, foreignId: orphan });
    if (res.kind === 'refused') failure = `the provider refused to cancel it: ${res.message}`;
  } catch (err) {
    failure = `cancelling it failed (${err instanceof ProviderError ? errorSummary(err) : String(err)})`;
  }
  if (failure !== undefined) {
    // The orphan stands: it is still the order's invoice (its callbacks move the order), so the
    // move is taken back and the reservation freed; not re-sent, an operator checks it (attach it,
    // or reissue once it is gone).
    const back = await store.apply(
      record.lane,
      record.foreign_id,
      {
        source: 'create',
        guard: (r) => providerForeignId(r) === providerFid && r.submitting === null,
        fields: { provider_foreign_id: record.provider_foreign_id, replaced_foreign_ids: record.replaced_foreign_ids.length ? JSON.stringify(record.replaced_foreign_ids) : null },
      },
      { known: moved.record },
    );
    if (back.kind === 'applied') await store.releaseAlias(record.lane, providerFid, record.foreign_id);
    const current = back.kind === 'missing' ? moved.record : back.record;
    return park(deps, current, `provider already holds this foreign_id (${orphan}): an earlier request created it but its answer was lost, and ${failure}; not re-sent`, {
      error,
      answered: true,
    });
  }
  return submitOrder(deps, record.lane, record.foreign_id, depth + 1);
}

/** The provider's echo against the order, or null when it matches (or there is no echo to compare). */
function echoMismatch(record: InvoiceRecord, result: CreateResult): string | null {
  const amountOff = result.amount !== undefined && DECIMAL_TEXT.test(result.amount) && compare(result.amount, record.amount) !== 0;
  const currencyOff = result.currency !== undefined && result.currency.toUpperCase() !== record.currency.toUpperCase();
  if (!amountOff && !currencyOff) return null;
  return `${result.amount ?? record.amount} ${result.currency ?? record.currency}`;
}

/**
 * The provider created the invoice for another amount or currency than the order's: never
 * published `created`. It is cancelled at the provider (where it can be) and the order parked
 * with both figures and an `amount_mismatch` exception; an operator reissues or abandons it.
 */
async function mismatched(deps: SubmitDeps, record: InvoiceRecord, result: CreateResult, echoed: string): Promise<SubmitOutcome> {
  const { adapter, store } = deps;
  const canCancel = Boolean(adapter.cancel && adapter.cancels?.includes(record.kind));
  const base = `amount_mismatch: the provider created invoice ${result.providerInvoiceId} for ${echoed}, the order is for ${record.amount} ${record.currency}`;
  const reason = `${base}; ${canCancel ? 'cancelled at the provider' : 'the provider documents no cancel for it: it stays payable there until it expires'}`;
  const detail = {
    type: 'amount_mismatch',
    provider_status: result.providerStatus,
    reason: base,
    provider_amount: result.amount ?? record.amount,
    provider_currency: result.currency ?? record.currency,
    order_amount: record.amount,
    order_currency: record.currency,
  };
  // Parked before the cancel goes out, so the provider's word on the cancelled invoice finds the
  // order parked for this mismatch and never moves it (track.ts). The invoice id is kept for the
  // operator; its payment URL is not, so nobody is sent to it.
  const res = await store.apply(
    record.lane,
    record.foreign_id,
    {
      source: 'create',
      whileIn: ['queued'],
      fields: { submitting: null, provider_invoice_id: result.providerInvoiceId, provider_status: result.providerStatus, reconcile: reason, last_error: reason },
      event: { kind: 'exception', id: `v${record.version}.amount_mismatch`, detail },
    },
    { known: record },
  );
  if (res.kind !== 'applied') return { kind: 'parked', reason, answered: true };
  let failure: string | undefined;
  if (canCancel) {
    try {
      const answer = await adapter.cancel!({ kind: record.kind, foreignId: providerForeignId(record), providerInvoiceId: result.providerInvoiceId });
      if (answer.kind === 'refused') failure = `the provider refused to cancel it: ${answer.message}`;
    } catch (err) {
      failure = `cancelling it failed (${errorSummary(err)}): cancel it at the provider`;
    }
  }
  const said = failure ? `${base}; ${failure}` : reason;
  let latest = res.record;
  if (failure) {
    const noted = await store.apply(record.lane, record.foreign_id, { source: 'create', fields: { reconcile: said, last_error: said } }, { known: latest });
    if (noted.kind === 'applied') latest = noted.record;
  }
  const next = 'an operator checks the invoice at the provider, then reissues the order as a new invoice or abandons it';
  await store.apply(record.lane, record.foreign_id, { source: 'create', event: { kind: 'parked', id: `v${latest.version}`, detail: { reason: said, next } } }, { known: latest });
  return { kind: 'parked', reason: said, answered: true };
}

/** What an operator can do about a parked order, said in the `parked` result. */
const NEXT = {
  held: "the provider holds the invoice: callbacks and polls adopt it when they come; or find it in the provider's dashboard and attach it (its id and payment URL), reissue the order as a new invoice, or abandon the order",
  unknown: 'not re-sent: check at the provider; attach the invoice if it exists there, else retry with confirm_not_created; or abandon the order',
} as const;

async function park(deps: SubmitDeps, record: InvoiceRecord, reason: string, cause: { error?: Error; answered?: boolean } = {}): Promise<SubmitOutcome> {
  // Announced once per parking: the id is the record version the decision was taken on.
  const next = cause.answered ? NEXT.held : NEXT.unknown;
  const event = { kind: 'parked' as const, id: `v${record.version}`, detail: { reason, next } };
  const res = await deps.store.apply(
    record.lane,
    record.foreign_id,
    { source: 'create', whileIn: ['queued'], fields: { reconcile: reason, last_error: reason }, event },
    { known: record },
  );
  // A callback adopted the invoice while this answer was on its way: it is being followed, nothing to reconcile.
  if (res.kind === 'ignored') return { kind: 'done', status: res.record.status };
  return { kind: 'parked', reason, ...cause };
}
