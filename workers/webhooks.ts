/**
 * `result-webhooks` processor: one signed POST of one result to one endpoint. A 2xx is done; any
 * other answer, a timeout or a transport error retries on the schedule of queues/webhooks.ts (or
 * after the endpoint's Retry-After, when longer). A delivery waits, without spending attempts,
 * while the one before it for the same invoice is not done yet, and while its endpoint is
 * disabled. When the last attempt fails the endpoint is disabled and reported; an operator
 * re-enables it and redelivers (API, CLI, or a retry in Bull Board). A 410 Gone disables the
 * endpoint at once (the receiver says it is gone for good): its deliveries are held, not lost.
 *
 * The request itself, and what counts as an answer, is src/results/delivery.ts: this worker turns
 * a job into a delivery, and what came of it into the job's state.
 */
import { DelayedError, UnrecoverableError, type Worker } from 'bullmq';
import { RETRY_SCHEDULE_MS, WEBHOOKS_QUEUE, WebhookJobSchema, type WebhookJob } from '../queues/webhooks.ts';
import { deliver, deliveryDispatcher } from '../src/results/delivery.ts';
import type { WebhookWorkerDeps, WorkerContext } from './context.ts';
import { parseJob, startWorker, type OutcomeProcessor } from './lane-worker.ts';

/** An answer other than 2xx, or no answer: retried. */
class DeliveryFailed extends Error {
  override name = 'DeliveryFailed';
  readonly code = 'DELIVERY_FAILED';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** While it waits for its endpoint or for the delivery before it, it is looked at again this often. */
// A disabled endpoint's deliveries are looked at every 5 minutes (enabling it promotes them at
// once: src/http/webhook-endpoints.ts), so a day of held results costs little; one waiting for the
// delivery before it is looked at twice a second.
const HOLD_MS = { disabled: 300_000, ordering: 500 };

const DELIVERY = { retry: 'result delivery failed; will retry', final: 'result delivery failed for good' };

export function webhooksProcessor(deps: WebhookWorkerDeps): OutcomeProcessor<WebhookJob, { status: number } | { skipped: string }> {
  const dispatcher = deliveryDispatcher(deps);
  return async (job, out, _log, token) => {
    const d = parseJob(WebhookJobSchema, job);
    out.context({ endpoint: d.endpoint, eventId: d.event_id });
    const endpoint = await deps.endpoints.get(d.endpoint);
    if (!endpoint) {
      await deps.endpoints.markDone(d.endpoint, d.event_id);
      out.info({}, 'endpoint removed; delivery dropped');
      return { skipped: 'endpoint removed' };
    }
    const hold = async (ms: number, why: string, level: 'debug' | 'warn' = 'debug'): Promise<never> => {
      out[level]({ inMs: ms }, `delivery held: ${why}`);
      await job.moveToDelayed(Date.now() + ms, token);
      throw new DelayedError();
    };
    if (endpoint.status === 'disabled') return hold(HOLD_MS.disabled, 'endpoint disabled');
    if (d.after && !d.redelivery && !(await deps.endpoints.isDone(d.endpoint, d.after))) return hold(HOLD_MS.ordering, 'the result before it is not delivered yet');

    const result = await deps.results.getJob(d.event_id);
    if (!result) {
      // Results are kept a week (queues/results.ts); past that there is nothing to send.
      await deps.endpoints.markDone(d.endpoint, d.event_id);
      throw new UnrecoverableError('the result is no longer kept');
    }
    const body = JSON.stringify(result.data);
    const { outcome, ms, retryAfterMs: wait } = await deliver(endpoint, d.event_id, body, { ...deps, dispatcher });
    await deps.endpoints.log(d.endpoint, d.event_id, {
      at: new Date().toISOString(),
      attempt: job.attemptsMade + 1,
      outcome,
      ms,
      ...(wait !== undefined ? { retry_after_ms: wait } : {}),
      ...(d.redelivery ? { redelivery: d.redelivery } : {}),
    });
    const ok = typeof outcome === 'number' && outcome >= 200 && outcome < 300;
    deps.metrics?.webhookDelivery(d.endpoint, ok ? 'delivered' : typeof outcome === 'number' ? `http_${outcome}` : 'no_answer');
    if (ok) {
      await deps.endpoints.markDone(d.endpoint, d.event_id);
      out.info({ deliveryMs: ms, status: outcome }, 'result delivered');
      return { status: outcome };
    }
    if (outcome === 410) {
      // Gone for good, the receiver says: stop sending until an operator enables it again. This
      // delivery is held with the rest, so enabling it again delivers everything.
      await deps.endpoints.setStatus(d.endpoint, 'disabled', 'the endpoint answered 410 Gone');
      deps.metrics?.webhookDelivery(d.endpoint, 'endpoint_disabled');
      return hold(HOLD_MS.disabled, 'the endpoint answered 410 Gone; it is disabled', 'warn');
    }
    out.failed({ deliveryMs: ms, outcome }, DELIVERY.retry, DELIVERY.final);
    throw new DeliveryFailed(`endpoint answered ${outcome}`, wait);
  };
}

export function startWebhooksWorker(ctx: WorkerContext, deps: WebhookWorkerDeps): Worker<WebhookJob> {
  const dispatcher = deliveryDispatcher(deps);
  const worker = startWorker<WebhookJob, { status: number } | { skipped: string }>(ctx, {
    queue: WEBHOOKS_QUEUE,
    name: 'webhooks',
    prefix: ctx.prefix,
    concurrency: deps.concurrency,
    processor: () => webhooksProcessor({ ...deps, dispatcher }),
    lines: DELIVERY,
    settings: {
      // The documented schedule, or the endpoint's Retry-After when it asks for longer.
      backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) => {
        const schedule = deps.schedule ?? RETRY_SCHEDULE_MS;
        const planned = schedule[Math.max(0, Math.min(attemptsMade, schedule.length) - 1)] ?? 1000;
        const asked = err instanceof DeliveryFailed ? (err.retryAfterMs ?? 0) : 0;
        return Math.max(planned, asked);
      },
    },
    onFinalFailure: (job, err) =>
      void (async () => {
        // Given up: the next results of its invoice may go, and the endpoint is disabled until an operator looks.
        await deps.endpoints.markDone(job.data.endpoint, job.data.event_id);
        if (err instanceof UnrecoverableError) return;
        await deps.endpoints.setStatus(job.data.endpoint, 'disabled', `a delivery failed for about a day (last: ${err.message})`);
        ctx.log.error(
          { queue: WEBHOOKS_QUEUE, jobId: job.id, endpoint: job.data.endpoint, attempts: job.attemptsMade },
          'result webhook endpoint disabled: a delivery kept failing',
        );
        deps.metrics?.webhookDelivery(job.data.endpoint, 'endpoint_disabled');
      })().catch((e: unknown) => ctx.log.error({ err: e }, 'could not record a failed delivery')),
  });
  // Its own agent only: keep-alive sockets to receivers must not outlive the worker.
  if (!deps.dispatcher) worker.on('closed', () => void dispatcher.close().catch(() => undefined));
  return worker;
}
