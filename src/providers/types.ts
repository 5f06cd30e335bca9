/**
 * The ProviderAdapter interface: our inner boundary. An adapter turns a normalized order into the
 * provider's request, the provider's answers and callbacks into normalized results, and the
 * provider's errors into the taxonomy of `src/errors.ts`. Workers and the state machine never see
 * a provider-shaped type. The normalized update is a zod schema (`UpdateSchema`), so the adapters'
 * output and an event job's payload (queues/events.ts) are one definition.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import type { FieldIssue } from '../errors.ts';
import type { Kind, Order } from '../invoice/order.ts';
import type { PayTo } from '../invoice/result.ts';
import { STATUSES, type Status } from '../invoice/state.ts';
import type { LaneRef } from '../lanes/key.ts';
import { DECIMAL_TEXT } from '../money.ts';
import type { HttpClient } from './http.ts';

/** The money shapes are the result contract's (src/invoice/result.ts): one definition for adapters, record and results. */
export type { Fee, PayTo, Transaction } from '../invoice/result.ts';

/** An amount (decimal text) and its currency. */
export interface Money {
  amount: string;
  currency: string;
}

/** What a successful create tells us. */
export interface CreateResult {
  /** The provider's id: numeric for platform invoices, UUID for payment requests and CryptoSteroid. Always a string here. */
  providerInvoiceId: string;
  paymentUrl: string;
  /** Normalized status right after creation (platform timed invoices start `pending`). */
  status: Extract<Status, 'created' | 'pending'>;
  /** The provider's raw status text, kept for operators. */
  providerStatus: string;
  /**
   * Amount and currency as the provider echoed them (decimal text), checked against the order
   * before `created` is published; absent when the answer had none (or an unreadable one).
   */
  amount?: string;
  currency?: string;
  /** When the provider will expire the invoice, when it says (ISO-8601). */
  expiresAt?: string;
  /** The payer's instructions, when the answer carries them (platform type-3 invoices, CryptoSteroid with a method). */
  payTo?: PayTo;
}

/** The provider's answer to a cancel: done, or refused in the provider's words (already paid, wrong state). */
export type CancelResult = { kind: 'cancelled'; providerStatus?: string } | { kind: 'refused'; message: string; code?: string };

/** A message on a callback route that is authentic but not about an invoice (the platform's deposit, withdrawal, exchange callbacks). */
export interface ForeignCallback {
  /** The provider's own `type` (deposit, withdrawal, exchange...), or `unknown`. */
  type: string;
  /** The provider's id for it, when it has one, for the log line. */
  id?: string;
}

/** Per-order context the worker prepares before the request goes out. */
export interface CreateContext {
  /** Per-order secret (CryptoSteroid `secret`, echoed in the webhook `Token` header). */
  secret: string;
  /** Where the provider should POST callbacks for this order, when it takes one per order. */
  callbackUrl?: string;
  signal?: AbortSignal;
}

const Decimal = z.string().max(61).regex(DECIMAL_TEXT, 'must be a decimal string');

/**
 * A provider's word on an invoice (callback body or lookup answer), normalized: what an adapter
 * returns, and what an event job stores (queues/events.ts). The bounds are what a stored job may
 * hold; `ProviderUpdate` is its type.
 */
export const UpdateSchema = z.strictObject({
  foreignId: z.string().min(1).max(255).optional(),
  providerInvoiceId: z.string().min(1).max(255).optional(),
  providerStatus: z.string().max(100),
  /** `unresolved` when the provider status is unknown: parked for an operator, never guessed. */
  status: z.union([z.enum(STATUSES), z.literal('unresolved')]),
  /**
   * What the payer actually sent so far, in the currency sent: the sum of `transactions` where the
   * provider lists them, else the provider's own running total. Never the invoice's target.
   */
  receivedAmount: Decimal.optional(),
  receivedCurrency: z.string().min(1).max(32).optional(),
  /** Every transaction the message lists (the platform repeats earlier ones; merged by txid). */
  transactions: z
    .array(
      z.strictObject({
        txid: z.string().min(1).max(200),
        amount: Decimal.optional(),
        currency: z.string().min(1).max(32),
        confirmations: z.int().min(0).max(1e9).optional(),
        network: z.string().min(1).max(64).optional(),
      }),
    )
    .max(500)
    .optional(),
  fees: z
    .array(z.strictObject({ type: z.string().min(1).max(100), amount: Decimal, currency: z.string().min(1).max(32) }))
    .max(100)
    .optional(),
  /** What the merchant is credited, only where the provider states it for a finished payment. */
  settledAmount: Decimal.optional(),
  settledCurrency: z.string().min(1).max(32).optional(),
  /**
   * The provider's figures for checking that a payment covers the order (track.ts `coverage`):
   * `value`, what the invoice is worth in a currency the provider names (compared with the order
   * when it is the order's currency); `due`, what the payer had to send in the currency sent, at
   * the rate the provider fixed for this invoice (compared with `receivedAmount`).
   */
  paid: z
    .strictObject({
      value: z.strictObject({ amount: Decimal, currency: z.string().min(1).max(32) }).optional(),
      due: z.strictObject({ amount: Decimal, currency: z.string().min(1).max(32) }).optional(),
    })
    .optional(),
  payTo: z.strictObject({ currency: z.string().min(1).max(32), network: z.string().min(1).max(64).optional(), address: z.string().min(1).max(200), amount: Decimal }).optional(),
  /** Provider's reason text (failure reason, partial payment note). */
  reason: z.string().max(1000).optional(),
  /** Identifies this exact provider message, for dedupe (docs/providers.md 6.16). */
  dedupeKey: z.string().min(1).max(1000),
});

/** A provider's word on an invoice, normalized (`UpdateSchema`). */
export type ProviderUpdate = z.infer<typeof UpdateSchema>;

/** What a deadline is computed from: the record's clock and the order. */
export interface TrackedInvoice {
  kind: Kind;
  status: Status;
  order: Order;
  accepted_at: string;
  /** When the invoice left `queued` (ms). */
  opened_at: number | null;
  /** When the current status was entered (ms). */
  status_at: number | null;
  /** The provider's own expiry, when it said (ISO-8601). */
  expires_at: string | null;
}

export interface AdapterTracking {
  /** Poll cadence of an open invoice that has a deadline (ms); lane tuning may override it. */
  readonly pollMs: number;
  /** When the provider itself ends the invoice if nothing happens (ms), or null when it never does. */
  deadline(invoice: TrackedInvoice): number | null;
}

/**
 * How a provider reaches us. `merchant`: one signed route per account (`/webhooks/<provider>` for
 * the default account, `/webhooks/<provider>/<account>` for others). `per-invoice`: the adapter
 * hands each order its own URL (`/webhooks/<provider>/<record id>`), authenticated by the order's
 * own secret.
 */
export type CallbackStyle = 'merchant' | 'per-invoice';

export interface ProviderAdapter {
  readonly id: string;
  /** The account this adapter speaks for (one adapter per lane). */
  readonly lane: LaneRef;
  readonly kinds: readonly Kind[];
  readonly callbacks: CallbackStyle;
  readonly tracking: AdapterTracking;
  /**
   * True when the provider refuses a second create with the same foreign_id (the platform does),
   * so re-sending after an unknown outcome can never make a second invoice. False means a re-send
   * may create a duplicate: the worker parks the order for reconciliation instead.
   */
  readonly uniqueForeignId: boolean;
  /** Connector-specific requirements the order schema does not cover; empty when fine. Sends nothing. */
  validate(order: Order): FieldIssue[];
  /** Creates the invoice. Throws only errors from `src/errors.ts`. */
  create(order: Order, ctx: CreateContext): Promise<CreateResult>;
  /**
   * Verifies a callback on the raw bytes, in constant time. `expectedToken` is the per-order secret
   * for providers that authenticate with one (CryptoSteroid); HMAC providers ignore it.
   */
  verifyCallback(raw: Buffer, headers: IncomingHttpHeaders, expectedToken?: string): boolean;
  /** Parses an authentic callback body. Throws `ValidationError` naming the field when malformed. */
  parseCallback(raw: Buffer): ProviderUpdate;
  /**
   * Asks the provider for an invoice's current state (polling). Resolves null when the provider
   * has no answer (yet) or offers no lookup for this kind. Throws only errors from `src/errors.ts`.
   */
  lookup(ref: InvoiceRef, signal?: AbortSignal): Promise<ProviderUpdate | null>;
  /**
   * Recognises an authentic callback that is not about an invoice (the platform sends deposits,
   * withdrawals and exchanges to the same merchant URL): acknowledged and counted, never applied.
   * Null when the body is (or claims to be) about an invoice: `parseCallback` takes it.
   */
  foreignCallback?(raw: Buffer): ForeignCallback | null;
  /**
   * Cancels the invoice at the provider, where the provider documents a cancel; absent where it
   * does not (payment requests: none is documented). Throws only errors from `src/errors.ts`
   * (a transport failure: nothing is known, the caller retries).
   */
  cancel?(ref: InvoiceRef, signal?: AbortSignal): Promise<CancelResult>;
  /** Kinds `cancel` works for (empty: none). */
  readonly cancels?: readonly Kind[];
  /**
   * Chooses how the payer pays an invoice already created (the provider then states the address
   * and amount: `payTo` of the update), where the provider documents it; absent where it does not.
   * A refusal (wrong state, unknown method) is `ProviderRejected`; other errors from `src/errors.ts`.
   */
  choosePaymentMethod?(ref: InvoiceRef, method: string, signal?: AbortSignal): Promise<ProviderUpdate>;
  /** The methods `choosePaymentMethod` takes, as the provider names them. */
  readonly paymentMethods?: readonly string[];
  /**
   * The most unpaid (created, not yet paid, expired or cancelled) invoices the account may hold,
   * where the provider caps them: the lane never sends a create past it (CryptoSteroid).
   */
  readonly maxUnpaid?: number;
}

export interface InvoiceRef {
  kind: Kind;
  foreignId: string;
  providerInvoiceId?: string;
}

export interface AdapterDeps {
  http: HttpClient;
  /** The account it speaks for; default: the provider's default account. */
  lane?: LaneRef;
  /** The parsed environment: a provider reads the variables it declared in `env` (their defaults when absent). */
  env?: Readonly<Record<string, unknown>>;
}

/** What the default account's variables gave: raw settings (or none), and which variable is which setting. */
export interface EnvAccount {
  settings?: Record<string, unknown>;
  /** setting name -> environment variable, so a bad value is reported under the variable's name. */
  names: Record<string, string>;
  problems: FieldIssue[];
}

/** What a sandbox offers a provider: its base URL and fixed test credentials. */
export interface SandboxAccess {
  baseUrls: Readonly<Record<string, string>>;
  credentials: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/**
 * One provider, everything provider-shaped about it: registered with one line in registry.ts.
 * The rest of the system (config, HTTP, queues, workers, CLI) only ever goes through this.
 */
export interface ProviderModule<S = unknown> {
  readonly id: string;
  readonly kinds: readonly Kind[];
  readonly callbacks: CallbackStyle;
  /** One account's settings as the accounts file spells them (credentials, base URL). */
  readonly settings: z.ZodType<S>;
  /**
   * Hosts the provider serves its hosted payment pages from, as its documentation names them: an
   * operator's attach must give a payment URL on one of them (an account may add more).
   */
  readonly paymentHosts?: readonly string[];
  /** The environment variables this provider reads (its default account, its tracking knobs); all optional. */
  readonly env: z.ZodRawShape;
  /** The default account from those variables; none when its credentials are unset. */
  defaultAccount(env: Readonly<Record<string, unknown>>): EnvAccount;
  /** The default account's settings when it runs against the built-in sandbox; undefined if the sandbox lacks it. */
  sandbox?(box: SandboxAccess): Record<string, unknown> | undefined;
  create(settings: S, deps: AdapterDeps): ProviderAdapter;
}
