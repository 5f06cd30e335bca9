/**
 * What the lifecycle commands do to a platform record (docs/providers.md 1.4, 2.3, section 5): the
 * platform calls back on every status change of an invoice (docs/providers.md 1.5).
 *
 * Invoice: created -> pending (currency picked, no transaction yet) -> (pending per
 *   installment) -> processing (in the mempool) -> confirmed, or failed ("Timer expired. User not
 *   paid." / "... User paid less than requested." / "... Transactions were in status processing too
 *   long." / "Invoice cancelled").
 * Payment request: created -> processing (rate fixed, then transactions) -> paid | expired | failed.
 */
import { half } from '../money.ts';
import type { Payment, RecordMoves, SandboxContext } from './context.ts';
import { convert } from './currencies.ts';
import { SandboxActionError, invalidState, receive } from './lifecycle.ts';
import { invoiceCallbackBody, paymentRequestCallbackBody, sendPlatformCallback, type PlatformCredentials } from './platform-callbacks.ts';
import { addressFor, setStatus, type Rec } from './store.ts';

/** The statuses in which a platform record has ended, per kind. */
export const PLATFORM_TERMINAL = {
  invoice: ['confirmed', 'failed'],
  payment_request: ['paid', 'failed', 'expired'],
} as const;

// The documented `error` texts of a failed invoice (coinspaid/docs api-documentation/v2/invoices.md).
export const TIMER_NOT_PAID = 'Timer expired. User not paid.';
export const TIMER_PAID_LESS = 'Timer expired. User paid less than requested.';
export const TIMER_PROCESSING_TOO_LONG = 'Timer expired. Transactions were in status processing too long.';
/** docs/providers.md 6.6: the text of a cancelled invoice's `failed` callback is not documented (assumed). */
export const CANCELLED = 'Invoice cancelled';
/** Confirmations a paid-less invoice's payment shows (the documented example has "2"). */
const SETTLED_CONFIRMATIONS = 2;

export class PlatformMoves implements RecordMoves {
  constructor(
    private readonly ctx: SandboxContext,
    private readonly creds: PlatformCredentials,
  ) {}

  pay(rec: Rec, amount: Payment, confirm: boolean, currency?: string): void {
    if (rec.kind === 'payment_request') return this.payRequest(rec, amount);
    return this.payInvoice(rec, amount, confirm, currency);
  }

  cancel(rec: Rec): boolean {
    // No cancel API for payment requests (docs/providers.md 5); invoices while created/pending/processing.
    if (rec.kind !== 'invoice' || !['created', 'pending', 'processing'].includes(rec.status)) return false;
    this.finish(rec, 'failed', CANCELLED);
    return true;
  }

  /**
   * The payer picks a currency on a kind-1 invoice: the rate is fixed for 15 minutes, an address
   * is assigned and the invoice moves created -> pending, with a callback and no transaction.
   */
  pickCurrency(rec: Rec, currency?: string): void {
    if (rec.kind !== 'invoice' || rec.status !== 'created') throw invalidState(rec, 'has no currency to pick');
    if (currency !== undefined && currency !== rec.payCurrency) {
      rec.payCurrency = currency;
      rec.expectedCrypto = convert(rec.amount, rec.currency, currency);
    }
    const now = Date.now();
    rec.fixedAt = now;
    // Kind 1: picking a currency starts the 15-minute window (docs/providers.md 5 deadlines).
    rec.deadline = now + this.ctx.timers.scaled(900);
    rec.address = addressFor(rec);
    setStatus(rec, 'pending', 'currency picked');
    this.emit(rec);
    this.ctx.lifecycle.arm(rec);
  }

  private payInvoice(rec: Rec, amount: Payment, confirm: boolean, currency?: string): void {
    if (rec.status === 'created') this.pickCurrency(rec, currency);
    if (rec.status !== 'pending') {
      throw new SandboxActionError('invalid_state', `invoice in status ${rec.status} cannot take a payment`);
    }
    if (!receive(this.ctx, rec, amount)) {
      // docs/providers.md 6.7: an installment is a `pending` callback with the remaining amount.
      setStatus(rec, 'pending', 'installment');
      this.emit(rec);
      return;
    }
    // Seen in the mempool: the deadline stretches to 24 h (docs/providers.md 1.2), then it confirms.
    rec.deadline = Date.now() + this.ctx.timers.scaled(24 * 3600);
    setStatus(rec, 'processing');
    this.emit(rec);
    if (confirm) return this.confirmInvoice(rec);
    this.ctx.lifecycle.arm(rec);
  }

  private confirmInvoice(rec: Rec): void {
    for (const t of rec.txs) if (t.confirmations === 0) t.confirmations = 1;
    this.finish(rec, 'confirmed');
  }

  /**
   * The payments reach the network's confirmations. A platform invoice in processing ends
   * confirmed; one still pending (installments) only has its payments confirmed, which is no
   * status change and so no callback (transactions/info shows it).
   */
  confirm(rec: Rec): void {
    if (rec.kind === 'invoice' && rec.status === 'processing') return this.confirmInvoice(rec);
    if (rec.kind === 'invoice' && rec.status === 'pending' && rec.txs.length) {
      for (const t of rec.txs) if (t.confirmations === 0) t.confirmations = 1;
      return;
    }
    throw invalidState(rec, 'has no payment to confirm');
  }

  private payRequest(rec: Rec, amount: Payment): void {
    if (rec.status === 'created') {
      // The payer picks a currency: address generated, rate fixed (first callback, docs/providers.md 2.4).
      rec.address ??= addressFor(rec);
      rec.fixedAt ??= Date.now();
      setStatus(rec, 'processing', 'rate fixed');
      this.emit(rec);
    }
    if (receive(this.ctx, rec, amount)) {
      for (const t of rec.txs) if (t.confirmations === 0) t.confirmations = 1;
      return this.finish(rec, 'paid');
    }
    this.emit(rec);
  }

  /**
   * A payment after the invoice ended. Payment requests send another `expired` (or `failed`)
   * callback carrying the amount, and refund it (docs/providers.md 6.9, assumed); a platform invoice sends
   * its `failed` callback again with the money received (assumed, the same habit).
   */
  payLate(rec: Rec, payment: Payment): void {
    receive(this.ctx, rec, payment);
    const last = rec.history.at(-1)?.reason;
    this.emit(rec, rec.kind === 'invoice' && rec.status === 'failed' ? (last ?? TIMER_NOT_PAID) : '');
  }

  expire(rec: Rec): void {
    if (rec.kind === 'payment_request') return this.finish(rec, rec.txs.length ? 'failed' : 'expired');
    // A payment still unconfirmed after the 24 h stretch (docs/providers.md 1.4 failure list).
    if (rec.status === 'processing') return this.finish(rec, 'failed', TIMER_PROCESSING_TOO_LONG);
    if (!rec.txs.length) return this.finish(rec, 'failed', TIMER_NOT_PAID);
    // Paid less: the transactions are confirmed, the invoice still fails (coinspaid/docs example).
    for (const t of rec.txs) t.confirmations = Math.max(t.confirmations, SETTLED_CONFIRMATIONS);
    this.finish(rec, 'failed', TIMER_PAID_LESS);
  }

  /** An underpaid ending: pay half (if nothing came yet), then let the deadline pass. */
  fail(rec: Rec): void {
    if (rec.txs.length === 0) this.pay(rec, { fiat: half(rec.amount) }, true);
    this.expire(rec);
  }

  private finish(rec: Rec, status: string, error = ''): void {
    setStatus(rec, status, error || undefined);
    this.ctx.lifecycle.disarm(rec);
    this.emit(rec, error);
  }

  private emit(rec: Rec, error = ''): void {
    // Invoice callbacks always carry a crypto address; a payment request that expired before the
    // payer picked a currency has none (docs/providers.md 2.4 "expired without fixed rate").
    if (rec.kind === 'invoice') rec.address ??= addressFor(rec);
    const payload = rec.kind === 'invoice' ? invoiceCallbackBody(rec, error) : paymentRequestCallbackBody(rec);
    sendPlatformCallback(this.ctx, this.creds, rec, payload);
  }
}
