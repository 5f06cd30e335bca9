/**
 * Listing and export of invoices for reconciliation: `GET /v1/invoices` pages through the lanes'
 * listing indexes (src/invoice/listing.ts, kept inside the store's compare-and-set, never a SCAN),
 * `GET /v1/invoices/export` streams every matching invoice as CSV or NDJSON. A key limited to some
 * lanes lists only those (docs/api.md has the ordering and exactly-once guarantee).
 */
import { Router, type Request, type Response } from 'express';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { zodIssues } from '../errors.ts';
import { toView } from '../invoice/intake.ts';
import { ProviderName } from '../invoice/order.ts';
import { STATUSES } from '../invoice/state.ts';
import { AccountName } from '../lanes/key.ts';
import type { Lanes } from '../lanes/lane.ts';
import { mayUseLane } from '../access/api-keys.ts';
import { principalOf } from './auth.ts';
import type { ListPosition } from '../invoice/listing.ts';
import type { InvoiceRecord } from '../invoice/record.ts';
import type { InvoiceStore } from '../invoice/store.ts';

export const LIST_MAX = 1000;
export const LIST_DEFAULT = 100;

const Limit = z
  .string()
  .regex(/^\d{1,4}$/, 'must be a whole number from 1 to 1000')
  .transform(Number)
  .pipe(z.int().min(1, 'must be a whole number from 1 to 1000').max(LIST_MAX, 'must be a whole number from 1 to 1000'));

/** The filters listing and export share; every value is one query string (a repeated one is refused). */
export const ListFilters = z.strictObject({
  provider: ProviderName.optional().describe('only this provider'),
  account: AccountName.optional().describe('only this provider account (lane)'),
  status: z.enum(STATUSES).optional().describe('only invoices in this status; ordered by when they entered it'),
  updated_since: z.iso.datetime({ offset: true }).optional().describe('inclusive: changed (with `status`: entered it) at or after this instant'),
  updated_until: z.iso.datetime({ offset: true }).optional().describe('inclusive: changed (with `status`: entered it) at or before this instant'),
});

export const ListQuery = ListFilters.extend({
  limit: Limit.optional().describe('page size, 1 to 1000 (default 100)'),
  cursor: z.string().max(2000).optional().describe('`next_cursor` of the previous page, as given (opaque)'),
});

export const ExportQuery = ListFilters.extend({
  format: z.enum(['csv', 'ndjson']).optional().describe('`csv` (default) or `ndjson` (one invoice view per line)'),
});

/** The opaque cursor: the position of the last invoice served, base64url JSON. */
export function encodeCursor(p: ListPosition): string {
  return Buffer.from(JSON.stringify([p.at, p.id])).toString('base64url');
}

export function decodeCursor(s: string): ListPosition | null {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && Number.isFinite(v[0]) && v[0] >= 0 && typeof v[1] === 'string' && v[1].length <= 1000)
      return { at: v[0], id: v[1] };
  } catch {
    /* not ours: refused below */
  }
  return null;
}

type Filters = z.infer<typeof ListFilters>;

/** The lanes a request may list: configured ones matching the filters that the API key may use. */
function lanesFor(lanes: Lanes, res: Response, f: Filters): string[] {
  const principal = principalOf(res);
  return [...lanes.values()]
    .filter((l) => (f.provider === undefined || l.provider === f.provider) && (f.account === undefined || l.account === f.account))
    .filter((l) => mayUseLane(principal, l.key))
    .map((l) => l.key);
}

function window(f: Filters): { since?: number; until?: number } {
  return {
    ...(f.updated_since ? { since: Date.parse(f.updated_since) } : {}),
    ...(f.updated_until ? { until: Date.parse(f.updated_until) } : {}),
  };
}

/** The CSV columns, in order: money as the decimal strings the record holds. */
export const CSV_COLUMNS = [
  'provider',
  'account',
  'lane',
  'foreign_id',
  'kind',
  'status',
  'amount',
  'currency',
  'received_amount',
  'received_currency',
  'settled_amount',
  'settled_currency',
  'txids',
  'fees',
  'payment_url',
  'pay_to_address',
  'pay_to_amount',
  'pay_to_currency',
  'provider_invoice_id',
  'accepted_at',
  'updated_at',
] as const;

/** One CSV row; several txids are joined by spaces, fees as `type amount currency` joined by `; `. */
function csvRow(r: InvoiceRecord): string[] {
  return [
    r.provider,
    r.account,
    r.lane,
    r.foreign_id,
    r.kind,
    r.status,
    r.amount,
    r.currency,
    r.received_amount ?? '',
    r.received_currency ?? '',
    r.settled_amount ?? '',
    r.settled_currency ?? '',
    r.transactions.map((t) => t.txid).join(' '),
    r.fees.map((f) => `${f.type} ${f.amount} ${f.currency}`).join('; '),
    r.payment_url ?? '',
    r.pay_to?.address ?? '',
    r.pay_to?.amount ?? '',
    r.pay_to?.currency ?? '',
    r.provider_invoice_id ?? '',
    r.accepted_at,
    r.updated_at,
  ];
}

/** Issues naming the query parameter; an unknown parameter is named too. */
export function queryIssues(issues: ReadonlyArray<z.core.$ZodIssue>): ReturnType<typeof zodIssues> {
  return issues.map((i) =>
    i.code === 'unrecognized_keys' ? { field: String(i.keys[0]), message: 'unknown query parameter' } : (zodIssues([i])[0] as ReturnType<typeof zodIssues>[number]),
  );
}

/** The query as one string per name (a repeated name is an array and refused by the schema). */
function query(req: Request): Record<string, unknown> {
  return { ...(req.query as Record<string, unknown>) };
}

export function listingRoutes(deps: { store: InvoiceStore; lanes: Lanes }): Router {
  const r = Router();

  r.get('/v1/invoices', async (req, res) => {
    const q = ListQuery.safeParse(query(req));
    if (!q.success) {
      res.status(400).json({ error: 'invalid_query', issues: queryIssues(q.error.issues) });
      return;
    }
    const after = q.data.cursor === undefined ? undefined : decodeCursor(q.data.cursor);
    if (after === null) {
      res.status(400).json({ error: 'invalid_query', issues: [{ field: 'cursor', message: 'not a cursor this service gave (pass next_cursor as given)' }] });
      return;
    }
    const lanes = lanesFor(deps.lanes, res, q.data);
    const page = lanes.length
      ? await deps.store.listPage(lanes, {
          ...window(q.data),
          ...(q.data.status ? { status: q.data.status } : {}),
          ...(after ? { after } : {}),
          limit: q.data.limit ?? LIST_DEFAULT,
        })
      : { records: [], next: null };
    res.json({ items: page.records.map((rec) => toView(rec)), next_cursor: page.next ? encodeCursor(page.next) : null });
  });

  r.get('/v1/invoices/export', async (req, res) => {
    const q = ExportQuery.safeParse(query(req));
    if (!q.success) {
      res.status(400).json({ error: 'invalid_query', issues: queryIssues(q.error.issues) });
      return;
    }
    const format = q.data.format ?? 'csv';
    const lanes = lanesFor(deps.lanes, res, q.data);
    res.status(200);
    res.set('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
    res.set('Content-Disposition', `attachment; filename="invoices.${format === 'csv' ? 'csv' : 'ndjson'}"`);
    let gone = false;
    res.once('close', () => (gone = true));
    // Page by page through the index; a page is written only once the client took the previous
    // one (drain), so a slow reader holds at most one page in memory.
    const put = async (chunk: string): Promise<void> => {
      if (res.write(chunk) || gone) return;
      // Until the client took it, or left; both listeners go either way (a long export waits many times).
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    };
    if (format === 'csv') await put(stringify([[...CSV_COLUMNS]]));
    let after: ListPosition | undefined;
    while (lanes.length && !gone) {
      const page = await deps.store.listPage(lanes, { ...window(q.data), ...(q.data.status ? { status: q.data.status } : {}), ...(after ? { after } : {}), limit: LIST_MAX });
      if (page.records.length) {
        await put(format === 'csv' ? stringify(page.records.map(csvRow)) : page.records.map((rec) => JSON.stringify(toView(rec))).join('\n') + '\n');
      }
      if (!page.next) break;
      after = page.next;
    }
    res.end();
  });

  return r;
}
