/**
 * What every part of the sandbox shares: resolved options, credentials, state, timers, the
 * lifecycle hooks and the callback queue, and the `SandboxProvider` interface each emulated
 * provider implements. The core (server, store, lifecycle, timers, faults, control) reaches a
 * provider only through that interface, so it knows no provider's name: registry.ts lists them.
 */
import type { Router } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Faults } from './faults.ts';
import type { Reply } from './reply.ts';
import type { Rec, RecordRules, Stats, Store } from './store.ts';
import type { Timers } from './timers.ts';
import type { AccountCallbackOptions, CallbackHabits, Credentials, SandboxKind, SandboxSchedule } from './types.ts';

export interface ResolvedOptions {
  latencyMs: number;
  timeScale: number;
  redeliveryDelaysMs?: number[];
  callbackTimeoutMs: number;
  schedule?: SandboxSchedule;
  random: () => number;
}

/** Lifecycle hooks the provider routes and moves call; implemented in `lifecycle.ts`. */
export interface LifecycleHooks {
  /** A new record was stored: start its deadline and any scheduled outcome. */
  created(rec: Rec): void;
  /** The provider's cancel (docs/providers.md 1.4, 6.6); returns false when the state forbids it. */
  cancel(rec: Rec): boolean;
  /** (Re)starts the record's deadline timer from `rec.deadline`; nothing once it ended. */
  arm(rec: Rec): void;
  /** Stops the record's deadline timer. */
  disarm(rec: Rec): void;
}

/** Who a callback is about: an invoice record, or the merchant account itself (deposits, withdrawals, exchanges). */
export interface CallbackSource {
  provider: string;
  kind: SandboxKind | 'account';
  id: string;
  foreignId: string | null;
}

/** One callback as a provider sends it: the exact bytes and headers, where to, and how often to retry. */
export interface Outgoing {
  /** Also the key of the in-order queue: one per invoice, one per account callback. */
  rec: CallbackSource;
  callbackType: string;
  callbackStatus: string;
  body: string;
  headers: Record<string, string>;
  /** Resolved at every attempt: a merchant may fix the URL between retries. */
  target: () => string | undefined;
  retries: number;
  /** The provider's redelivery schedule, minutes after the previous attempt (the last one repeats). */
  redeliveryMinutes: readonly number[];
  late: boolean;
  duplicate: boolean;
}

/** Callback delivery with the callback habits (`callbacks.ts`). */
export interface CallbackQueue {
  enqueue(item: Outgoing): void;
  /** Whether this callback is one of the share the `escapeSlashes` habit writes PHP-style. */
  escapeThisOne(): boolean;
}

export interface SandboxContext {
  options: ResolvedOptions;
  /** Each provider's test credentials (its fixed ones with the options' overrides), by provider. */
  credentials: Readonly<Record<string, Credentials>>;
  /** Every provider this sandbox runs, by id. */
  providers: ReadonlyMap<string, SandboxProvider>;
  store: Store;
  stats: Stats;
  faults: Faults;
  timers: Timers;
  log: Logger;
  habits: CallbackHabits;
  callbackUrls: Partial<Record<string, string>>;
  /** Public base URL (known once the server listens). */
  url: () => string;
  lifecycle: LifecycleHooks;
  callbacks: CallbackQueue;
}

/**
 * What the lifecycle commands (docs/sandbox.md "Control API") do to one provider's records, in its
 * own statuses and with its own callbacks. The core checks the record and the command first:
 * found, not ended (but for `payLate`), amounts positive decimals; the moves do the rest and throw
 * `SandboxActionError` (lifecycle.ts) for a state the provider would refuse.
 */
export interface RecordMoves {
  /** A payment (booked with lifecycle.ts `receive`); `confirm` false leaves it unconfirmed; `currency` picks the payer's crypto first. */
  pay(rec: Rec, payment: Payment, confirm: boolean, currency?: string): void;
  /** The payer picks a currency before paying; absent where the provider has no such step. */
  pickCurrency?(rec: Rec, currency?: string): void;
  /** The payments reach their confirmations. */
  confirm(rec: Rec): void;
  /** The deadline passes now. */
  expire(rec: Rec): void;
  /** The provider's own cancel; false when the state forbids it. */
  cancel(rec: Rec): boolean;
  /** An underpaid ending. */
  fail(rec: Rec): void;
  /** A payment after the record ended. */
  payLate(rec: Rec, payment: Payment): void;
  /** The deadline timer fired on a record that has not ended; absent: `expire`. */
  deadlinePassed?(rec: Rec): void;
}

/** One payment: in the invoice's currency or in the payer's crypto. */
export type Payment = { fiat: string } | { crypto: string };

/** Callbacks about the merchant account rather than an invoice, sent on command (`/_sandbox/accounts/:provider/callbacks/:type`). */
export interface AccountCallbacks {
  readonly types: readonly string[];
  /** Reads a control request's body into options (400 naming the field when it does not parse). */
  readonly body: z.ZodType<AccountCallbackOptions>;
  /** Builds one and queues it for delivery; returns the body sent. */
  send(ctx: SandboxContext, type: string, opts: AccountCallbackOptions): Record<string, unknown>;
}

/**
 * One emulated provider, registered with one line in registry.ts: the routes it serves under its
 * own mount, the shapes of its messages (its answers, its callbacks, its fault pages) and what the
 * lifecycle commands do to its records. `O` is what it reads from `startSandbox()`'s options.
 */
export interface SandboxProvider<Id extends string = string, C extends Credentials = Credentials, O extends object = object> extends RecordRules {
  /** Its mount (`/<id>`) and the name the control API, fault rules and stats use. */
  readonly id: Id;
  /** Its fixed test credentials; `options.credentials[id]` overrides them field by field. */
  readonly credentials: C;
  /** It calls back to one URL per merchant account (`setCallbackUrl`), rather than to one given with each invoice. */
  readonly merchantCallbacks: boolean;
  /** Its application's answers when a fault rule fires: a 500 and a 429 (default: plain text). */
  readonly faultReplies?: { serverError: Reply; tooManyRequests: Reply };
  /** Callbacks about the merchant account, where it sends them. */
  readonly accountCallbacks?: AccountCallbacks;
  /** Its API, mounted under `/<id>`. */
  routes(ctx: SandboxContext, options: O): Router;
  /** What the lifecycle commands do to its records, in one running sandbox. */
  moves(ctx: SandboxContext): RecordMoves;
}

/** A provider's credentials in this sandbox (its fixed ones, or the options' overrides). */
export function credentialsOf<C extends Credentials>(ctx: SandboxContext, provider: SandboxProvider<string, C>): C {
  return (ctx.credentials[provider.id] ?? provider.credentials) as C;
}
