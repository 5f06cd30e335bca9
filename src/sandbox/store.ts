/**
 * In-memory state of the sandbox: one record per invoice (or payment request) of every provider,
 * the foreign-id uniqueness index of providers that keep one (per provider and per kind,
 * docs/providers.md 1.7, 6.10) and request statistics. Checks and inserts are synchronous, so two
 * concurrent creates with one foreign_id can never both succeed (the property the worker relies on).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { KINDS } from '../invoice/order.ts';
import type { ProviderStats, SandboxInvoice, SandboxKind } from './types.ts';
import { fakeAddress } from './currencies.ts';

/** What the store needs to know of a provider (its `SandboxProvider` entry). */
export interface RecordRules {
  /** The kinds it offers, in the order a control command tries them when it names none. */
  readonly kinds: readonly SandboxKind[];
  /**
   * A foreign id names at most one record per kind (the provider refuses a second one), so control
   * commands name records by it; otherwise by the provider's own id.
   */
  readonly uniqueForeignId: boolean;
}

export interface Tx {
  id: number;
  txid: string;
  /** In the payer's currency. */
  amount: string;
  /** The same payment in the invoice currency. */
  fiat: string;
  /** Block confirmations: 0 while in the mempool. */
  confirmations: number;
  at: number;
}

export interface Rec {
  seq: number;
  provider: string;
  kind: SandboxKind;
  id: string;
  foreignId: string | null;
  token: string;
  status: string;
  /** Normalized decimal in `currency`. */
  amount: string;
  currency: string;
  /** The crypto the payer sends, and the invoice amount in it. */
  payCurrency: string;
  expectedCrypto: string;
  received: string;
  sentCrypto: string;
  txs: Tx[];
  address: string | null;
  addressId: string;
  createdAt: number;
  updatedAt: number | null;
  fixedAt: number | null;
  deadline: number | null;
  deadlineTimer?: NodeJS.Timeout;
  request: Record<string, unknown>;
  history: Array<{ status: string; at: string; reason?: string }>;
  /** The statuses in which this record has ended, in the provider's words. */
  terminal: readonly string[];
  /** Provider-family details (platform invoice fields, CryptoSteroid secret, ...). */
  meta: Record<string, unknown>;
}

/** What a provider decides about a new record; `Store.newRecord` adds what every record starts with. */
export type NewRecord = Omit<Rec, 'seq' | 'received' | 'sentCrypto' | 'txs' | 'createdAt' | 'updatedAt' | 'history'>;

let uniqueTokens = 0;
export function newToken(): string {
  uniqueTokens += 1;
  return `${randomBytes(4).toString('base64url')}${uniqueTokens.toString(36)}`;
}

/** Time-ordered UUID in the v7 layout, like the platform's payment-request ids (docs/providers.md 2.2). */
export function uuidV7(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class Store {
  private readonly all: Rec[] = [];
  private readonly unique = new Map<string, Rec>();
  private readonly tokens = new Map<string, Rec>();
  private readonly ids = new Map<string, Rec>();
  private seq = 0;
  // Integer invoice ids like the platform's (e.g. 826900); a random start keeps separate runs apart.
  private nextId = randomInt(100_000, 900_000);
  private nextSmall = randomInt(1000, 9000);

  constructor(private readonly rules: ReadonlyMap<string, RecordRules>) {}

  private static key(provider: string, kind: SandboxKind, foreignId: string): string {
    return `${provider}\u0000${kind}\u0000${foreignId}`;
  }

  platformId(): string {
    return String(this.nextId++);
  }

  /** Small integer ids for addresses and transactions in callback bodies. */
  smallId(): number {
    return this.nextSmall++;
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** A new record (not stored yet: `add`), as every one starts: numbered, nothing received or sent, created `now` in its first status. */
  newRecord(fields: NewRecord, now: number): Rec {
    return {
      seq: this.nextSeq(),
      ...fields,
      received: '0',
      sentCrypto: '0',
      txs: [],
      createdAt: now,
      updatedAt: null,
      history: [{ status: fields.status, at: new Date(now).toISOString() }],
    };
  }

  taken(provider: string, kind: SandboxKind, foreignId: string): boolean {
    return this.unique.has(Store.key(provider, kind, foreignId));
  }

  add(rec: Rec): void {
    this.all.push(rec);
    this.tokens.set(rec.token, rec);
    this.ids.set(`${rec.provider}\u0000${rec.id}`, rec);
    if (this.rules.get(rec.provider)?.uniqueForeignId && rec.foreignId !== null) {
      this.unique.set(Store.key(rec.provider, rec.kind, rec.foreignId), rec);
    }
  }

  byToken(token: string): Rec | undefined {
    return this.tokens.get(token);
  }

  byId(provider: string, id: string): Rec | undefined {
    return this.ids.get(`${provider}\u0000${id}`);
  }

  byForeignId(provider: string, kind: SandboxKind, foreignId: string): Rec | undefined {
    return this.unique.get(Store.key(provider, kind, foreignId));
  }

  /**
   * Finds what a control command names: a foreign id where the provider keeps them unique (the
   * platform's: its kinds in order, invoices first; `kind` disambiguates), else or failing that the
   * provider's own id (a CryptoSteroid invoiceId).
   */
  resolve(provider: string, ref: string, kind?: SandboxKind): Rec | undefined {
    const rules = this.rules.get(provider);
    if (rules?.uniqueForeignId) {
      const kinds: readonly SandboxKind[] = kind ? [kind] : rules.kinds;
      for (const k of kinds) {
        const rec = this.byForeignId(provider, k, ref);
        if (rec) return rec;
      }
    }
    const rec = this.byId(provider, ref);
    return rec && (!kind || rec.kind === kind) ? rec : undefined;
  }

  /** How many invoices of every provider the sandbox holds. */
  size(): number {
    return this.all.length;
  }

  list(provider?: string): Rec[] {
    return provider ? this.all.filter((r) => r.provider === provider) : [...this.all];
  }

  count(provider: string, foreignId: string, kind?: SandboxKind): number {
    return this.all.filter((r) => r.provider === provider && r.foreignId === foreignId && (!kind || r.kind === kind)).length;
  }

  countStatus(provider: string, status: string): number {
    return this.all.filter((r) => r.provider === provider && r.status === status).length;
  }

  /** The inspection view of a record (what tests and the control API see). */
  view(rec: Rec): SandboxInvoice {
    return {
      provider: rec.provider,
      kind: rec.kind,
      id: rec.id,
      foreignId: rec.foreignId,
      ref: this.rules.get(rec.provider)?.uniqueForeignId ? (rec.foreignId ?? rec.id) : rec.id,
      status: rec.status,
      amount: rec.amount,
      currency: rec.currency,
      receivedAmount: rec.received,
      payCurrency: rec.payCurrency,
      cryptoAmount: rec.expectedCrypto,
      cryptoReceived: rec.sentCrypto,
      address: rec.address,
      transactions: rec.txs.map((t) => ({ id: t.id, txid: t.txid, amount: t.amount, confirmations: t.confirmations })),
      paymentUrl: String(rec.meta.paymentUrl ?? ''),
      createdAt: iso(rec.createdAt) as string,
      expiresAt: iso(rec.deadline),
      history: rec.history.map((h) => ({ ...h })),
      request: structuredClone(rec.request),
    };
  }
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The record's deposit address in its payer currency: the same every time for one invoice and currency. */
export function addressFor(rec: Rec): string {
  return fakeAddress(rec.payCurrency, `${rec.provider}:${rec.id}:${rec.payCurrency}`);
}

/** Moves a record to a new status and notes it in its history. */
export function setStatus(rec: Rec, status: string, reason?: string): void {
  rec.status = status;
  rec.updatedAt = Date.now();
  rec.history.push(reason ? { status, at: new Date().toISOString(), reason } : { status, at: new Date().toISOString() });
}

export class Stats {
  private data: Record<string, ProviderStats>;

  constructor(providers: readonly string[]) {
    const one = (): ProviderStats => ({ received: 0, byKind: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<SandboxKind, number>, byStatus: {} });
    this.data = Object.fromEntries(providers.map((p) => [p, one()]));
  }

  received(provider: string, kind: SandboxKind): void {
    const s = this.data[provider];
    if (!s) return;
    s.received += 1;
    s.byKind[kind] += 1;
  }

  outcome(provider: string, label: string | number): void {
    const s = this.data[provider];
    if (!s) return;
    const k = String(label);
    s.byStatus[k] = (s.byStatus[k] ?? 0) + 1;
  }

  snapshot(): Record<string, ProviderStats> {
    return structuredClone(this.data);
  }
}
