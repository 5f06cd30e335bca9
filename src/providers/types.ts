/**
 * The ProviderAdapter interface: our inner boundary. An adapter turns a normalized order into the
 * provider's request, the provider's answers and callbacks into normalized results, and the
 * provider's errors into the taxonomy of `src/errors.ts`. Workers and the state machine never see
 * a provider-shaped type.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FieldIssue } from '../errors.ts';
import type { Kind, Order, ProviderId } from '../invoice/order.ts';
import type { Status } from '../invoice/state.ts';
import type { HttpClient } from './http.ts';

/** What a successful create tells us. */
export interface CreateResult {
  /** The provider's id: numeric for platform invoices, UUID for payment requests and CryptoSteroid. Always a string here. */
  providerInvoiceId: string;
  paymentUrl: string;
  /** Normalized status right after creation (platform timed invoices start `pending`). */
  status: Extract<Status, 'created' | 'pending'>;
  /** The provider's raw status text, kept for operators. */
  providerStatus: string;
  /** Amount and currency as the provider echoed them (decimal strings). */
  amount: string;
  currency: string;
  /** When the provider will expire the invoice, when it says (ISO-8601). */
  expiresAt?: string;
}

/** Per-order context the worker prepares before the request goes out. */
export interface CreateContext {
  /** Per-order secret (CryptoSteroid `secret`, echoed in the webhook `Token` header). */
  secret: string;
  /** Where the provider should POST callbacks for this order, when it takes one per order. */
  callbackUrl?: string;
  signal?: AbortSignal;
}

/** A provider's word on an invoice (callback body or lookup answer), normalized. */
export interface ProviderUpdate {
  foreignId?: string;
  providerInvoiceId?: string;
  providerStatus: string;
  /** `unresolved` when the provider status is unknown: parked for an operator, never guessed. */
  status: Status | 'unresolved';
  receivedAmount?: string;
  receivedCurrency?: string;
  /** Provider's reason text (failure reason, partial payment note). */
  reason?: string;
  /** Identifies this exact provider message, for dedupe (CONTRACT.md 6.16). */
  dedupeKey: string;
}

export interface ProviderAdapter {
  readonly id: ProviderId;
  readonly kinds: readonly Kind[];
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
}

export interface InvoiceRef {
  kind: Kind;
  foreignId: string;
  providerInvoiceId?: string;
}

export interface AdapterDeps {
  http: HttpClient;
}
