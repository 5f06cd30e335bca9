/**
 * The invoice page for operators at `/admin/invoices`, beside Bull Board and behind its sign-in
 * (the same middleware, src/http/admin.ts `adminSignIn`): Bull Board shows jobs, this shows an
 * invoice. `?q=` finds one by its foreign_id (in every configured lane; a reissued order also by
 * its derived foreign_id), its provider invoice id or a txid (the store's lookup keys,
 * src/invoice/store.ts `writeLookup`), and the page shows the record: status, money, transactions,
 * why it is parked, its events and its history with who did what.
 *
 * An operator (role `operator`) gets the repairs that apply to the record's state as forms. They
 * post to routes here that run the same implementation as the API, the CLI and the repairs queue
 * (src/invoice/repair.ts, src/ops/retry.ts); the actor is the signed-in user, and the form's "note" is
 * a note beside it. A 400 shows the form again with each wrong field named next to it; a refusal
 * (409) shows its reason. A viewer sees the record and no forms, and any POST of theirs is refused.
 *
 * Server-rendered HTML, every value escaped, no script at all, no external resource: the
 * Content-Security-Policy allows only this page's own inline style (by nonce) and form posts to
 * itself. Because the browser resends Basic credentials by itself, a POST must come from this
 * page (Origin or Sec-Fetch-Site), so another site cannot make a signed-in operator repair.
 */
import { randomBytes } from 'node:crypto';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import { repairDeps } from '../ops/repairs.ts';
import { zodIssues, type FieldIssue } from '../errors.ts';
import { AbandonSchema, AcceptSchema, AttachSchema, CancelUnavailable, ReissueSchema, abandon, acceptPayment, attach, reissue, type RepairOutcome } from '../invoice/repair.ts';
import { isTerminal } from '../invoice/state.ts';
import { awaitsAcceptance, type HistoryEntry, type InvoiceRecord } from '../invoice/record.ts';
import type { InvoiceStore } from '../invoice/store.ts';
import type { TrackSettings } from '../invoice/track.ts';
import type { Lanes } from '../lanes/lane.ts';
import { retrySubmission } from '../ops/retry.ts';
import type { Metrics } from '../ops/metrics.ts';
import { mayOperate, type AdminRole } from '../access/admin-users.ts';
import { ADMIN_PATH } from './admin.ts';

export const INVOICES_PATH = '/admin/invoices';

export interface InvoicePageDeps {
  store: InvoiceStore;
  lanes: Lanes;
  log: Logger;
  track: TrackSettings;
  metrics?: Pick<Metrics, 'operatorRetry'>;
}

/** Where the page's repairs come from, in the audit lines (the history names `operator:<user>`). */
const VIA = 'invoice-page';
/** Longest search text: far beyond a foreign_id (255), a provider id or a txid. */
const MAX_QUERY = 512;

type Action = 'abandon' | 'attach' | 'reissue' | 'accept' | 'retry';
const ACTIONS: readonly Action[] = ['abandon', 'attach', 'reissue', 'accept', 'retry'];

const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const recordPath = (r: Pick<InvoiceRecord, 'lane' | 'foreign_id'>): string => `${INVOICES_PATH}/${encodeURIComponent(r.lane)}/${encodeURIComponent(r.foreign_id)}`;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f4f6f9}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
header a{color:#9cc3ff}header .who{margin-left:auto;color:#c8d0dc}
main{padding:16px 20px;max-width:1100px}
section{background:#fff;border:1px solid #d8dde6;border-radius:6px;padding:12px 16px;margin:0 0 14px}
h1{font-size:18px;margin:0}h2{font-size:15px;margin:0 0 8px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}dt{color:#5a6475}dd{margin:0;word-break:break-all}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e6e9ef;vertical-align:top;word-break:break-all}
.status{font-weight:600}.parked{color:#a15c00}.error{color:#b00020;margin:2px 0 0}.notice{color:#11672e}
form.repair{border-top:1px solid #e6e9ef;padding:10px 0}form.repair:first-of-type{border-top:0}
label{display:block;margin:4px 0}input[type=text],input[type=url]{width:28em;max-width:100%}
input[aria-invalid=true]{border-color:#b00020}.alert{background:#fdecee;border:1px solid #f3b5bd;padding:8px 12px;border-radius:4px}
`;

interface PageState {
  user: string;
  role: string;
  q?: string;
  /** A repair's refusal (409) or an outcome to announce. */
  alert?: string;
  notice?: string;
  /** The form that failed (400), what was typed in it, and its issues by field. */
  form?: { action: Action; values: Record<string, string>; issues: FieldIssue[] };
}

function layout(res: Response, title: string, state: PageState, body: string): string {
  const nonce = res.locals.cspNonce as string;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · invoice worker</title><style nonce="${nonce}">${STYLE}</style></head>
<body><header><h1>Invoices</h1><a href="${ADMIN_PATH}/">Bull Board</a>
<span class="who" id="signed-in">signed in as ${esc(state.user)} (${esc(state.role)})</span></header>
<main>
<section><form method="get" action="${INVOICES_PATH}" role="search">
<label for="q">Find an invoice by foreign_id, provider invoice id or txid</label>
<input type="text" id="q" name="q" value="${esc(state.q ?? '')}" maxlength="${MAX_QUERY}" required> <button type="submit">Find</button>
</form></section>
${state.notice ? `<p class="notice" id="notice" role="status">${esc(state.notice)}</p>` : ''}
${state.alert ? `<p class="alert" id="refusal" role="alert">${esc(state.alert)}</p>` : ''}
${body}
</main></body></html>`;
}

const dash = (v: unknown): string => (v === null || v === undefined || v === '' ? '—' : esc(v));
const money = (amount: string | null, currency: string | null): string => (amount === null ? '—' : `${esc(amount)} ${esc(currency ?? '')}`);
const at = (ms: number | null): string => (ms === null ? '—' : esc(new Date(ms).toISOString()));

function table(id: string, head: string[], rows: string[][], empty: string): string {
  if (!rows.length) return `<p id="${id}" class="empty">${esc(empty)}</p>`;
  return `<table id="${id}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function recordSection(r: InvoiceRecord, history: HistoryEntry[]): string {
  const field = (name: string, label: string, value: string): string => `<dt>${esc(label)}</dt><dd data-field="${name}">${value}</dd>`;
  const main = [
    field('status', 'Status', `<span class="status">${esc(r.status)}</span>${r.inferred ? ` (inferred: ${esc(r.inferred)})` : ''}`),
    field('lane', 'Lane', esc(r.lane)),
    field('kind', 'Kind', esc(r.kind)),
    field('foreign_id', 'foreign_id', esc(r.foreign_id)),
    ...(r.provider_foreign_id ? [field('provider_foreign_id', 'Provider-side foreign_id', esc(r.provider_foreign_id))] : []),
    ...(r.replaced_foreign_ids.length ? [field('replaced_foreign_ids', 'Replaced foreign_ids', esc(r.replaced_foreign_ids.join(', ')))] : []),
    field('provider_invoice_id', 'Provider invoice id', dash(r.provider_invoice_id)),
    field('provider_status', 'Provider status', dash(r.provider_status)),
    field('payment_url', 'Payment URL', dash(r.payment_url)),
    field('amount', 'Amount', money(r.amount, r.currency)),
    field('received', 'Received', money(r.received_amount, r.received_currency)),
    field('settled', 'Settled', money(r.settled_amount, r.settled_currency)),
    field('reconcile', 'Parked', r.reconcile ? `<span class="parked">${esc(r.reconcile)}</span>` : '—'),
    field('reason', 'Reason', dash(r.reason)),
    field('last_error', 'Last error', dash(r.last_error)),
    field('submitting', 'Request in flight since', at(r.submitting)),
    field('submit_attempts', 'Create attempts', esc(r.submit_attempts)),
    field('accepted_at', 'Accepted', dash(r.accepted_at)),
    field('opened_at', 'Opened at the provider', at(r.opened_at)),
    field('expires_at', 'Expires', dash(r.expires_at)),
    field('updated_at', 'Last change', dash(r.updated_at)),
  ].join('');
  const transactions = table(
    'transactions',
    ['txid', 'amount', 'currency', 'network', 'confirmations'],
    r.transactions.map((t) => [esc(t.txid), dash(t.amount), esc(t.currency), dash(t.network), dash(t.confirmations)]),
    'no transactions',
  );
  const fees = table(
    'fees',
    ['type', 'amount', 'currency'],
    r.fees.map((f) => [esc(f.type), esc(f.amount), esc(f.currency)]),
    'no fees stated',
  );
  const payTo = r.pay_to
    ? `<dl id="pay_to">${field('pay_to.address', 'Address', esc(r.pay_to.address))}${field('pay_to.amount', 'Amount', money(r.pay_to.amount, r.pay_to.currency))}${field('pay_to.network', 'Network', dash(r.pay_to.network))}</dl>`
    : '<p id="pay_to" class="empty">no payment instructions stated</p>';
  const events = table(
    'events',
    ['at', 'kind', 'id', 'detail'],
    r.events.map(({ at: when, kind, id, ...detail }) => [esc(when), esc(kind), esc(id), esc(JSON.stringify(detail))]),
    'no exceptions or parkings',
  );
  const hist = table(
    'history',
    ['at', 'from', 'to', 'by', 'reason'],
    history.map((h) => [esc(h.at), dash(h.from), esc(h.to), esc(h.source), dash(h.reason)]),
    'no history',
  );
  return `<section id="record"><h2>${esc(r.lane)} / ${esc(r.foreign_id)}</h2><dl>${main}</dl></section>
<section><h2>Transactions</h2>${transactions}</section>
<section><h2>Fees</h2>${fees}<h2>Pay to</h2>${payTo}</section>
<section><h2>Events (exceptions, parkings, payments)</h2>${events}</section>
<section><h2>History</h2>${hist}</section>`;
}

/** The repairs that apply to the record as it is (the implementation decides again, under its compare-and-set). */
export function applicableRepairs(r: InvoiceRecord, uniqueForeignId: boolean): Action[] {
  const out: Action[] = [];
  if (!isTerminal(r.status)) out.push('abandon');
  if (r.status === 'queued') {
    out.push('attach');
    if (uniqueForeignId) out.push('reissue');
    out.push('retry');
  }
  if (!isTerminal(r.status) && awaitsAcceptance(r)) out.push('accept');
  return out;
}

const ACTION_TEXT: Record<Action, { title: string; help: string; button: string }> = {
  abandon: { title: 'Abandon', help: 'End the order for good (cancelled at the provider first, where it can cancel).', button: 'Abandon' },
  attach: { title: 'Attach', help: 'Give the order the invoice found at the provider: its id and https payment URL.', button: 'Attach' },
  reissue: { title: 'Reissue', help: 'Send the order again as a new invoice under a derived foreign_id.', button: 'Reissue' },
  accept: { title: 'Accept payment', help: 'Take the payment the provider called complete as paid, as it is.', button: 'Accept' },
  retry: { title: 'Retry the submission', help: 'Send the create request again (parked: only once you checked the provider holds no invoice).', button: 'Retry' },
};

function repairForms(r: InvoiceRecord, actions: Action[], state: PageState): string {
  if (!actions.length) return '<section id="repairs"><h2>Repairs</h2><p class="empty">no repair applies to this state</p></section>';
  const forms = actions.map((action) => {
    const failed = state.form?.action === action ? state.form : undefined;
    const value = (name: string, fallback = ''): string => esc(failed?.values[name] ?? fallback);
    const issue = (name: string): string => {
      const messages = failed?.issues.filter((i) => i.field === name || (name === 'form' && !FORM_FIELDS[action].includes(i.field))).map((i) => i.message) ?? [];
      return messages.length ? `<p class="error" id="${action}-${name}-error" data-error-for="${name}">${esc(messages.join('; '))}</p>` : '';
    };
    const invalid = (name: string): string => (failed?.issues.some((i) => i.field === name) ? ` aria-invalid="true" aria-describedby="${action}-${name}-error"` : '');
    const text = (name: string, label: string, type = 'text'): string =>
      `<label>${esc(label)} <input type="${type}" name="${name}" value="${value(name)}"${invalid(name)}></label>${issue(name)}`;
    const fields: string[] = [];
    if (action === 'attach') fields.push(text('provider_invoice_id', 'Provider invoice id'), text('payment_url', 'Payment URL'));
    if (action === 'abandon') {
      const status = failed?.values.status === 'failed' ? 'failed' : 'cancelled';
      fields.push(
        `<label>Ends as <select name="status"${invalid('status')}><option value="cancelled"${status === 'cancelled' ? ' selected' : ''}>cancelled</option><option value="failed"${status === 'failed' ? ' selected' : ''}>failed</option></select></label>${issue('status')}`,
      );
    }
    if (action === 'retry' && r.reconcile) {
      fields.push(
        `<label><input type="checkbox" name="confirm_not_created" value="true"${failed?.values.confirm_not_created ? ' checked' : ''}${invalid('confirm_not_created')}> I checked at the provider: it holds no invoice for this order</label>${issue('confirm_not_created')}`,
      );
    }
    if (action !== 'retry') fields.push(text('reason', 'Reason (why, in your words)'));
    fields.push(text('note', 'Note (optional)'));
    return `<form class="repair" id="repair-${action}" method="post" action="${recordPath(r)}/${action}">
<h3>${esc(ACTION_TEXT[action].title)}</h3><p>${esc(ACTION_TEXT[action].help)}</p>${issue('form')}
${fields.join('\n')}
<button type="submit">${esc(ACTION_TEXT[action].button)}</button></form>`;
  });
  return `<section id="repairs"><h2>Repairs</h2>${forms.join('\n')}</section>`;
}

/** The fields each form has (an issue about anything else is shown at the top of the form). */
const FORM_FIELDS: Record<Action, string[]> = {
  abandon: ['status', 'reason', 'note'],
  attach: ['provider_invoice_id', 'payment_url', 'reason', 'note'],
  reissue: ['reason', 'note'],
  accept: ['reason', 'note'],
  retry: ['confirm_not_created', 'note'],
};

/** A strict CSP with a fresh nonce for the page's one inline style; no script is ever allowed. */
const securityHeaders: RequestHandler = (_req, res, next) => {
  const nonce = randomBytes(16).toString('base64');
  res.locals.cspNonce = nonce;
  res.set({
    'Content-Security-Policy': `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
  next();
};

/**
 * A POST must come from this page: the browser adds Basic credentials to any request to this
 * origin, a form on another site included. Browsers send `Origin` with every POST (and
 * `Sec-Fetch-Site`); one naming another host is refused, and so is a POST without either.
 */
const sameOrigin: RequestHandler = (req, res, next) => {
  const site = req.get('sec-fetch-site');
  const origin = req.get('origin');
  let ok = site === 'same-origin';
  if (!site && origin) {
    try {
      ok = new URL(origin).host === req.get('host');
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    res.status(403).type('text/plain').send('refused: a repair must be posted from the invoice page itself');
    return;
  }
  next();
};

function userOf(res: Response): { user: string; role: string; operator: boolean } {
  const role: AdminRole = res.locals.adminRole === 'operator' ? 'operator' : 'viewer';
  return { user: String(res.locals.adminUser ?? 'anonymous'), role, operator: mayOperate(role) };
}

/** Every record the text names: a foreign_id in any lane (or a reissued one's derived id), a provider invoice id, a txid. */
async function find(deps: InvoicePageDeps, q: string): Promise<InvoiceRecord[]> {
  const found = new Map<string, InvoiceRecord>();
  await Promise.all(
    [...deps.lanes.keys()].map(async (lane) => {
      const r = (await deps.store.get(lane, q)) ?? (await deps.store.aliasOf(lane, q).then((fid) => (fid ? deps.store.get(lane, fid) : null)));
      if (r) found.set(r.id, r);
    }),
  );
  for (const id of await deps.store.lookup(q)) {
    if (found.has(id)) continue;
    const r = await deps.store.getById(id);
    if (r) found.set(id, r);
  }
  return [...found.values()];
}

export function invoicePageRoutes(deps: InvoicePageDeps): Router {
  const r = Router();
  const repairs = repairDeps({ store: deps.store, lanes: deps.lanes, log: deps.log, track: deps.track });
  const retryDeps = { store: deps.store, lanes: deps.lanes, log: deps.log, onRetried: (n: number) => deps.metrics?.operatorRetry(VIA, n) };
  r.use(securityHeaders);

  const page = (res: Response, status: number, title: string, state: PageState, body: string): void => {
    res
      .status(status)
      .type('html')
      .send(layout(res, title, state, body));
  };

  async function showRecord(req: Request, res: Response, status: number, record: InvoiceRecord, extra: Partial<PageState> = {}): Promise<void> {
    const who = userOf(res);
    const state: PageState = { user: who.user, role: who.role, q: typeof req.query.q === 'string' ? req.query.q : record.foreign_id, ...extra };
    const history = await deps.store.history(record.id);
    const lane = deps.lanes.get(record.lane);
    const forms = who.operator ? repairForms(record, applicableRepairs(record, lane?.adapter.uniqueForeignId ?? false), state) : '';
    page(res, status, `${record.lane} / ${record.foreign_id}`, state, recordSection(record, history) + forms);
  }

  r.get('/', async (req, res) => {
    const who = userOf(res);
    const raw = req.query.q;
    const state: PageState = { user: who.user, role: who.role };
    if (raw === undefined) return page(res, 200, 'Find an invoice', state, '');
    if (typeof raw !== 'string' || raw.length > MAX_QUERY || raw.includes('\u0000')) {
      return page(res, 400, 'Find an invoice', { ...state, alert: `q must be one text of at most ${MAX_QUERY} characters` }, '');
    }
    const q = raw.trim();
    state.q = q;
    if (!q) return page(res, 400, 'Find an invoice', { ...state, alert: 'q is empty: type a foreign_id, a provider invoice id or a txid' }, '');
    const found = await find(deps, q);
    if (found.length === 1) return showRecord(req, res, 200, found[0] as InvoiceRecord);
    if (!found.length) return page(res, 404, 'Not found', { ...state, alert: 'No invoice found by that foreign_id, provider invoice id or txid (in any lane).' }, '');
    const list = table(
      'matches',
      ['lane', 'foreign_id', 'status', 'provider invoice id'],
      found.map((m) => [esc(m.lane), `<a href="${esc(recordPath(m))}">${esc(m.foreign_id)}</a>`, esc(m.status), dash(m.provider_invoice_id)]),
      '',
    );
    page(res, 200, 'Several invoices', state, `<section><h2>${found.length} invoices match</h2>${list}</section>`);
  });

  /** The lane and record the path names, or a 404 page (answered here). */
  async function target(req: Request, res: Response): Promise<InvoiceRecord | null> {
    const lane = String(req.params.lane);
    const record = deps.lanes.has(lane) ? await deps.store.get(lane, String(req.params.foreign_id)) : null;
    if (!record) {
      const who = userOf(res);
      page(res, 404, 'Not found', { user: who.user, role: who.role, alert: 'No such invoice (or no such lane here).' }, '');
    }
    return record;
  }

  r.get('/:lane/:foreign_id', async (req, res) => {
    const record = await target(req, res);
    if (!record) return;
    const done = typeof req.query.done === 'string' && (ACTIONS as readonly string[]).includes(req.query.done) ? req.query.done : undefined;
    await showRecord(req, res, 200, record, done ? { notice: `${ACTION_TEXT[done as Action].title}: done.` } : {});
  });

  r.post('/:lane/:foreign_id/:action', sameOrigin, express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 }), async (req, res) => {
    const who = userOf(res);
    if (!who.operator) {
      res.status(403).type('text/plain').send('repairs need the operator role (ADMIN_ROLE=operator, or role operator in ADMIN_USERS_FILE)');
      return;
    }
    const action = String(req.params.action) as Action;
    if (!ACTIONS.includes(action)) {
      res.status(404).type('text/plain').send('no such repair');
      return;
    }
    const record = await target(req, res);
    if (!record) return;
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries((req.body ?? {}) as Record<string, unknown>)) if (typeof v === 'string' && FORM_FIELDS[action].includes(k)) values[k] = v;
    const invalid = (issues: FieldIssue[]): Promise<void> => showRecord(req, res, 400, record, { form: { action, values, issues } });
    // A refusal shows the record as it is now: what changed it first is what the reason names.
    const refused = async (why: string, status = 409): Promise<void> =>
      showRecord(req, res, status, (await deps.store.getById(record.id)) ?? record, { alert: `${ACTION_TEXT[action].title} refused: ${why}` });
    const note = values.note?.trim() ? values.note : undefined;
    const req0 = { by: who.user, via: VIA, ...(note ? { note: note.trim().slice(0, 100) } : {}) };
    // The form's fields, checked as the API checks its bodies; the note is checked as the API's `by`.
    const parse = <T>(schema: ZodType<T>, body: Record<string, unknown>): { data: T } | { issues: FieldIssue[] } => {
      const parsed = schema.safeParse({ ...body, ...(note ? { by: note } : {}) });
      if (parsed.success) return { data: parsed.data };
      return { issues: zodIssues(parsed.error.issues).map((i) => (i.field === 'by' ? { ...i, field: 'note' } : i)) };
    };
    let out: RepairOutcome | undefined;
    try {
      switch (action) {
        case 'abandon': {
          const b = parse(AbandonSchema, { reason: values.reason ?? '', status: values.status || undefined });
          if ('issues' in b) return invalid(b.issues);
          out = await abandon(repairs, record.lane, record.foreign_id, { ...req0, reason: b.data.reason, status: b.data.status });
          break;
        }
        case 'attach': {
          const b = parse(AttachSchema, { provider_invoice_id: values.provider_invoice_id ?? '', payment_url: values.payment_url ?? '', reason: values.reason ?? '' });
          if ('issues' in b) return invalid(b.issues);
          out = await attach(repairs, record.lane, record.foreign_id, {
            ...req0,
            reason: b.data.reason,
            providerInvoiceId: b.data.provider_invoice_id,
            paymentUrl: b.data.payment_url,
          });
          break;
        }
        case 'reissue': {
          const b = parse(ReissueSchema, { reason: values.reason ?? '' });
          if ('issues' in b) return invalid(b.issues);
          out = await reissue(repairs, record.lane, record.foreign_id, { ...req0, reason: b.data.reason });
          break;
        }
        case 'accept': {
          const b = parse(AcceptSchema, { reason: values.reason ?? '' });
          if ('issues' in b) return invalid(b.issues);
          out = await acceptPayment(repairs, record.lane, record.foreign_id, { ...req0, reason: b.data.reason });
          break;
        }
        case 'retry': {
          if (note && note.trim().length > 100) return invalid([{ field: 'note', message: 'must be at most 100 characters' }]);
          const result = await retrySubmission(retryDeps, record.lane, record.foreign_id, { ...req0, confirmNotCreated: values.confirm_not_created === 'true' });
          if (result.outcome === 'not_found') return void (await target(req, res));
          if (result.outcome === 'not_retryable') return refused(`the invoice is ${result.status}; only submissions not yet at the provider can be retried`);
          if (result.outcome === 'needs_reconciliation') {
            return invalid([
              { field: 'confirm_not_created', message: `the order is parked (${result.reconcile}): check at the provider that it holds no invoice, then tick this` },
            ]);
          }
          res.redirect(303, `${recordPath(record)}?done=retry`);
          return;
        }
      }
    } catch (err) {
      if (!(err instanceof CancelUnavailable)) throw err;
      // The provider could not be asked to cancel: nothing changed, the operator may try again.
      return refused(err.message, 503);
    }
    switch (out.outcome) {
      case 'done':
        res.redirect(303, `${recordPath(record)}?done=${action}`);
        return;
      case 'invalid':
        return invalid(out.issues);
      case 'refused':
        return refused(out.why);
      case 'not_found':
        await target(req, res);
        return;
    }
  });
  return r;
}
