/**
 * Drives records through their providers' statuses (docs/providers.md 1.4, 2.3, 4.5, section 5) on
 * command (pick a currency, pay, pay partly, confirm, expire, cancel, fail, pay late), on
 * deadlines and on an optional random schedule. This is the part every provider shares: finding
 * the record a command names, refusing a command on an ended record, booking a payment at the
 * fixed rates (`receive`), deadline timers and the schedule. What a command does in a provider's
 * own statuses, and the callbacks it sends, are that provider's `moves` (its file in
 * src/sandbox/, listed in registry.ts).
 */
import { add, compare, half, isZero, normalize, positiveDecimal, subFloor } from '../money.ts';
import type { LifecycleHooks, Payment, RecordMoves, SandboxContext } from './context.ts';
import { convert, fakeTxid, isCrypto } from './currencies.ts';
import { addressFor, type Rec } from './store.ts';
import type { SandboxAction, SandboxKind } from './types.ts';

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
  /** The payer's crypto when picking a currency on an invoice still waiting for one. */
  currency?: string;
}

/** Whether the record has ended, in its provider's words. */
export const isTerminal = (rec: Rec): boolean => rec.terminal.includes(rec.status);

/** The refusal of a command the record's state does not allow. */
export const invalidState = (rec: Rec, what: string): SandboxActionError => new SandboxActionError('invalid_state', `${rec.provider} ${rec.kind} in status ${rec.status} ${what}`);

const ONE_SATOSHI = '0.00000001';

export class Lifecycle implements LifecycleHooks {
  private readonly byProvider = new Map<string, RecordMoves>();

  constructor(private readonly ctx: SandboxContext) {
    for (const [id, provider] of ctx.providers) this.byProvider.set(id, provider.moves(ctx));
  }

  created(rec: Rec): void {
    this.arm(rec);
    this.scheduleOutcome(rec);
  }

  cancel(rec: Rec): boolean {
    return this.moves(rec).cancel(rec);
  }

  /** Runs one control action on the record a provider + ref names. */
  act(provider: string, ref: string, action: SandboxAction, opts: PayOptions & { kind?: SandboxKind } = {}): Rec {
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
    const moves = this.moves(rec);
    if (action === 'pay-late') {
      if (!isTerminal(rec)) throw new SandboxActionError('invalid_state', `${rec.provider} ${rec.kind} has not ended (${rec.status}): pay it instead`);
      return moves.payLate(rec, opts.crypto !== undefined ? { crypto: opts.crypto } : { fiat: opts.amount ?? rec.amount });
    }
    if (isTerminal(rec)) throw new SandboxActionError('invalid_state', `${rec.provider} ${rec.kind} is already ${rec.status}`);
    const confirm = opts.confirm ?? true;
    switch (action) {
      case 'pay':
        return moves.pay(rec, opts.crypto !== undefined ? { crypto: opts.crypto } : { fiat: opts.amount ?? subFloor(rec.amount, rec.received) }, confirm, opts.currency);
      case 'pay-partly': {
        if (opts.crypto !== undefined) return moves.pay(rec, { crypto: opts.crypto }, confirm, opts.currency);
        return moves.pay(rec, { fiat: opts.amount ?? half(subFloor(rec.amount, rec.received)) }, confirm, opts.currency);
      }
      case 'pick-currency':
        if (!moves.pickCurrency) throw invalidState(rec, 'has no currency to pick');
        return moves.pickCurrency(rec, opts.currency);
      case 'confirm':
        return moves.confirm(rec);
      case 'expire':
        return moves.expire(rec);
      case 'cancel':
        if (!moves.cancel(rec)) throw invalidState(rec, 'cannot be cancelled');
        return;
      case 'fail':
        return moves.fail(rec);
      default: {
        const never: never = action;
        throw new SandboxActionError('bad_request', `unknown action ${String(never)}`);
      }
    }
  }

  private moves(rec: Rec): RecordMoves {
    const moves = this.byProvider.get(rec.provider);
    if (!moves) throw new SandboxActionError('not_found', `unknown provider ${rec.provider}`);
    return moves;
  }

  arm(rec: Rec): void {
    this.disarm(rec);
    if (rec.deadline === null || isTerminal(rec)) return;
    rec.deadlineTimer = this.ctx.timers.after(rec.deadline - Date.now(), () => {
      rec.deadlineTimer = undefined;
      if (isTerminal(rec)) return;
      const moves = this.moves(rec);
      if (moves.deadlinePassed) moves.deadlinePassed(rec);
      else moves.expire(rec);
    });
  }

  disarm(rec: Rec): void {
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

/**
 * Books one incoming transaction (in the mempool, no confirmation yet); true when the invoice
 * amount is now covered. A payment given in the invoice currency is converted at the fixed table;
 * one given in crypto is taken as is. The payment that completes the invoice is worth exactly
 * what was left (plus any excess), so rounding never turns an exact payment short or over.
 */
export function receive(ctx: SandboxContext, rec: Rec, amount: Payment): boolean {
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
  rec.txs.push({ id: ctx.store.smallId(), txid: fakeTxid(rec.payCurrency), amount: normalize(crypto), fiat: normalize(fiat), confirmations: 0, at: Date.now() });
  return compare(rec.sentCrypto, rec.expectedCrypto) >= 0;
}
