/**
 * Drives records through the providers' real statuses (docs/providers.md 1.4, 2.3, 4.5, section 5) on
 * command (pay, pay partly, expire, cancel, fail), on deadlines and on an optional random
 * schedule, and emits the callbacks each move produces.
 *
 * Platform invoice: created|pending -> (pending installments) -> processing -> confirmed, or
 *   failed ("Timer expired. User not paid." / "...paid less than requested." / "Invoice cancelled").
 * Payment request: created -> processing (rate fixed, then transactions) -> paid | expired | failed.
 * CryptoSteroid: NEW -> WAITING (payment seen) -> PAID, or EXPIRED / CANCELLED; webhook on PAID only.
 */
import { compare, normalize, positiveDecimal } from '../money.ts';
import type { Dispatcher } from './callbacks.ts';
import type { LifecycleHooks, SandboxContext } from './context.ts';
import { convert, fakeAddress, fakeTxid } from './currencies.ts';
import { cancelCryptoSteroid, csInvoice, setMethod } from './cryptosteroid.ts';
import { add, half, subFloor } from '../money.ts';
import { invoiceCallbackBody, paymentRequestCallbackBody } from './platform-callbacks.ts';
import { setStatus, type Rec } from './store.ts';
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

const TERMINAL: Record<string, readonly string[]> = {
  invoice: ['confirmed', 'failed'],
  payment_request: ['paid', 'failed', 'expired'],
  cryptosteroid: ['PAID', 'EXPIRED', 'CANCELLED'],
};
const family = (rec: Rec): string => (rec.provider === 'cryptosteroid' ? 'cryptosteroid' : rec.kind);
export const isTerminal = (rec: Rec): boolean => (TERMINAL[family(rec)] ?? []).includes(rec.status);

const ONE_SATOSHI = '0.00000001';
const TIMER_NOT_PAID = 'Timer expired. User not paid.';
const TIMER_PAID_LESS = 'Timer expired. User paid less than requested.';
const CANCELLED = 'Invoice cancelled'; // docs/providers.md 6.6 (assumed text)

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
  act(provider: SandboxProvider, ref: string, action: SandboxAction, opts: { amount?: string; kind?: SandboxKind } = {}): Rec {
    const rec = this.ctx.store.resolve(provider, ref, opts.kind);
    if (!rec) throw new SandboxActionError('not_found', `no ${provider} invoice for ${ref}`);
    if (opts.amount !== undefined && !positiveDecimal.safeParse(opts.amount).success) {
      throw new SandboxActionError('bad_request', 'amount must be a positive decimal string like "10.50"');
    }
    this.apply(rec, action, opts.amount);
    return rec;
  }

  apply(rec: Rec, action: SandboxAction, amount?: string): void {
    if (action === 'pay-late') {
      if (!isTerminal(rec)) throw new SandboxActionError('invalid_state', `${rec.provider} ${rec.kind} has not ended (${rec.status}): pay it instead`);
      return this.payLate(rec, amount ?? rec.amount);
    }
    if (isTerminal(rec)) throw new SandboxActionError('invalid_state', `${rec.provider} ${rec.kind} is already ${rec.status}`);
    const remaining = subFloor(rec.amount, rec.received);
    switch (action) {
      case 'pay':
        return this.pay(rec, amount ?? remaining);
      case 'pay-partly':
        return this.pay(rec, amount ?? half(remaining));
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

  private pay(rec: Rec, fiat: string): void {
    if (rec.provider === 'cryptosteroid') return this.payCryptoSteroid(rec, fiat);
    if (rec.kind === 'payment_request') return this.payRequest(rec, fiat);
    return this.payInvoice(rec, fiat);
  }

  /** Books one incoming transaction; true when the invoice amount is now covered. */
  private receive(rec: Rec, fiat: string): boolean {
    if (!/[1-9]/.test(fiat)) throw new SandboxActionError('bad_request', 'amount must be greater than 0');
    rec.received = normalize(add(rec.received, fiat));
    const remainingCrypto = subFloor(rec.expectedCrypto, rec.sentCrypto);
    const full = compare(rec.received, rec.amount) >= 0;
    let crypto = full ? add(remainingCrypto, convert(subFloor(rec.received, rec.amount), rec.currency, rec.payCurrency)) : convert(fiat, rec.currency, rec.payCurrency);
    // A partial payment must stay partial after rounding to 8 places.
    if (!full && compare(crypto, remainingCrypto) >= 0) crypto = subFloor(remainingCrypto, ONE_SATOSHI);
    if (!/[1-9]/.test(crypto)) crypto = ONE_SATOSHI;
    rec.sentCrypto = normalize(add(rec.sentCrypto, crypto));
    rec.address ??= fakeAddress(rec.payCurrency);
    rec.txs.push({ id: this.ctx.store.smallId(), txid: fakeTxid(rec.payCurrency), amount: normalize(crypto), fiat, at: Date.now() });
    return full;
  }

  private payInvoice(rec: Rec, fiat: string): void {
    if (rec.status !== 'created' && rec.status !== 'pending') {
      throw new SandboxActionError('invalid_state', `invoice in status ${rec.status} cannot take a payment`);
    }
    const now = Date.now();
    if (rec.deadline === null) {
      // Kind 1: picking a currency starts the 15-minute window (docs/providers.md 5 deadlines).
      rec.fixedAt = now;
      rec.deadline = now + this.ctx.timers.scaled(900);
    }
    if (!this.receive(rec, fiat)) {
      // docs/providers.md 6.7: an installment is a `pending` callback with the remaining amount.
      setStatus(rec, 'pending', 'installment');
      this.emit(rec);
      this.arm(rec);
      return;
    }
    // Seen in the mempool: the deadline stretches to 24 h (docs/providers.md 1.2), then it confirms.
    rec.deadline = now + this.ctx.timers.scaled(24 * 3600);
    setStatus(rec, 'processing');
    this.emit(rec);
    this.finish(rec, 'confirmed');
  }

  private payRequest(rec: Rec, fiat: string): void {
    if (rec.status === 'created') {
      // The payer picks a currency: address generated, rate fixed (first callback, docs/providers.md 2.4).
      rec.address ??= fakeAddress(rec.payCurrency);
      rec.fixedAt ??= Date.now();
      setStatus(rec, 'processing', 'rate fixed');
      this.emit(rec);
    }
    if (this.receive(rec, fiat)) return this.finish(rec, 'paid');
    this.emit(rec);
  }

  private payCryptoSteroid(rec: Rec, fiat: string): void {
    if (!rec.meta.paymentMethod) setMethod(rec, 'USDT_TRC20');
    const full = this.receive(rec, fiat);
    // Detected in time: the 30-minute expiry no longer applies (docs/providers.md 4.5).
    this.disarm(rec);
    if (rec.status === 'NEW') setStatus(rec, 'WAITING');
    if (!full) return;
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
  private payLate(rec: Rec, fiat: string): void {
    this.receive(rec, fiat);
    if (rec.provider === 'cryptosteroid') {
      if (!rec.meta.paymentMethod) setMethod(rec, 'USDT_TRC20');
      setStatus(rec, 'PAID');
      this.dispatcher.cryptosteroid(rec, csInvoice(this.ctx, rec));
      return;
    }
    this.emit(rec, rec.kind === 'invoice' && rec.status === 'failed' ? TIMER_NOT_PAID : '');
  }

  private expire(rec: Rec): void {
    if (rec.provider === 'cryptosteroid') {
      setStatus(rec, 'EXPIRED');
      this.disarm(rec);
      return;
    }
    if (rec.kind === 'payment_request') return this.finish(rec, rec.txs.length ? 'failed' : 'expired');
    this.finish(rec, 'failed', rec.txs.length ? TIMER_PAID_LESS : TIMER_NOT_PAID);
  }

  /** An underpaid ending: pay half (if nothing came yet), then let the deadline pass. */
  private fail(rec: Rec): void {
    if (rec.provider !== 'cryptosteroid' && rec.txs.length === 0) this.pay(rec, half(rec.amount));
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
    if (rec.kind === 'invoice') rec.address ??= fakeAddress(rec.payCurrency);
    const payload = rec.kind === 'invoice' ? invoiceCallbackBody(rec, error) : paymentRequestCallbackBody(rec);
    // transactions/info answers with the latest callback body once one exists (docs/providers.md 6.11).
    rec.lastCallback = payload;
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
