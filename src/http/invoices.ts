/**
 * Producer API, v1: accept orders (one or a batch), read an invoice, retry a failed submission
 * (one, or the failed set filtered by provider and reason). The request schemas here and the
 * answers in answers.ts are what the OpenAPI document (openapi.ts) is generated from.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { zodIssues, type FieldIssue } from '../errors.ts';
import { toView, type Intake } from '../invoice/intake.ts';
import { ProviderName } from '../invoice/order.ts';
import { AccountName, DEFAULT_ACCOUNT, laneKey } from '../lanes/key.ts';
import type { Lanes } from '../lanes/lane.ts';
import { mayUseLane } from '../access/api-keys.ts';
import { retryFailed, retrySubmission } from '../ops/retry.ts';
import { principalOf } from './auth.ts';
import type { InvoiceStore } from '../invoice/store.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Logger } from 'pino';

export const MAX_BATCH = 1000;

/** The longest a `POST /v1/invoices` waits for the provider's answer (`?wait=` / `Prefer: wait=`), in seconds. */
export const WAIT_MAX_SECONDS = 30;
/** Requests waiting at once in one app; past that a wait is not honoured (answered at once, as without it). */
export const MAX_WAITERS = 1000;

/** `{orders: [...]}`: each order is validated on its own by intake (an invalid one is an `invalid` item). */
export const BatchSchema = z.strictObject({ orders: z.array(z.unknown()).min(1).max(MAX_BATCH) });
export const RetryBody = z.strictObject({
  /** After checking at the provider that it does not hold the invoice: release a parked submission. */
  confirm_not_created: z.boolean().optional(),
  by: z.string().max(100).optional().describe('a note of who asked, kept beside the actor (the API key id); never the actor itself'),
});
const RetrySchema = RetryBody.optional();
export const BulkRetrySchema = z.strictObject({
  provider: ProviderName.optional(),
  /** With `provider`: only this account's lane. */
  account: AccountName.optional(),
  /** Case-insensitive substring of the failure reason. */
  reason: z.string().min(1).max(200).optional(),
  limit: z.number().int().min(1).max(MAX_BATCH).default(100),
  dry_run: z.boolean().default(false),
  by: z.string().max(100).optional().describe('a note of who asked, kept beside the actor (the API key id); never the actor itself'),
});

export interface InvoiceRouteDeps {
  intake: Intake;
  store: InvoiceStore;
  lanes: Lanes;
  log: Logger;
  metrics?: Pick<Metrics, 'operatorRetry'>;
  /** Requests this app lets wait at once (default {@link MAX_WAITERS}). */
  maxWaiters?: number;
}

/**
 * The invoice a path names: `/{provider}/{foreign_id}`, the account in `?account=` (absent: the
 * default account). A provider or account that is not configured here is a 404 naming it.
 */
export function params(req: Request, res: Response, lanes: Lanes): { lane: string; foreignId: string } | null {
  const provider = String(req.params.provider);
  const foreignId = String(req.params.foreign_id);
  const raw = req.query.account;
  if (raw !== undefined && (typeof raw !== 'string' || !AccountName.safeParse(raw).success)) {
    res.status(400).json({ error: 'invalid_query', issues: [{ field: 'account', message: 'must be one account name (a-z, 0-9, _ and -)' }] });
    return null;
  }
  const account = raw ?? DEFAULT_ACCOUNT;
  if (![...lanes.values()].some((l) => l.provider === provider)) {
    res.status(404).json({ error: 'not_found', message: 'unknown provider', provider: provider.slice(0, 64) });
    return null;
  }
  const lane = laneKey(provider, account);
  if (!lanes.has(lane)) {
    res.status(404).json({ error: 'not_found', message: `no account ${account} for this provider` });
    return null;
  }
  return { lane, foreignId };
}

const SECONDS = /^\d{1,9}$/;

/**
 * Requests waiting for a provider's answer now, over every app of this process: a reading only.
 * Each app counts its own against its limit, so several systems in one process (tests) do not
 * take each other's places.
 */
let waitingInProcess = 0;
export const activeWaiters = (): number => waitingInProcess;

/**
 * The `wait` preference in seconds: `?wait=N`, else `Prefer: wait=N` (RFC 7240; the first `wait`
 * counts, other preferences are ignored). Absent: 0. Not whole seconds: an issue naming it.
 * Longer than {@link WAIT_MAX_SECONDS}: capped.
 */
export function waitPreference(req: Request): { seconds: number } | { issue: FieldIssue } {
  const query = req.query.wait;
  if (query !== undefined) {
    if (typeof query !== 'string' || !SECONDS.test(query)) return { issue: { field: 'wait', message: 'must be whole seconds, e.g. wait=10' } };
    return { seconds: Math.min(Number(query), WAIT_MAX_SECONDS) };
  }
  const prefer = req.get('prefer');
  if (!prefer) return { seconds: 0 };
  for (const item of prefer.split(',')) {
    const token = item.split(';')[0] ?? '';
    const eq = token.indexOf('=');
    const name = (eq < 0 ? token : token.slice(0, eq)).trim().toLowerCase();
    if (name !== 'wait') continue;
    const value =
      eq < 0
        ? ''
        : token
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
    if (!SECONDS.test(value)) return { issue: { field: 'Prefer', message: 'wait must be whole seconds, e.g. "Prefer: wait=10"' } };
    return { seconds: Math.min(Number(value), WAIT_MAX_SECONDS) };
  }
  return { seconds: 0 };
}

/**
 * Waits until the record's status is past `queued`, up to `ms`, reading only its `status` field
 * on the shared connection, 25 ms after the first look growing to 250 ms between looks. The
 * record once it moved on; null when the time ran out or `signal` fired (the client went away).
 */
async function pastQueued(store: InvoiceStore, lane: string, foreignId: string, ms: number, signal: AbortSignal) {
  const deadline = Date.now() + ms;
  let delay = 25;
  for (;;) {
    const status = await store.statusOf(lane, foreignId);
    if (status && status !== 'queued') return store.get(lane, foreignId);
    const left = deadline - Date.now();
    if (left <= 0 || signal.aborted) return null;
    try {
      await sleep(Math.min(delay, left), undefined, { signal });
    } catch {
      return null;
    }
    delay = Math.min(250, Math.ceil(delay * 1.5));
  }
}

export function invoiceRoutes(deps: InvoiceRouteDeps): Router {
  const r = Router();
  const retryDeps = { ...deps, onRetried: (n: number) => deps.metrics?.operatorRetry('api', n) };
  // This app's waiting requests, and how many it lets wait.
  let waiters = 0;
  const maxWaiters = deps.maxWaiters ?? MAX_WAITERS;

  r.post('/v1/invoices', async (req, res) => {
    const wait = waitPreference(req);
    if ('issue' in wait) {
      res.status(400).json({ error: 'invalid_query', issues: [wait.issue] });
      return;
    }
    const result = await deps.intake.accept(req.body);
    switch (result.outcome) {
      case 'invalid':
        res.status(400).json({ error: 'invalid_order', issues: result.issues });
        return;
      case 'conflict':
        res.status(409).json({ error: 'conflict', message: result.message, foreign_id: result.foreign_id });
        return;
      case 'accepted':
      case 'existing':
        break;
    }
    const { outcome, invoice } = result;
    const answer = outcome === 'accepted' ? 202 : 200;
    if (wait.seconds === 0 || waiters >= maxWaiters) {
      res.status(answer).json({ outcome, invoice });
      return;
    }
    res.set('Preference-Applied', `wait=${wait.seconds}`);
    if (invoice.status !== 'queued') {
      res.status(answer).json({ outcome, invoice });
      return;
    }
    // The provider's answer, or the wait runs out (202 as without a wait), or the client leaves.
    const gone = new AbortController();
    const onClose = () => gone.abort();
    res.once('close', onClose);
    waiters++;
    waitingInProcess++;
    try {
      const lane = laneKey(invoice.provider, invoice.account);
      const record = await pastQueued(deps.store, lane, invoice.foreign_id, wait.seconds * 1000, gone.signal);
      if (gone.signal.aborted) return;
      if (record) res.status(outcome === 'accepted' ? 201 : 200).json({ outcome, invoice: toView(record) });
      else res.status(answer).json({ outcome, invoice });
    } finally {
      waiters--;
      waitingInProcess--;
      res.off('close', onClose);
    }
  });

  r.post('/v1/invoices/batch', async (req, res) => {
    const parsed = BatchSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: 'invalid_batch', issues: zodIssues(parsed.error.issues) });
      return;
    }
    // An order for a lane the key may not use is that order's error, not the whole batch's.
    const principal = principalOf(res);
    const laneOf = (o: unknown): string | undefined => {
      const { provider, account } = (o && typeof o === 'object' ? o : {}) as { provider?: unknown; account?: unknown };
      return typeof provider === 'string' ? laneKey(provider, typeof account === 'string' ? account : DEFAULT_ACCOUNT) : undefined;
    };
    const forbidden = parsed.data.orders.map((o) => {
      const lane = principal.lanes === null ? undefined : laneOf(o);
      return lane !== undefined && !mayUseLane(principal, lane) ? lane : undefined;
    });
    const accepted = await deps.intake.acceptMany(parsed.data.orders.filter((_o, i) => forbidden[i] === undefined));
    // `forbidden` only appears when some order was for a lane the key may not use (the answer of a full key is unchanged).
    const counts: Record<string, number> = { accepted: 0, existing: 0, conflict: 0, invalid: 0 };
    let next = 0;
    const results = parsed.data.orders.map((_o, index) => {
      const lane = forbidden[index];
      const x = lane === undefined ? accepted[next++] : { outcome: 'forbidden' as const, lane, message: `this API key may not act on lane ${lane}` };
      counts[x!.outcome] = (counts[x!.outcome] ?? 0) + 1;
      return { index, ...x! };
    });
    res.status(200).json({ counts, results });
  });

  r.get('/v1/invoices/:provider/:foreign_id', async (req, res) => {
    const p = params(req, res, deps.lanes);
    if (!p) return;
    const record = await deps.store.get(p.lane, p.foreignId);
    if (!record) {
      res.status(404).json({ error: 'not_found', message: 'no invoice for this provider and foreign_id' });
      return;
    }
    res.json(toView(record, await deps.store.history(record.id)));
  });

  r.post('/v1/invoices/:provider/:foreign_id/retry', async (req, res) => {
    const p = params(req, res, deps.lanes);
    if (!p) return;
    const raw: unknown = req.body;
    const body = RetrySchema.safeParse(raw && typeof raw === 'object' && Object.keys(raw).length ? raw : undefined);
    if (!body.success) {
      res.status(400).json({ error: 'invalid_body', issues: zodIssues(body.error.issues) });
      return;
    }
    // The actor is the API key; a body's `by` is only a note beside it.
    const result = await retrySubmission(retryDeps, p.lane, p.foreignId, {
      by: principalOf(res).id,
      ...(body.data?.by ? { note: body.data.by } : {}),
      via: 'api',
      confirmNotCreated: body.data?.confirm_not_created,
    });
    switch (result.outcome) {
      case 'not_found':
        res.status(404).json({ error: 'not_found', message: 'no invoice for this provider and foreign_id' });
        return;
      case 'not_retryable':
        res.status(409).json({ error: 'not_retryable', message: `invoice is ${result.status}; only submissions not yet at the provider can be retried`, status: result.status });
        return;
      case 'needs_reconciliation':
        res.status(409).json({
          error: 'needs_reconciliation',
          message: 'the provider may already hold this invoice; check there, then retry with {"confirm_not_created": true}',
          reconcile: result.reconcile,
        });
        return;
      case 'retrying':
        res.status(202).json(result);
        return;
    }
  });

  // Bulk retry of the failed set, e.g. after a provider outage: filtered, capped, with a dry run.
  r.post('/v1/invoices/retry', async (req, res) => {
    const body = BulkRetrySchema.safeParse(req.body ?? {});
    if (!body.success) {
      res.status(400).json({ error: 'invalid_body', issues: zodIssues(body.error.issues) });
      return;
    }
    const { provider, account, reason, limit, dry_run, by } = body.data;
    const lanes = [...deps.lanes.values()];
    if (provider !== undefined && !lanes.some((l) => l.provider === provider)) {
      res.status(400).json({ error: 'invalid_body', issues: [{ field: 'provider', message: 'no such provider is configured here' }] });
      return;
    }
    if (account !== undefined && !lanes.some((l) => l.account === account && (provider === undefined || l.provider === provider))) {
      res.status(400).json({ error: 'invalid_body', issues: [{ field: 'account', message: 'no such account is configured here' }] });
      return;
    }
    // A key limited to some lanes retries only in those.
    const principal = principalOf(res);
    if (provider !== undefined && principal.lanes !== null) {
      const named = lanes.filter((l) => l.provider === provider && (account === undefined || l.account === account)).map((l) => l.key);
      const outside = named.find((k) => !mayUseLane(principal, k));
      if (outside && (account !== undefined || named.every((k) => !mayUseLane(principal, k)))) {
        res.status(403).json({ error: 'forbidden', message: `this API key may not act on lane ${outside}`, lane: outside });
        return;
      }
    }
    const allowed = principal.lanes === null ? deps.lanes : new Map([...deps.lanes].filter(([k]) => mayUseLane(principal, k)));
    const result = await retryFailed(
      { ...retryDeps, lanes: allowed },
      { provider, account, reason, limit },
      { by: principal.id, ...(by ? { note: by } : {}), via: 'api', dryRun: dry_run },
    );
    res.status(200).json(result);
  });

  return r;
}
