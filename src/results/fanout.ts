/**
 * The relay's fan-out of results to the registered endpoints: one `result-webhooks` job per
 * (endpoint, result), added before the relay trims the outbox, so a result is never published
 * without its deliveries being queued (at least once).
 */
import { webhookJobId, type WebhookJob } from '../../queues/webhooks.ts';
import { invoiceId } from '../ids.ts';
import type { OutboxEntry } from '../invoice/outbox.ts';
import { laneKey } from '../lanes/key.ts';
import { resultTelemetry } from '../observability/tracing.ts';
import type { EndpointStore } from './endpoints.ts';

/**
 * The relay's fan-out: one delivery job per (enabled endpoint, result), each naming the result of
 * the same invoice enqueued before it for that endpoint. Idempotent by job id.
 */
export async function fanOut(
  endpoints: EndpointStore,
  queue: { addBulk(jobs: Array<{ name: string; data: WebhookJob; opts: { jobId: string; attempts: number; telemetry?: { metadata: string } } }>): Promise<unknown> },
  entries: readonly OutboxEntry[],
  attempts: number,
): Promise<void> {
  // A disabled endpoint gets its deliveries too: they wait until it is enabled again, so none is lost.
  const live = await endpoints.list();
  if (!live.length) return;
  const jobs: Parameters<typeof queue.addBulk>[0] = [];
  for (const e of live) {
    for (const entry of entries) {
      const d = entry.data as { provider: string; account?: string; foreign_id: string };
      const lane = laneKey(d.provider, d.account);
      // An endpoint of a lane-limited API key hears only of its lanes.
      if (e.lanes && !e.lanes.includes(lane)) continue;
      const invoice = invoiceId(lane, d.foreign_id);
      const after = await endpoints.chain(e.id, invoice, entry.jobId);
      jobs.push({
        name: entry.name,
        data: { v: 1, endpoint: e.id, event_id: entry.jobId, invoice, after },
        // Tracing on: under the span that published the result.
        opts: { jobId: webhookJobId(e.id, entry.jobId), attempts, ...resultTelemetry(entry) },
      });
    }
  }
  if (jobs.length) await queue.addBulk(jobs);
}
