/**
 * The callback intake's writer: the provider callback routes (./callbacks.ts) store each authentic
 * callback as an `invoice-events` job through it before they answer. It lives with the HTTP intake
 * rather than in src/invoice/ because it is queue plumbing (a batched `addBulk` on the events
 * queue) and the invoice domain imports no queue module; the job's shape and id are
 * queues/events.ts.
 */
import { eventJobId, type EventJob, type EventsQueue } from '../../queues/events.ts';
import { laneKey } from '../lanes/key.ts';
import { jobTelemetry } from '../observability/tracing.ts';

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
