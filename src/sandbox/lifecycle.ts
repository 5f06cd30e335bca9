/**
 * Drives records through the providers' real statuses (docs/providers.md 1.4, 2.3, 4.5, section 5) on
 * command (pick a currency, pay, pay partly, confirm, expire, cancel, fail), on deadlines and on an
 * optional random schedule, and emits the callbacks each move produces. The platform calls back
 * on every status change of an invoice (docs/providers.md 1.5).
 *
 * Platform invoice: created -> pending (currency picked, no transaction yet) -> (pending per
 *   installment) -> processing (in the mempool) -> confirmed, or failed ("Timer expired. User not
 *   paid." / "... User paid less than requested." / "... Transactions were in status processing too
 *   long." / "Invoice cancelled").
 * Payment request: created -> processing (rate fixed, then transactions) -> paid | expired | failed.
 * CryptoSteroid: NEW -> WAITING (payment seen) -> PAID, or EXPIRED / CANCELLED; webhook on PAID only.
 */
import { compare, isZero, normalize, positiveDecimal } from '../money.ts';
import type { Dispatcher } from './callbacks.ts';
import type { LifecycleHooks, SandboxContext } from './context.ts';
import { convert, fakeTxid, isCrypto } from './currencies.ts';
import { cancelCryptoSteroid, csInvoice, setMethod } from './cryptosteroid.ts';
import { add, half, subFloor } from '../money.ts';
import { invoiceCallbackBody, paymentRequestCallbackBody } from './platform-callbacks.ts';
import { addressFor, setStatus, type Rec } from './store.ts';
import type { SandboxAction, SandboxKind, SandboxProvider } from './types.ts';

export class SandboxActionError extends Error {
  override name = 'SandboxActionError';
  constructor(
    readonly code: 'not_found' | 'invalid_state' | 'bad_request',
    message: string,
  ) {
    super(message);
  }
  get httpStatus(): number {
    return this.code === 'not_found' ? 404 : this.code === 'invalid_state' ? 409 : 400;
  }
}

/** How a control command pays or moves a record. */
export interface PayOptions {
  /** Amount in the invoice's currency (decimal string). */
  amount?: string;
  /** Amount in the payer's crypto instead (decimal string); wins over `amount`. */
  crypto?: string;
  /** false: the payment stays in the mempool (processing / WAITING) until `confirm`. Default true. */
  confirm?: boolean;
  /** The payer's crypto when picking a currency on a platform invoice still `created`. */
  currency?: string;
}

const TERMINAL: Record<string, readonly string[]> = {
  invoice: ['confirmed', 'failed'],
  payment_request: ['paid', 'failed', 'expired'],
  cryptosteroid: ['PAID', 'EXPIRED', 'CANCELLED'],
};
const family = (rec: Rec): string => (rec.provider === 'cryptosteroid' ? 'cryptosteroid' : rec.kind);
export const isTerminal = (rec: Rec): boolean => (TERMINAL[family(rec)] ?? []).includes(rec.status);

const ONE_SATOSHI = '0.00000001';
// The documented `error` texts of a failed invoice (coinspaid/docs api-documentation/v2/invoices.md).
export const TIMER_NOT_PAID = 'Timer expired. User not paid.';
export const TIMER_PAID_LESS = 'Timer expired. User paid less than requested.';
export const TIMER_PROCESSING_TOO_LONG = 'Timer expired. Transactions were in status processing too long.';
/** docs/providers.md 6.6: the text of a cancelled invoice's `failed` callback is not documented (assumed). */
export const CANCELLED = 'Invoice cancelled';
/** Confirmations a paid-less invoice's payment shows (the documented example has "2"). */
const SETTLED_CONFIRMATIONS = 2;

export class Lifecycle implements LifecycleHooks {
  constructor(
    private readonly ctx: SandboxContext,
    private readonly dispatcher: Dispatcher,
  ) {}

  created(rec: Rec): void {
    this.arm(rec);
    this.scheduleOutcome(rec);
  }

  cancel(rec: Rec): boolean {
    if (rec.provider === 'cryptosteroid') {
      if (!cancelCryptoSteroid(this.ctx, rec)) return false;
      this.disarm(rec);
      return true;
    }
    // No cancel API for payment requests (docs/providers.md 5); invoices while created/pending/processing.
    if (rec.kind !== 'invoice' || !['created', 'pending', 'processing'].includes(rec.status)) return false;
    this.finish(rec, 'failed', CANCELLED);
    return true;
  }

  /** Runs one control action on the record a provider + ref names. */
  act(provider: SandboxProvider, ref: string, action: SandboxAction, opts: PayOptions & { kind?: SandboxKind } = {}): Rec {
    const rec = this.ctx.store.resolve(provider, ref, opts.kind);
    if (!rec) throw new SandboxActionError('not_found', `no ${provider} invoice for ${ref}`);
    for (const field of ['amount', 'crypto'] as const) {
      const v = opts[field];
      if (v !== undefined && !positiveDecimal.safeParse(v).success) {
        throw new SandboxActionError('bad_request', `${field} must be a positive decimal string like "10.50"`);
      }
    }
    if (opts.currency !== undefined && !isCrypto(opts.currency)) throw new SandboxActionError('bad_request', 'currency must be a crypto currency code the sandbox lists');
    this.apply(rec, action, opts);
    return rec;
  }

  apply(rec: Rec, action: SandboxAction, opts: PayOptions = {}): void {
    if (action === 'pay-late') {
      if (!isTerminal(rec)) throw new SandboxActionError('invalid_state', `${rec.provider} ${rec.kind} has not ended (${rec.status}): pay it instead`);
      return this.payLate(rec, opts);
    }
    if (isTerminal(rec)) throw new SandboxActionError('invalid_state', `${rec.provider} ${rec.kind} is already ${rec.status}`);
    const confirm = opts.confirm ?? true;
    switch (action) {
      case 'pay':
        return this.pay(rec, opts.crypto !== undefined ? { crypto: opts.crypto } : { fiat: opts.amount ?? subFloor(rec.amount, rec.received) }, confirm, opts.currency);
      case 'pay-partly': {
        if (opts.crypto !== undefined) return this.pay(rec, { crypto: opts.crypto }, confirm, opts.currency);
        return this.pay(rec, { fiat: opts.amount ?? half(subFloor(rec.amount, rec.received)) }, confirm, opts.currency);
      }
      case 'pick-currency':
        return this.pickCurrency(rec, opts.currency);
      case 'confirm':
        return this.confirm(rec);
      case 'expire':
        return this.expire(rec);
      case 'cancel':
        if (!this.cancel(rec)) throw new SandboxActionError('invalid_state', `${rec.provider} ${rec.kind} in status ${rec.status} cannot be cancelled`);
        return;
      case 'fail':
        return this.fail(rec);
      default: {
        const never: never = action;
        throw new SandboxActionError('bad_request', `unknown action ${String(never)}`);
      }
    }
  }

  private pay(rec: Rec, amount: Payment, confirm: boolean, currency?: string): void {
    if (rec.provider === 'cryptosteroid') return this.payCryptoSteroid(rec, amount, confirm);
    if (rec.kind === 'payment_request') return this.payRequest(rec, amount);
    return this.payInvoice(rec, amount, confirm, currency);
  }

  /**
   * Books one incoming transaction (in the mempool, no confirmation yet); true when the invoice
   * amount is now covered. A payment given in the invoice currency is converted at the fixed table;
   * one given in crypto is taken as is. The payment that completes the invoice is worth exactly
   * what was left (plus any excess), so rounding never turns an exact payment short or over.
   */
  private receive(rec: Rec, amount: Payment): boolean {
    const remainingFiat = subFloor(rec.amount, rec.received);
    const remainingCrypto = subFloor(rec.expectedCrypto, rec.sentCrypto);
    let fiat: string;
    let crypto: string;
    if ('crypto' in amount) {
      crypto = normalize(amount.crypto);
      if (isZero(crypto)) throw new SandboxActionError('bad_request', 'crypto must be greater than 0');
      const full = compare(crypto, remainingCrypto) >= 0;
      fiat = full ? add(remainingFiat, convert(subFloor(crypto, remainingCrypto), rec.payCurrency, rec.currency)) : convert(crypto, rec.payCurrency, rec.currency);
      if (!full && compare(fiat, remainingFiat) >= 0) fiat = subFloor(remainingFiat, ONE_SATOSHI);
    } else {
      fiat = normalize(amount.fiat);
      if (isZero(fiat)) throw new SandboxActionError('bad_request', 'amount must be greater than 0');
      const full = compare(fiat, remainingFiat) >= 0;
      crypto = full ? add(remainingCrypto, convert(subFloor(fiat, remainingFiat), rec.currency, rec.payCurrency)) : convert(fiat, rec.currency, rec.payCurrency);
      // A partial payment must stay partial after rounding to 8 places.
      if (!full && compare(crypto, remainingCrypto) >= 0) crypto = subFloor(remainingCrypto, ONE_SATOSHI);
      if (isZero(crypto)) crypto = ONE_SATOSHI;
    }
    rec.received = normalize(add(rec.received, fiat));
    rec.sentCrypto = normalize(add(rec.sentCrypto, crypto));
    rec.address ??= addressFor(rec);
    rec.txs.push({ id: this.ctx.store.smallId(), txid: fakeTxid(rec.payCurrency), amount: normalize(crypto), fiat: normalize(fiat), confirmations: 0, at: Date.now() });
    return compare(rec.sentCrypto, rec.expectedCrypto) >= 0;
  }

  /**
   * The payer picks a currency on a kind-1 invoice: the rate is fixed for 15 minutes, an address
   * is assigned and the invoice moves created -> pending, with a callback and no transaction.
   */
  private pickCurrency(rec: Rec, currency?: string): void {
    if (rec.provider === 'cryptosteroid' || rec.kind !== 'invoice' || rec.status !== 'created') {
      throw new SandboxActionError('invalid_state', `${rec.provider} ${rec.kind} in status ${rec.status} has no currency to pick`);
    }
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
    this.arm(rec);
  }

  private payInvoice(rec: Rec, amount: Payment, confirm: boolean, currency?: string): void {
    if (rec.status === 'created') this.pickCurrency(rec, currency);
    if (rec.status !== 'pending') {
      throw new SandboxActionError('invalid_state', `invoice in status ${rec.status} cannot take a payment`);
    }
    if (!this.receive(rec, amount)) {
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
    this.arm(rec);
  }

  private confirmInvoice(rec: Rec): void {
    for (const t of rec.txs) if (t.confirmations === 0) t.confirmations = 1;
    this.finish(rec, 'confirmed');
  }

  /**
   * The payments reach the network's confirmations. A platform invoice in processing ends
   * confirmed; one still pending (installments) only has its payments confirmed, which is no
   * status change and so no callback (transactions/info shows it). CryptoSteroid: WAITING and
   * fully paid ends PAID.
   */
  private confirm(rec: Rec): void {
    if (rec.provider === 'cryptosteroid') {
      if (rec.status !== 'WAITING' || compare(rec.sentCrypto, rec.expectedCrypto) < 0) {
        throw new SandboxActionError('invalid_state', `cryptosteroid invoice in status ${rec.status} is not fully paid`);
      }
      return this.paidCryptoSteroid(rec);
    }
    if (rec.kind === 'invoice' && rec.status === 'processing') return this.confirmInvoice(rec);
    if (rec.kind === 'invoice' && rec.status === 'pending' && rec.txs.length) {
      for (const t of rec.txs) if (t.confirmations === 0) t.confirmations = 1;
      return;
    }
    throw new SandboxActionError('invalid_state', `${rec.provider} ${rec.kind} in status ${rec.status} has no payment to confirm`);
  }

  private payRequest(rec: Rec, amount: Payment): void {
    if (rec.status === 'created') {
      // The payer picks a currency: address generated, rate fixed (first callback, docs/providers.md 2.4).
      rec.address ??= addressFor(rec);
      rec.fixedAt ??= Date.now();
      setStatus(rec, 'processing', 'rate fixed');
      this.emit(rec);
    }
    if (this.receive(rec, amount)) {
      for (const t of rec.txs) if (t.confirmations === 0) t.confirmations = 1;
      return this.finish(rec, 'paid');
    }
    this.emit(rec);
  }

  private payCryptoSteroid(rec: Rec, amount: Payment, confirm: boolean): void {
    if (!rec.meta.paymentMethod) setMethod(rec, 'USDT_TRC20');
    const full = this.receive(rec, amount);
    // Detected in time: the 30-minute expiry no longer applies (docs/providers.md 4.5).
    this.disarm(rec);
    if (rec.status === 'NEW') setStatus(rec, 'WAITING');
    if (full && confirm) this.paidCryptoSteroid(rec);
  }

  private paidCryptoSteroid(rec: Rec): void {
    for (const t of rec.txs) if (t.confirmations === 0) t.confirmations = 1;
    setStatus(rec, 'PAID');
    // docs/providers.md 4.6: one webhook, on PAID only.
    this.dispatcher.cryptosteroid(rec, csInvoice(this.ctx, rec));
  }

  /**
   * A payment after the invoice ended. Payment requests send another `expired` (or `failed`)
   * callback carrying the amount, and refund it (docs/providers.md 6.9, assumed); a platform invoice sends
   * its `failed` callback again with the money received (assumed, the same habit); CryptoSteroid
   * credits a payment detected late and calls back on PAID, its only webhook (docs/providers.md 4.6,
   * assumed).
   */
  private payLate(rec: Rec, opts: PayOptions): void {
    if (rec.provider === 'cryptosteroid' && !rec.meta.paymentMethod) setMethod(rec, 'USDT_TRC20');
    this.receive(rec, opts.crypto !== undefined ? { crypto: opts.crypto } : { fiat: opts.amount ?? rec.amount });
    if (rec.provider === 'cryptosteroid') return this.paidCryptoSteroid(rec);
    const last = rec.history.at(-1)?.reason;
    this.emit(rec, rec.kind === 'invoice' && rec.status === 'failed' ? (last ?? TIMER_NOT_PAID) : '');
  }

  private expire(rec: Rec): void {
    if (rec.provider === 'cryptosteroid') {
      setStatus(rec, 'EXPIRED');
      this.disarm(rec);
      return;
    }
    if (rec.kind === 'payment_request') return this.finish(rec, rec.txs.length ? 'failed' : 'expired');
    // A payment still unconfirmed after the 24 h stretch (docs/providers.md 1.4 failure list).
    if (rec.status === 'processing') return this.finish(rec, 'failed', TIMER_PROCESSING_TOO_LONG);
    if (!rec.txs.length) return this.finish(rec, 'failed', TIMER_NOT_PAID);
    // Paid less: the transactions are confirmed, the invoice still fails (coinspaid/docs example).
    for (const t of rec.txs) t.confirmations = Math.max(t.confirmations, SETTLED_CONFIRMATIONS);
    this.finish(rec, 'failed', TIMER_PAID_LESS);
  }

  /** An underpaid ending: pay half (if nothing came yet), then let the deadline pass. */
  private fail(rec: Rec): void {
    if (rec.provider !== 'cryptosteroid' && rec.txs.length === 0) this.pay(rec, { fiat: half(rec.amount) }, true);
    this.expire(rec);
  }

  private finish(rec: Rec, status: string, error = ''): void {
    setStatus(rec, status, error || undefined);
    this.disarm(rec);
    this.emit(rec, error);
  }

  private emit(rec: Rec, error = ''): void {
    if (rec.provider === 'cryptosteroid') return;
    // Invoice callbacks always carry a crypto address; a payment request that expired before the
    // payer picked a currency has none (docs/providers.md 2.4 "expired without fixed rate").
    if (rec.kind === 'invoice') rec.address ??= addressFor(rec);
    const payload = rec.kind === 'invoice' ? invoiceCallbackBody(rec, error) : paymentRequestCallbackBody(rec);
    this.dispatcher.platform(rec, payload);
  }

  private arm(rec: Rec): void {
    this.disarm(rec);
    if (rec.deadline === null || isTerminal(rec)) return;
    rec.deadlineTimer = this.ctx.timers.after(rec.deadline - Date.now(), () => {
      rec.deadlineTimer = undefined;
      if (isTerminal(rec)) return;
      // CryptoSteroid only expires while no payment was detected.
      if (rec.provider === 'cryptosteroid' && rec.status !== 'NEW') return;
      this.expire(rec);
    });
  }

  private disarm(rec: Rec): void {
    this.ctx.timers.cancel(rec.deadlineTimer);
    rec.deadlineTimer = undefined;
  }

  private scheduleOutcome(rec: Rec): void {
    const s = this.ctx.options.schedule;
    if (!s) return;
    const draw = this.ctx.options.random();
    const outcomes: Array<[number | undefined, SandboxAction]> = [
      [s.paid, 'pay'],
      [s.partly, 'pay-partly'],
      [s.expired, 'expire'],
      [s.failed, 'fail'],
    ];
    let acc = 0;
    for (const [share, action] of outcomes) {
      acc += share ?? 0;
      if (draw < acc) {
        this.ctx.timers.after(s.delayMs ?? 1000, () => {
          try {
            this.apply(rec, action);
          } catch {
            // The record moved on meanwhile (paid, cancelled): the scheduled outcome no longer applies.
          }
        });
        return;
      }
    }
  }
}

/** One payment: in the invoice's currency or in the payer's crypto. */
type Payment = { fiat: string } | { crypto: string };
