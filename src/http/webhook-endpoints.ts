/**
 * Result webhook endpoints (src/results/endpoints.ts), under the producer API's bearer token:
 *
 *   POST   /v1/webhook-endpoints                 {url, description?, secret?}: 201 with the secret (shown once)
 *   GET    /v1/webhook-endpoints                 the endpoints, without secrets (a prefix of each tells them apart)
 *   GET    /v1/webhook-endpoints/{id}            one endpoint: its status, and why and when it was disabled
 *   POST   /v1/webhook-endpoints/{id}/rotate     a new secret (201, shown once); the old one is still signed with for a day
 *   POST   /v1/webhook-endpoints/{id}/enable     after it was disabled; held deliveries go on
 *   POST   /v1/webhook-endpoints/{id}/disable
 *   DELETE /v1/webhook-endpoints/{id}
 *   GET    /v1/webhook-endpoints/{id}/deliveries?status=&limit=&cursor=   the deliveries, newest first
 *   GET    /v1/webhook-endpoints/{id}/deliveries?event_id=...   every attempt of one result
 *   POST   /v1/webhook-endpoints/{id}/redeliver  {event_id} or {from, to} (ISO-8601); `by` is a note
 *
 * All need the `webhooks` scope. An endpoint registered by a lane-limited key carries its lanes
 * and receives only their results; such a key sees and manages only endpoints of its lanes.
 */
import { Router, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ResultsQueue } from '../../queues/results.ts';
import { webhookJobId, type WebhookJob, type WebhooksQueue } from '../../queues/webhooks.ts';
import { zodIssues } from '../errors.ts';
import { invoiceId } from '../ids.ts';
import { laneKey } from '../lanes/key.ts';
import { mayUseAllOf } from '../access/api-keys.ts';
import { Secret, endpointView, type Endpoint, type EndpointStore } from '../results/endpoints.ts';
import { targetIssue, type Resolve } from '../results/target.ts';
import { principalOf } from './auth.ts';
import { LIST_DEFAULT, LIST_MAX, decodeCursor, encodeCursor, queryIssues } from './listing.ts';

/** `GET .../deliveries`: one event's attempts (`event_id`), or a page of the endpoint's deliveries. */
export const DeliveriesQuery = z.strictObject({
  event_id: z.string().min(1).max(1200).optional().describe("every attempt of this one result (the answer is then that event's attempts)"),
  status: z.enum(['delivered', 'failed']).optional().describe('by the latest attempt: `delivered` (2xx) or `failed` (anything else; it may still be retried)'),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number from 1 to 1000')
    .transform(Number)
    .pipe(z.int().min(1).max(LIST_MAX))
    .optional()
    .describe('page size, 1 to 1000 (default 100)'),
  cursor: z.string().max(2000).optional().describe('`next_cursor` of the previous page, as given (opaque)'),
});

export const RedeliverSchema = z
  .strictObject({
    event_id: z.string().min(1).max(1200).optional(),
    from: z.iso.datetime().optional(),
    to: z.iso.datetime().optional(),
    by: z.string().trim().min(1).max(100).optional(),
  })
  .refine((b) => (b.event_id ? !b.from && !b.to : !!b.from && !!b.to), { message: 'give event_id, or from and to', path: ['event_id'] });

export const MAX_REDELIVER = 10_000;

/** `POST /v1/webhook-endpoints`; the route adds the target check of `url` (HTTPS to a public address, resolved). */
export const EndpointCreateBody = z.strictObject({
  url: z.string().max(2048).describe('HTTPS to a public address (checked when registered, and at each delivery)'),
  description: z.string().max(200).optional(),
  secret: Secret.optional().describe('`whsec_` and at least 24 random bytes in base64; absent: one is made (and shown once)'),
});

export interface EndpointRouteDeps {
  endpoints: EndpointStore;
  webhooks: WebhooksQueue;
  results: ResultsQueue;
  log: Logger;
  /** Attempts of a delivery (its retry schedule's length plus one). */
  attempts?: number;
  /** `WEBHOOK_ALLOW_PRIVATE`: internal addresses (and http:// to this machine) accepted, for development. */
  allowPrivate?: boolean;
  /** Name resolution for the target check (the system's resolver unless a test gives one). */
  resolve?: Resolve;
}

/** Moves the delayed deliveries of one endpoint to waiting (all pages read first: promoting shifts them); returns how many. */
async function promoteHeld(queue: WebhooksQueue, endpoint: string): Promise<number> {
  const held = [];
  for (let start = 0; ; start += 1000) {
    const jobs = await queue.getDelayed(start, start + 999);
    if (!jobs.length) break;
    held.push(...jobs.filter((j) => j?.data?.endpoint === endpoint));
  }
  let promoted = 0;
  for (const j of held) {
    // One that moved on meanwhile (it ran, or was removed) is simply skipped.
    await j.promote().then(
      () => promoted++,
      () => undefined,
    );
  }
  return promoted;
}

/**
 * A key limited to lanes sees (and manages) only endpoints registered for lanes it has; others
 * are a 404 to it. A key for every lane sees every endpoint.
 */
function visibleTo(res: Response, e: Endpoint | null): Endpoint | null {
  return e && mayUseAllOf(principalOf(res), e.lanes) ? e : null;
}

export function webhookEndpointRoutes(deps: EndpointRouteDeps): Router {
  const r = Router();
  const find = async (res: Response, id: string): Promise<Endpoint | null> => visibleTo(res, await deps.endpoints.get(id));
  // HTTPS to a public address only (src/results/target.ts): resolved now, and again at each delivery.
  const url = z
    .string()
    .max(2048)
    .superRefine(async (v, ctx) => {
      const issue = await targetIssue(v, deps.allowPrivate ?? false, deps.resolve);
      if (issue) ctx.addIssue({ code: 'custom', message: issue });
    });
  const CreateSchema = EndpointCreateBody.extend({ url });
  const notFound = (res: Response): void => void res.status(404).json({ error: 'not_found', message: 'no such webhook endpoint' });
  const invalid = (res: Response, issues: ReturnType<typeof zodIssues>): void => void res.status(400).json({ error: 'invalid_body', issues });

  r.post('/v1/webhook-endpoints', async (req, res) => {
    const body = await CreateSchema.safeParseAsync(req.body ?? {});
    if (!body.success) return invalid(res, zodIssues(body.error.issues));
    const lanes = principalOf(res).lanes;
    const e = await deps.endpoints.create({ ...body.data, ...(lanes ? { lanes: [...lanes].sort() } : {}) });
    deps.log.info({ endpoint: e.id, url: e.url, by: principalOf(res).id, lanes: e.lanes ?? null }, 'result webhook endpoint registered');
    res.status(201).json({ endpoint: endpointView(e), secret: e.secrets[0]?.secret });
  });

  r.get('/v1/webhook-endpoints', async (_req, res) => {
    res.json({ endpoints: (await deps.endpoints.list()).filter((e) => visibleTo(res, e)).map(endpointView) });
  });

  r.get('/v1/webhook-endpoints/:id', async (req, res) => {
    const e = await find(res, String(req.params.id));
    if (!e) return notFound(res);
    res.json({ endpoint: endpointView(e) });
  });

  r.post('/v1/webhook-endpoints/:id/rotate', async (req, res) => {
    const e = (await find(res, String(req.params.id))) && (await deps.endpoints.rotate(String(req.params.id)));
    if (!e) return notFound(res);
    deps.log.info({ endpoint: e.id }, 'result webhook secret rotated');
    res.status(201).json({ endpoint: endpointView(e), secret: e.secrets[0]?.secret });
  });

  for (const status of ['enable', 'disable'] as const) {
    r.post(`/v1/webhook-endpoints/:id/${status}`, async (req, res) => {
      const e =
        (await find(res, String(req.params.id))) &&
        (await deps.endpoints.setStatus(String(req.params.id), status === 'enable' ? 'enabled' : 'disabled', `disabled by ${principalOf(res).id}`));
      if (!e) return notFound(res);
      // Its held deliveries go now rather than at their next look (up to 5 minutes away).
      const promoted = status === 'enable' ? await promoteHeld(deps.webhooks, e.id) : 0;
      deps.log.info({ endpoint: e.id, status: e.status, promoted }, `result webhook endpoint ${status}d`);
      res.json({ endpoint: endpointView(e), promoted });
    });
  }

  r.delete('/v1/webhook-endpoints/:id', async (req, res) => {
    if (!(await find(res, String(req.params.id))) || !(await deps.endpoints.remove(String(req.params.id)))) return notFound(res);
    deps.log.info({ endpoint: String(req.params.id), by: principalOf(res).id }, 'result webhook endpoint removed');
    res.json({ removed: true });
  });

  r.get('/v1/webhook-endpoints/:id/deliveries', async (req, res) => {
    const q = DeliveriesQuery.safeParse({ ...(req.query as Record<string, unknown>) });
    if (!q.success) return void res.status(400).json({ error: 'invalid_query', issues: queryIssues(q.error.issues) });
    const before = q.data.cursor === undefined ? undefined : decodeCursor(q.data.cursor);
    if (before === null)
      return void res.status(400).json({ error: 'invalid_query', issues: [{ field: 'cursor', message: 'not a cursor this service gave (pass next_cursor as given)' }] });
    if (!(await find(res, String(req.params.id)))) return notFound(res);
    const eventId = q.data.event_id;
    // One event's every attempt, as before; without `event_id`, a page of the endpoint's deliveries.
    if (eventId) return void res.json({ event_id: eventId, attempts: await deps.endpoints.deliveries(String(req.params.id), eventId) });
    const page = await deps.endpoints.deliveryPage(String(req.params.id), {
      ...(q.data.status ? { status: q.data.status } : {}),
      limit: q.data.limit ?? LIST_DEFAULT,
      ...(before ? { before } : {}),
    });
    res.json({ items: page.items, next_cursor: page.next ? encodeCursor(page.next) : null });
  });

  r.post('/v1/webhook-endpoints/:id/redeliver', async (req, res) => {
    const body = RedeliverSchema.safeParse(req.body ?? {});
    if (!body.success) return invalid(res, zodIssues(body.error.issues));
    const e = await find(res, String(req.params.id));
    if (!e) return notFound(res);
    const by = principalOf(res).id;
    const stamp = String(Date.now());
    const ids: string[] = [];
    if (body.data.event_id) {
      if (!(await deps.results.getJob(body.data.event_id))) {
        res.status(404).json({ error: 'not_found', message: 'no such result is kept (results are kept a week)' });
        return;
      }
      ids.push(body.data.event_id);
    } else {
      const from = Date.parse(body.data.from as string);
      const to = Date.parse(body.data.to as string);
      for (let start = 0; ids.length < MAX_REDELIVER; start += 1000) {
        const jobs = await deps.results.getJobs(['completed', 'wait', 'active', 'delayed', 'failed', 'prioritized'], start, start + 999, true);
        if (!jobs.length) break;
        for (const j of jobs) {
          const at = Date.parse(j?.data?.occurred_at ?? '');
          if (j && at >= from && at <= to) ids.push(String(j.id));
        }
      }
    }
    const jobs: Array<{ name: string; data: WebhookJob; opts: { jobId: string; attempts?: number } }> = [];
    for (const id of ids.slice(0, MAX_REDELIVER)) {
      const result = await deps.results.getJob(id);
      if (!result) continue;
      const d = result.data;
      // Only what the endpoint would have received in the first place.
      if (e.lanes && !e.lanes.includes(laneKey(d.provider, d.account))) continue;
      jobs.push({
        name: 'redeliver',
        data: { v: 1, endpoint: e.id, event_id: id, invoice: invoiceId(laneKey(d.provider, d.account), d.foreign_id), after: null, redelivery: by },
        opts: { jobId: webhookJobId(e.id, id, stamp), ...(deps.attempts ? { attempts: deps.attempts } : {}) },
      });
    }
    if (jobs.length) await deps.webhooks.addBulk(jobs);
    deps.log.info({ endpoint: e.id, by, ...(body.data.by ? { note: body.data.by } : {}), results: jobs.length }, 'result webhooks redelivered');
    res.status(202).json({ redelivering: jobs.length });
  });
  return r;
}
