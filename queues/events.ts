/**
 * `invoice-events`: one job per authentic provider message (callback), stored before the webhook
 * answers 200. The job id comes from the provider's dedupe key (docs/providers.md 6.16), so a redelivered
 * or duplicated callback is one job. The job carries the normalized update, never the raw body:
 * callback bodies hold personal data (e.g. `end_user_email`, docs/providers.md 2.4) that Bull Board must
 * not show.
 */
import { Queue, type ConnectionOptions, type JobsOptions, type KeepJobs } from 'bullmq';
import { z } from 'zod';
import { encodeForeignId } from '../src/ids.ts';
import { ProviderName } from '../src/invoice/order.ts';
import { AccountName, laneKey } from '../src/lanes/key.ts';
import { jobTelemetry } from '../src/observability/tracing.ts';
import { UpdateSchema } from '../src/providers/types.ts';

export const EVENTS_QUEUE = 'invoice-events';

/** Job data of `invoice-events`, v1. */
export const EventJobSchema = z.strictObject({
  v: z.literal(1),
  provider: ProviderName,
  /** The account whose route received it (absent: the default account). */
  account: AccountName.optional(),
  /** Our record id when the route named it (a per-invoice callback URL). */
  invoice_id: z.string().min(1).max(600).optional(),
  update: UpdateSchema,
  received_at: z.iso.datetime(),
});
export type EventJob = z.infer<typeof EventJobSchema>;

export type EventsQueue = Queue<EventJob, unknown, string>;

/** Completed callback jobs by default: a day, at most 200,000 (`EVENTS_RETENTION`, `EVENTS_RETENTION_COUNT`). */
export const EVENTS_KEEP: KeepJobs = { age: 24 * 3600, count: 200_000 };

export function eventJobOptions(attempts: number, backoffMs: number, keep: KeepJobs = EVENTS_KEEP): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs, jitter: 0.5 },
    // Kept a while so redeliveries inside that window are still the same job; a later one is a
    // new job whose transition the state machine ignores as a duplicate. Failed ones (an event for
    // an invoice nobody knows) wait for an operator, whatever the retention.
    removeOnComplete: keep,
    removeOnFail: false,
  };
}

export function createEventsQueue(connection: ConnectionOptions, prefix: string, attempts = 8, backoffMs = 2000, keep: KeepJobs = EVENTS_KEEP): EventsQueue {
  return new Queue<EventJob, unknown, string>(EVENTS_QUEUE, { connection, prefix, defaultJobOptions: eventJobOptions(attempts, backoffMs, keep) });
}

/** `event.<lane>.<encoded dedupe key>`: dedupe keys hold `:`, which job ids may not. */
export function eventJobId(lane: string, dedupeKey: string): string {
  return `event.${lane}.${encodeForeignId(dedupeKey)}`;
}

interface Waiting {
  job: { name: string; data: EventJob; opts: { jobId: string; telemetry?: { metadata: string } } };
  resolve: (id: string) => void;
  reject: (err: unknown) => void;
}

/**
 * Stores provider messages (already parsed with `EventJobSchema`: the webhook route parses them to
 * answer 400 naming the field); the same message again is the same job. The ones that arrive in
 * the same turn of the event loop go to Redis as one pipelined `addBulk`: one write and one round
 * trip for a burst instead of one per callback. A lone callback waits for no one (its batch leaves
 * on the next turn). Each caller learns its own batch's fate: if Redis refuses the batch, every
 * caller in it gets the error (the webhook answers 503 and the provider redelivers); any of its
 * jobs that did get stored is the same job again on redelivery, since ids come from the dedupe key.
 */
export class EventWriter {
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly queue: EventsQueue,
    private readonly maxBatch = 256,
  ) {}

  add(parsed: EventJob): Promise<string> {
    const jobId = eventJobId(laneKey(parsed.provider, parsed.account), parsed.update.dedupeKey);
    return new Promise<string>((resolve, reject) => {
      // Each job in its own callback's trace, though they are stored together (src/observability/tracing.ts).
      this.waiting.push({ job: { name: parsed.update.status, data: parsed, opts: { jobId, ...jobTelemetry() } }, resolve, reject });
      if (this.waiting.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.waiting;
    if (!batch.length) return;
    this.waiting = [];
    this.queue.addBulk(batch.map((w) => w.job)).then(
      () => {
        for (const w of batch) w.resolve(w.job.opts.jobId);
      },
      (err: unknown) => {
        for (const w of batch) w.reject(err);
      },
    );
  }
}
