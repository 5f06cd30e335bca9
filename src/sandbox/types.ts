/**
 * Public types of the sandbox provider (options, fault rules, inspection records), the same for
 * every provider it emulates. Internal bookkeeping lives in `store.ts`; the provider interface in
 * `context.ts`; what the built-in providers add (their names, credentials and options) comes from
 * `registry.ts`. These are the shapes tests, benchmarks and the demo see.
 */
import type { Logger } from 'pino';
import type { Kind } from '../invoice/order.ts';

/** What a provider offers: the order kinds (src/invoice/order.ts). */
export type SandboxKind = Kind;

/** One provider's fixed test credentials (API key, secret, merchant id...), by name. */
export type Credentials = Readonly<Record<string, string>>;

export type FaultKind = 'latency' | '5xx' | '429' | 'reset' | 'commit-then-drop' | 'hang' | 'drip' | 'huge';

/** One fault rule. Without `count` or `rate` it applies to every matching create until cleared. */
export interface FaultRule {
  /** A provider's id (its mount); without it, every provider. */
  provider?: string;
  kind?: SandboxKind;
  fault: FaultKind;
  /** Apply to the next N matching create requests, then drop the rule. */
  count?: number;
  /** Probability 0..1 per matching request (instead of count). */
  rate?: number;
  /** Delay for `latency`; for `drip`, the wait between two bytes (default 1000). */
  ms?: number;
  /** Status for `5xx`; without it the sandbox cycles 500, 502, 503. */
  status?: 500 | 502 | 503 | 504;
  /** For `hang`, `drip` and `huge`: store the invoice first (the provider committed, then answered badly). */
  commit?: boolean;
  /** Which requests the rule targets: creates (default), cancels, or updates (a change of the payment method); `5xx` and `reset` only for the last two. */
  op?: 'create' | 'cancel' | 'update';
}

/** Callback habits (docs/providers.md 1.5 duplicates, 6.14 escapes); settable at runtime. */
export interface CallbackHabits {
  /** Share of successful deliveries sent a second time, byte for byte. */
  duplicateRate: number;
  /** Share of callbacks delivered after a newer one for the same invoice. */
  lateRate: number;
  /** Share of platform callbacks written PHP-style (`\/` and `\uXXXX` escapes). */
  escapeSlashes: number;
}

/** Shares (0..1) of new invoices driven automatically to each outcome; the rest wait for a command. */
export interface SandboxSchedule {
  paid?: number;
  partly?: number;
  expired?: number;
  failed?: number;
  /** Delay after creation before the outcome is applied (real ms, not scaled). Default 1000. */
  delayMs?: number;
}

/** The options of every sandbox, whatever providers it runs (the built-in ones add theirs: `SandboxOptions`). */
export interface SandboxCoreOptions {
  /** 0 = random free port (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Base URL others reach the sandbox at (payment pages, base URLs); default http://host:port. */
  publicUrl?: string;
  /** Delay added before answering every provider API request. Default 0. */
  latencyMs?: number;
  /** Multiplies every provider-defined duration (900 s timer, 30 min, life_time, redelivery). Default 1. */
  timeScale?: number;
  /** Merchant-account callback URLs, by provider, for providers that call back to one URL per account (docs/providers.md 1.5). */
  callbackUrls?: Partial<Record<string, string>>;
  /** Redelivery delays in real ms; the last one repeats up to the provider's count. Default: the documented schedule scaled by timeScale. */
  redeliveryDelaysMs?: number[];
  /** Timeout for one callback delivery attempt. Default 10000 ms. */
  callbackTimeoutMs?: number;
  schedule?: SandboxSchedule;
  /** Initial callback habits; `reorder: true` is shorthand for lateRate 1. */
  duplicateRate?: number;
  lateRate?: number;
  reorder?: boolean;
  /** true = always, false = never, a number = share. Default 0.5. */
  escapeSlashes?: boolean | number;
  logger?: Logger;
  /** Overrides of providers' fixed test credentials, by provider, field by field. */
  credentials?: Partial<Record<string, Partial<Credentials>>>;
  /** Random source for rates and shares (tests may pin it). Default Math.random. */
  random?: () => number;
}

/** Options of a callback about the merchant account rather than an invoice (the platform's deposits, withdrawals, exchanges). */
export interface AccountCallbackOptions {
  /** The crypto deposited or withdrawn; for exchange the currency sold. Default BTC (EUR for withdrawal_exchange, which sells fiat). */
  currency?: string;
  /** In `currency`. Defaults: 0.01 (crypto) or 100 (fiat). */
  amount?: string;
  /** The other currency of an exchange. Default EUR (BTC for withdrawal_exchange). */
  convertTo?: string;
  /** deposit: the address's foreign_id; withdrawal: the withdrawal's foreign_id. */
  foreignId?: string;
  /** Default `confirmed`; the documents also show `not_confirmed` and `cancelled`. */
  status?: string;
}

/** Inspection view of one invoice / payment request / CryptoSteroid invoice. */
export interface SandboxInvoice {
  provider: string;
  kind: SandboxKind;
  /** The provider's id: integer text for platform invoices, UUID otherwise. */
  id: string;
  /** The merchant's id for it as the provider calls it (platform foreign_id, CryptoSteroid externalId; may be null). */
  foreignId: string | null;
  /** What control endpoints take: the foreign id where the provider keeps it unique (the platform), else the provider's id (CryptoSteroid invoiceId). */
  ref: string;
  /** The provider's own status text. */
  status: string;
  amount: string;
  currency: string;
  /** Sum paid so far, in `currency`. */
  receivedAmount: string;
  /** The crypto the payer pays in, the invoice amount in it (fixed rate table) and what arrived so far in it. */
  payCurrency: string;
  cryptoAmount: string;
  cryptoReceived: string;
  /** Deposit address, once the payer has a currency. */
  address: string | null;
  /** The payments, in the payer's crypto. */
  transactions: Array<{ id: number; txid: string; amount: string; confirmations: number }>;
  paymentUrl: string;
  createdAt: string;
  expiresAt: string | null;
  history: Array<{ status: string; at: string; reason?: string }>;
  /** The create request body as parsed. */
  request: unknown;
}

export interface Delivery {
  seq: number;
  provider: string;
  /** `account`: a callback about the merchant account (deposit, withdrawal, exchange), not an invoice. */
  kind: SandboxKind | 'account';
  /** The body's `type` (invoice, payment_request, deposit, deposit_exchange, withdrawal, ...). */
  callbackType: string;
  /** The invoice's id, or the account callback's root id. */
  invoiceId: string;
  foreignId: string | null;
  /** The status carried in the callback body. */
  callbackStatus: string;
  url: string | null;
  attempt: number;
  /** HTTP status, 'error' for a transport failure, 'no-url' when no target is configured. */
  result: number | 'error' | 'no-url';
  error?: string;
  body: string;
  headers: Record<string, string>;
  duplicate: boolean;
  late: boolean;
  at: string;
}

export interface ProviderStats {
  /** Create requests received (every one, faulted or not). */
  received: number;
  byKind: Record<SandboxKind, number>;
  /** Outcome counts: HTTP status as text, or 'reset' / 'dropped' / 'hang' / 'drip' / 'huge'. */
  byStatus: Record<string, number>;
}

/** `pay-late`: a payment after the invoice ended (the provider's late-payment callback). */
export type SandboxAction = 'pay' | 'pay-partly' | 'pick-currency' | 'confirm' | 'expire' | 'cancel' | 'fail' | 'pay-late';
