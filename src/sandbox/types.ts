/**
 * Public types of the sandbox provider (options, fault rules, inspection records). Internal
 * bookkeeping lives in `store.ts`; these are the shapes tests, benchmarks and the demo see.
 */
import type { Logger } from 'pino';

export type SandboxProvider = 'cryptoprocessing' | 'alphapo' | 'cryptosteroid';
export type PlatformProvider = 'cryptoprocessing' | 'alphapo';
export type SandboxKind = 'invoice' | 'payment_request';
export const SANDBOX_PROVIDERS: readonly SandboxProvider[] = ['cryptoprocessing', 'alphapo', 'cryptosteroid'];

export type FaultKind = 'latency' | '5xx' | '429' | 'reset' | 'commit-then-drop' | 'hang' | 'drip' | 'huge';

/** One fault rule. Without `count` or `rate` it applies to every matching create until cleared. */
export interface FaultRule {
  provider?: SandboxProvider;
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
  /** Which requests it hits: creates (the default) or cancels (`5xx` and `reset` only). */
  /** Which requests the rule targets: creates (default), cancels, or updates (CryptoSteroid's PATCH of the payment method). */
  op?: 'create' | 'cancel' | 'update';
}

// Types, not interfaces, so they read as the plain records of credentials the adapters' `sandbox()` takes.
export type PlatformCredentials = {
  apiKey: string;
  apiSecret: string;
};

export type CryptoSteroidCredentials = {
  apiKey: string;
  merchantId: string;
};

export type SandboxCredentials = {
  cryptoprocessing: PlatformCredentials;
  alphapo: PlatformCredentials;
  cryptosteroid: CryptoSteroidCredentials;
};

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

export interface SandboxOptions {
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
  /** CryptoSteroid cap on unpaid NEW invoices (docs/providers.md 4.5, 6.4). Default 50. */
  cryptosteroidNewCap?: number;
  /**
   * The answer to a create past the cap. CryptoSteroid documents the cap but neither its number nor
   * its answer, so both are settable; default 429 `{statusCode: 429, message: "Too many unpaid
   * invoices in status NEW (limit N)"}` (our wording).
   */
  cryptosteroidCapReply?: { status: number; message: string };
  /** Merchant-account callback URLs for the platform (docs/providers.md 1.5). */
  callbackUrls?: Partial<Record<PlatformProvider, string>>;
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
  /** Enforce the documented HTTPS + domain-name rule on platform URLs (docs/providers.md 1.2). Default true. */
  strictUrls?: boolean;
  logger?: Logger;
  credentials?: Partial<SandboxCredentials>;
  /** Random source for rates and shares (tests may pin it). Default Math.random. */
  random?: () => number;
}

/** Inspection view of one invoice / payment request / CryptoSteroid invoice. */
export interface SandboxInvoice {
  provider: SandboxProvider;
  kind: SandboxKind;
  /** The provider's id: integer text for platform invoices, UUID otherwise. */
  id: string;
  /** foreign_id (platform) or externalId (CryptoSteroid, may be null). */
  foreignId: string | null;
  /** What control endpoints take: foreign_id for the platform, invoiceId for CryptoSteroid. */
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
  provider: SandboxProvider;
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
export type SandboxStats = Record<SandboxProvider, ProviderStats>;

/** `pay-late`: a payment after the invoice ended (the provider's late-payment callback). */
export type SandboxAction = 'pay' | 'pay-partly' | 'pick-currency' | 'confirm' | 'expire' | 'cancel' | 'fail' | 'pay-late';
