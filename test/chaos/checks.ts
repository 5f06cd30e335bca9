/**
 * The checks of a chaos run, shared by `npm run chaos` and the deterministic test. They read a
 * snapshot taken once the run has settled (records, histories, the `invoice-results` queue, the
 * sandbox's invoices, the failed sets, the forged callbacks' answers, every process log) and say,
 * for each guarantee of the README, whether it held and how many orders break it.
 */
import { readFileSync } from 'node:fs';
import type { InvoiceResult } from '../../queues/results.ts';
import type { HistoryEntry, InvoiceRecord } from '../../src/invoice/record.ts';
import { STATUSES, isTerminal, type Status } from '../../src/invoice/state.ts';
import type { SandboxInvoice } from '../../src/sandbox/index.ts';

export type ProviderId = 'cryptoprocessing' | 'alphapo' | 'cryptosteroid';
export type Kind = 'invoice' | 'payment_request';

export interface OrderRef {
  provider: ProviderId;
  kind: Kind;
  foreign_id: string;
}

export interface PublishedResult {
  id: string;
  name: string;
  /** When the relay added it to `invoice-results` (ms). */
  timestamp: number;
  data: InvoiceResult;
}

export type ForgedKind = 'bad-signature' | 'wrong-secret' | 'tampered' | 'no-signature' | 'wrong-key' | 'signed-malformed' | 'cs-wrong-token' | 'cs-unknown' | 'replay';

/** What each forged (or replayed) callback must be answered with. */
export const FORGED_EXPECT: Record<ForgedKind, number[]> = {
  'bad-signature': [401],
  'wrong-secret': [401],
  tampered: [401],
  'no-signature': [401],
  'wrong-key': [401],
  'signed-malformed': [400],
  'cs-wrong-token': [401],
  'cs-unknown': [401],
  // A byte-for-byte redelivery is authentic: stored once (same job), never applied twice.
  replay: [200],
};

export interface ForgedAnswer {
  kind: ForgedKind;
  /** HTTP status, or 0 when no answer came (e.g. while Redis restarted). 503 means "not stored". */
  status: number;
}

export interface Snapshot {
  accepted: OrderRef[];
  records: Map<string, InvoiceRecord | null>;
  histories: Map<string, HistoryEntry[]>;
  results: PublishedResult[];
  sandboxInvoices: SandboxInvoice[];
  /** Create jobs in the failed set, by order key, with BullMQ's failed reason. */
  failedCreates: Map<string, string>;
  /** Callback jobs in the failed set (authentic callbacks that could not be applied). */
  failedEvents: number;
  forged: ForgedAnswer[];
  logFiles: string[];
  /** Every secret and personal value that was in play: label -> value. */
  secrets: Map<string, string>;
  /** Patterns no log line may match (e.g. any e-mail address of the run's domain). */
  forbiddenPatterns: RegExp[];
  /** Product processes that exited without being killed by the run. */
  unexpectedExits: string[];
}

export interface Check {
  name: string;
  ok: boolean;
  /** One line: the figure behind the verdict. */
  detail: string;
  /** Up to a few offending orders or lines, for the report. */
  examples: string[];
}

export const orderKey = (o: { provider: string; kind: string; foreign_id: string }): string => `${o.provider}|${o.kind}|${o.foreign_id}`;

const RANK = new Map<Status, number>(STATUSES.map((s, i) => [s, i]));

function check(name: string, bad: string[], detail: string): Check {
  return { name, ok: bad.length === 0, detail, examples: bad.slice(0, 5) };
}

/** The order a provider-side foreign_id belongs to: its own, or the one it was derived from (`<id>~r<n>`, a reissue or a recovered lost answer). */
const baseForeignId = (fid: string): string => fid.replace(/~r\d+$/, '');

/** An invoice a payer could still pay, or did: not ended unpaid (a cancelled orphan ends `failed` at the platform, `CANCELLED` at CryptoSteroid). */
const payable = (inv: SandboxInvoice): boolean => !['failed', 'expired', 'EXPIRED', 'CANCELLED', 'restricted'].includes(inv.status) || inv.transactions.length > 0;

/**
 * Guarantee 1: never more than one payable invoice at the provider for one order. Orphans whose
 * create answer was lost are cancelled and the order goes again under a derived foreign_id: those
 * count for their order, and only while they can be paid.
 */
export function checkPayable(s: Snapshot): { check: Check; histogram: Record<number, number> } {
  const count = new Map<string, number>();
  for (const inv of s.sandboxInvoices) {
    if (inv.foreignId === null || !payable(inv)) continue;
    const k = orderKey({ provider: inv.provider, kind: inv.kind, foreign_id: baseForeignId(inv.foreignId) });
    count.set(k, (count.get(k) ?? 0) + 1);
  }
  const histogram: Record<number, number> = {};
  const bad: string[] = [];
  for (const o of s.accepted) {
    const n = count.get(orderKey(o)) ?? 0;
    histogram[n] = (histogram[n] ?? 0) + 1;
    if (n > 1) bad.push(`${orderKey(o)}: ${n} invoices at the provider`);
  }
  const max = Math.max(0, ...Object.keys(histogram).map(Number));
  return { check: check('at most one payable invoice per (provider, foreign_id)', bad, `max ${max} per order; ${bad.length} orders with more than one`), histogram };
}

/** Guarantee 2, part 1: every order the API accepted has its record. */
export function checkLost(s: Snapshot): Check {
  const bad = s.accepted.filter((o) => !s.records.get(orderKey(o))).map(orderKey);
  return check('no accepted order lost', bad, `${bad.length} of ${s.accepted.length} accepted orders without a record`);
}

export type Settlement = 'terminal' | 'parked' | 'failed-set' | 'open' | 'missing';

export function settlementOf(record: InvoiceRecord | null | undefined, failedReason: string | undefined): Settlement {
  if (!record) return 'missing';
  if (isTerminal(record.status)) return 'terminal';
  if (record.reconcile) return 'parked';
  if (failedReason !== undefined && record.status === 'queued') return 'failed-set';
  return 'open';
}

/** Guarantee 2, part 2: every accepted order ended, or waits for an operator with a reason. */
export function checkSettled(s: Snapshot): { check: Check; counts: Record<Settlement, number> } {
  const counts: Record<Settlement, number> = { terminal: 0, parked: 0, 'failed-set': 0, open: 0, missing: 0 };
  const bad: string[] = [];
  for (const o of s.accepted) {
    const k = orderKey(o);
    const rec = s.records.get(k);
    const state = settlementOf(rec, s.failedCreates.get(k));
    counts[state] += 1;
    if (state === 'open' || state === 'missing') bad.push(`${k}: ${rec ? `${rec.status}, no reason to park it` : 'no record'}`);
    if (state === 'parked' && !rec?.reconcile?.trim()) bad.push(`${k}: parked without a reason`);
    if (state === 'failed-set' && !s.failedCreates.get(k)?.trim()) bad.push(`${k}: in the failed set without a reason`);
  }
  const n = s.accepted.length || 1;
  const share = (((counts.terminal + counts.parked + counts['failed-set']) / n) * 100).toFixed(1);
  return {
    check: check(
      'every order terminal or parked with a reason',
      bad,
      `${share} % settled (terminal ${counts.terminal}, parked ${counts.parked}, failed set ${counts['failed-set']}, open ${counts.open}, missing ${counts.missing})`,
    ),
    counts,
  };
}

/**
 * Guarantee 3: each applied transition (the record's history) is in `invoice-results` exactly
 * once, nothing else is, and per invoice the results form one forward chain, published in order.
 */
export function checkResults(s: Snapshot): Check {
  const byOrder = new Map<string, PublishedResult[]>();
  const perStatus = new Map<string, number>();
  // Exceptions and parkings are results of their own (the status does not move): each once, by its id.
  const events = s.results.filter((r) => (r.data.event ?? 'transition') !== 'transition');
  const eventIds = new Map<string, number>();
  for (const r of events) eventIds.set(r.data.event_id, (eventIds.get(r.data.event_id) ?? 0) + 1);
  for (const r of s.results) {
    if ((r.data.event ?? 'transition') !== 'transition') continue;
    const k = orderKey(r.data);
    let list = byOrder.get(k);
    if (!list) byOrder.set(k, (list = []));
    list.push(r);
    const ks = `${k}|${r.data.status}`;
    perStatus.set(ks, (perStatus.get(ks) ?? 0) + 1);
  }
  const bad: string[] = [];
  for (const [ks, n] of perStatus) if (n !== 1) bad.push(`${ks}: ${n} results`);
  for (const [id, n] of eventIds) if (n !== 1) bad.push(`${id}: published ${n} times`);
  const acceptedKeys = new Set(s.accepted.map(orderKey));
  for (const k of byOrder.keys()) if (!acceptedKeys.has(k)) bad.push(`${k}: results for an order nobody accepted`);
  for (const o of s.accepted) {
    const k = orderKey(o);
    // Transitions only: an entry whose status did not move records a repair or a recovered lost answer.
    const moves = (s.histories.get(k) ?? []).filter((h) => h.from !== null && h.from !== h.to);
    const results = [...(byOrder.get(k) ?? [])].sort(
      (a, b) => a.data.occurred_at.localeCompare(b.data.occurred_at) || (RANK.get(a.data.status) ?? 0) - (RANK.get(b.data.status) ?? 0),
    );
    const want = moves.map((m) => `${m.from}->${m.to}`);
    const got = results.map((r) => `${r.data.previous_status}->${r.data.status}`);
    if (want.join(',') !== got.join(',')) {
      bad.push(`${k}: transitions [${want.join(', ')}] but results [${got.join(', ')}]`);
      continue;
    }
    for (let i = 0; i < results.length; i++) {
      const r = results[i] as PublishedResult;
      const prev = results[i - 1];
      if (prev && r.data.previous_status !== prev.data.status) bad.push(`${k}: ${prev.data.status} then ${r.data.previous_status}->${r.data.status}`);
      if (prev && r.timestamp < prev.timestamp) bad.push(`${k}: ${r.data.status} published before ${prev.data.status}`);
      const from = r.data.previous_status;
      if (from !== 'queued' && (RANK.get(r.data.status) ?? 0) <= (RANK.get(from) ?? 0)) bad.push(`${k}: backwards ${from}->${r.data.status}`);
    }
  }
  return check(
    'each transition published exactly once, in order, never backwards',
    bad,
    `${s.results.length - events.length} transitions and ${events.length} exceptions or parkings for ${byOrder.size} orders; ${bad.length} problems`,
  );
}

/** The provider's final word on an invoice, in our statuses (docs/providers.md 5). */
export function providerOutcome(inv: SandboxInvoice): Status | null {
  const last = inv.history[inv.history.length - 1];
  if (inv.provider === 'cryptosteroid') {
    return ({ PAID: 'paid', EXPIRED: 'expired', CANCELLED: 'cancelled' } as Record<string, Status>)[inv.status] ?? null;
  }
  if (inv.kind === 'payment_request') {
    return ({ paid: 'paid', expired: 'expired', failed: 'failed' } as Record<string, Status>)[inv.status] ?? null;
  }
  if (inv.status === 'confirmed') return 'paid';
  if (inv.status !== 'failed') return null;
  const text = (last?.reason ?? '').toLowerCase().replace(/\.$/, '');
  if (text === 'timer expired. user not paid') return 'expired';
  if (text === 'invoice cancelled') return 'cancelled';
  return 'failed';
}

/**
 * Guarantees 3 and 4 seen from the money: we never call an order paid that the provider did not
 * take payment for (forged, tampered or late callbacks), and where the provider ended an invoice
 * our record ended the same way, unless it is parked for an operator.
 */
export function checkAgreement(s: Snapshot): { check: Check; falsePaid: number } {
  const atProvider = new Map<string, SandboxInvoice>();
  for (const inv of s.sandboxInvoices) {
    if (inv.foreignId !== null) atProvider.set(orderKey({ provider: inv.provider, kind: inv.kind, foreign_id: inv.foreignId }), inv);
  }
  const bad: string[] = [];
  let falsePaid = 0;
  for (const o of s.accepted) {
    const k = orderKey(o);
    const rec = s.records.get(k);
    if (!rec) continue;
    // The invoice the order holds now: under its own foreign_id, or the derived one it went again under.
    const inv = atProvider.get(orderKey({ provider: o.provider, kind: o.kind, foreign_id: rec.provider_foreign_id ?? o.foreign_id }));
    const theirs = inv ? providerOutcome(inv) : null;
    if (rec.status === 'paid' && theirs !== 'paid') {
      falsePaid += 1;
      bad.push(`${k}: paid here, ${inv ? inv.status : 'no invoice'} at the provider`);
      continue;
    }
    if (!inv && rec.provider_invoice_id) bad.push(`${k}: holds provider invoice ${rec.provider_invoice_id} the provider does not have`);
    if (theirs && !rec.reconcile && isTerminal(rec.status) && rec.status !== theirs) bad.push(`${k}: ${rec.status} here, ${theirs} at the provider`);
    if (theirs && !rec.reconcile && !isTerminal(rec.status)) bad.push(`${k}: still ${rec.status} here, ${theirs} at the provider`);
  }
  return { check: check('final status agrees with the provider (never paid unless paid)', bad, `${falsePaid} paid without payment; ${bad.length} disagreements`), falsePaid };
}

/** Guarantee 4: every forged callback was refused; replays were taken as the same message. */
export function checkForged(s: Snapshot): { check: Check; tally: Record<string, Record<string, number>> } {
  const tally: Record<string, Record<string, number>> = {};
  const bad: string[] = [];
  for (const f of s.forged) {
    const t = (tally[f.kind] ??= {});
    t[String(f.status)] = (t[String(f.status)] ?? 0) + 1;
    // No answer, or 503 "not stored, send again" while Redis restarts, is not an acceptance;
    // anything else must be the expected code.
    if (f.status !== 0 && f.status !== 503 && !FORGED_EXPECT[f.kind].includes(f.status)) bad.push(`${f.kind}: answered ${f.status}`);
  }
  const refused = s.forged.filter((f) => f.kind !== 'replay' && f.status >= 400 && f.status < 500).length;
  const forgedTotal = s.forged.filter((f) => f.kind !== 'replay').length;
  return {
    check: check('forged and malformed callbacks refused, replays deduplicated', bad, `${refused} of ${forgedTotal} forged refused with 4xx; ${bad.length} unexpected answers`),
    tally,
  };
}

/**
 * Guarantee 6: no secret or personal value in any line any process wrote. Many same-length
 * secrets (callback signatures, per-order secrets) are matched through a set of every window of
 * that length in the log's identifier-like runs, so thousands of them cost one pass.
 */
export function checkLogs(s: Snapshot): { check: Check; bytes: number; lines: number } {
  const bad: string[] = [];
  const plain: Array<[string, string]> = [];
  const byLength = new Map<number, Map<string, string>>();
  const TOKEN = /^[A-Za-z0-9_-]+$/;
  for (const [label, value] of s.secrets) {
    if (!value) continue;
    if (TOKEN.test(value) && value.length >= 16) {
      let m = byLength.get(value.length);
      if (!m) byLength.set(value.length, (m = new Map()));
      m.set(value, label);
    } else {
      plain.push([label, value]);
    }
  }
  const lengths = [...byLength.keys()];
  const minLen = Math.min(...lengths, Number.MAX_SAFE_INTEGER);
  const runs = new RegExp(`[A-Za-z0-9_-]{${Number.isFinite(minLen) && minLen < Number.MAX_SAFE_INTEGER ? minLen : 16},}`, 'g');
  let bytes = 0;
  let lines = 0;
  for (const file of s.logFiles) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    bytes += Buffer.byteLength(text);
    lines += text.split('\n').length - 1;
    const name = file.split(/[\\/]/).pop();
    for (const [label, value] of plain) if (text.includes(value)) bad.push(`${label} found in ${name}`);
    for (const re of s.forbiddenPatterns) {
      const m = re.exec(text);
      re.lastIndex = 0;
      if (m) bad.push(`${re} matched "${m[0]}" in ${name}`);
    }
    if (lengths.length) {
      for (const m of text.matchAll(runs)) {
        const run = m[0];
        for (const len of lengths) {
          const set = byLength.get(len) as Map<string, string>;
          for (let i = 0; i + len <= run.length; i++) {
            const label = set.get(run.slice(i, i + len));
            if (label) bad.push(`${label} found in ${name}`);
          }
        }
      }
    }
  }
  const unique = [...new Set(bad)];
  return {
    check: check(
      'no secret or personal data in any log',
      unique,
      `${s.secrets.size} values over ${lines} lines (${(bytes / 1e6).toFixed(1)} MB) in ${s.logFiles.length} files: ${unique.length} found`,
    ),
    bytes,
    lines,
  };
}

/** No process died on its own, and none logged a fatal error or an uncaught exception. */
export function checkProcesses(s: Snapshot): Check {
  const bad = [...s.unexpectedExits];
  for (const file of s.logFiles) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const name = file.split(/[\\/]/).pop();
    for (const line of text.split('\n')) {
      if (line.includes('"level":60') || line.includes('uncaught exception') || line.includes('unhandled promise rejection')) {
        bad.push(`${name}: ${line.slice(0, 300)}`);
      }
    }
  }
  return check('no process crashed on its own', bad, `${bad.length} unexpected exits or fatal lines`);
}

export function runChecks(s: Snapshot): { checks: Check[]; figures: Record<string, unknown> } {
  const payable = checkPayable(s);
  const settled = checkSettled(s);
  const agreement = checkAgreement(s);
  const forged = checkForged(s);
  const logs = checkLogs(s);
  const checks = [payable.check, checkLost(s), checkResults(s), settled.check, agreement.check, forged.check, logs.check, checkProcesses(s)];
  return {
    checks,
    figures: {
      invoicesPerOrder: payable.histogram,
      settlement: settled.counts,
      falsePaid: agreement.falsePaid,
      forged: forged.tally,
      logBytes: logs.bytes,
      logLines: logs.lines,
      failedEvents: s.failedEvents,
    },
  };
}
