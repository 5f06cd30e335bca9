/**
 * `invoice-repairs`: the repairs an operator takes from Bull Board (its "Add job" on this queue),
 * one job per request, named after the repair (`attach`, `reissue`, `abandon`). The worker runs
 * the same implementation as the API and the CLI (src/invoice/repair.ts); a repair that is not
 * possible fails its job with the reason, so the board shows what happened and why. The signed-in
 * operator is written into the job by the board's route (src/http/admin.ts), never taken from
 * what was typed. Jobs are kept for 90 days as the board's record of who repaired what.
 */
import { FlowProducer, Queue, type ConnectionOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { createJobId } from './create.ts';
import { zodIssues, type FieldIssue } from '../src/errors.ts';
import { resendCreate } from '../src/ops/retry.ts';
import { ProviderName } from '../src/invoice/order.ts';
import { schedulePoll } from '../src/invoice/polling.ts';
import { AbandonSchema, AcceptSchema, AttachSchema, ReissueSchema, Who, type RepairDeps } from '../src/invoice/repair.ts';
import type { InvoiceStore } from '../src/invoice/store.ts';
import type { TrackSettings } from '../src/invoice/track.ts';
import { AccountName } from '../src/lanes/key.ts';
import type { Lanes } from '../src/lanes/lane.ts';
import type { Logger } from 'pino';

export const REPAIRS_QUEUE = 'invoice-repairs';

/** Which order a repair is for. */
const Target = { provider: ProviderName, account: AccountName.optional(), foreign_id: z.string().min(1).max(255) };
/**
 * Written by the board's route: who (the signed-in operator, the actor) and from where; `note`
 * is what was typed as `by`, kept beside the actor. The worker runs no job without them.
 */
const Origin = { by: Who, via: z.literal('bull-board'), note: Who.optional() };

/** Job data by job name, v1. */
export const RepairJobSchemas = {
  attach: z.strictObject({ v: z.literal(1), ...Target, ...AttachSchema.omit({ by: true }).shape, ...Origin }),
  reissue: z.strictObject({ v: z.literal(1), ...Target, ...ReissueSchema.omit({ by: true }).shape, ...Origin }),
  abandon: z.strictObject({ v: z.literal(1), ...Target, ...AbandonSchema.omit({ by: true }).shape, ...Origin }),
  accept: z.strictObject({ v: z.literal(1), ...Target, ...AcceptSchema.omit({ by: true }).shape, ...Origin }),
} as const;
export type RepairAction = keyof typeof RepairJobSchemas;
export const REPAIR_ACTIONS = Object.keys(RepairJobSchemas) as RepairAction[];

export type RepairJob = { [A in RepairAction]: { action: A; data: z.output<(typeof RepairJobSchemas)[A]> } }[RepairAction];

/** The data fields a repair named `name` takes, or undefined for no such repair. */
export function repairFields(name: unknown): Set<string> | undefined {
  return typeof name === 'string' && name in RepairJobSchemas ? new Set(Object.keys(RepairJobSchemas[name as RepairAction].shape)) : undefined;
}

/** A repair job's name and data, checked: the job, or the fields that are wrong (each named). */
export function parseRepairJob(name: unknown, data: unknown): { job: RepairJob } | { issues: FieldIssue[] } {
  if (typeof name !== 'string' || !(name in RepairJobSchemas)) return { issues: [{ field: 'name', message: `must be one of ${REPAIR_ACTIONS.join(', ')}` }] };
  const action = name as RepairAction;
  const parsed = RepairJobSchemas[action].safeParse(data);
  if (!parsed.success) return { issues: zodIssues(parsed.error.issues) };
  return { job: { action, data: parsed.data } as RepairJob };
}

/**
 * What an operator types as job data in the board's "Add job" form (the board shows it): the
 * order, and what the chosen repair takes. `v`, `by` and `via` are filled in by the board's route.
 */
export function repairDataJsonSchema(): Record<string, unknown> {
  const typed = z.object({
    provider: ProviderName.describe('the order provider, e.g. "cryptoprocessing"'),
    account: AccountName.optional().describe('the provider account, when not the default one'),
    foreign_id: z.string().min(1).max(255).describe("the order's foreign_id"),
    reason: z.string().min(1).max(500).describe('why, in your words (all repairs)'),
    provider_invoice_id: z.string().optional().describe('attach: the invoice id found at the provider'),
    payment_url: z.string().optional().describe('attach: its payment URL'),
    status: z.enum(['cancelled', 'failed']).optional().describe('abandon: how the order ends (cancelled when left out)'),
  });
  return z.toJSONSchema(typed, { io: 'input' });
}

/**
 * One template per repair, for the board: a job named after the repair with every field it takes,
 * empty (abandon's `status` at its default). Bull Board fills its "Add job" form from a job an
 * operator duplicates (name, data), not from a list of templates; so the templates are jobs that
 * never run: each waits in `waiting-children` for a child in a queue no worker takes
 * ({@link REPAIR_TEMPLATE_HOLD_QUEUE}). The board's route drops the empty fields, checks the rest
 * and adds a new job: the template stays.
 */
export const REPAIR_TEMPLATES: Readonly<Record<RepairAction, Record<string, string>>> = {
  attach: { provider: '', account: '', foreign_id: '', provider_invoice_id: '', payment_url: '', reason: '' },
  reissue: { provider: '', account: '', foreign_id: '', reason: '' },
  abandon: { provider: '', account: '', foreign_id: '', status: 'cancelled', reason: '' },
  accept: { provider: '', account: '', foreign_id: '', reason: '' },
};
/** Holds the templates' children; nothing works it (and the board does not show it). */
export const REPAIR_TEMPLATE_HOLD_QUEUE = `${REPAIRS_QUEUE}.templates`;
export const repairTemplateJobId = (action: RepairAction): string => `template-${action}`;

/** Adds the templates that are missing (an operator may have cleaned one); the ones there stay as they are. */
export async function ensureRepairTemplates(queue: RepairsQueue, connection: ConnectionOptions): Promise<void> {
  // A connection of its own: a FlowProducer closed on the system's shared connection left that
  // connection unable to recover from a later outage (the workers' jobs then hung at the next one).
  const own = typeof (connection as { duplicate?: unknown }).duplicate === 'function' ? (connection as Redis | Cluster).duplicate() : undefined;
  const flows = new FlowProducer({ connection: own ?? connection, prefix: queue.opts.prefix });
  flows.on('error', () => {});
  try {
    for (const action of REPAIR_ACTIONS) {
      if (await queue.getJob(repairTemplateJobId(action))) continue;
      await flows.add({
        name: action,
        queueName: REPAIRS_QUEUE,
        data: REPAIR_TEMPLATES[action],
        opts: { jobId: repairTemplateJobId(action) },
        children: [{ name: 'hold', queueName: REPAIR_TEMPLATE_HOLD_QUEUE, data: {}, opts: { jobId: `hold-${action}` } }],
      });
    }
  } finally {
    await flows.close();
    own?.disconnect();
  }
}

export type RepairsQueue = Queue<RepairJob['data'], unknown, string>;

export function createRepairsQueue(connection: ConnectionOptions, prefix: string): RepairsQueue {
  return new Queue<RepairJob['data'], unknown, string>(REPAIRS_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      // A repair is a compare-and-set: retrying one that was refused is refused again; one attempt says it plainly.
      attempts: 1,
      removeOnComplete: { age: 90 * 24 * 3600, count: 10_000 },
      removeOnFail: { age: 90 * 24 * 3600, count: 10_000 },
    },
  });
}

/** What every caller of the repairs (API, CLI, the repairs worker) hands them. */
export function repairDeps(parts: { store: InvoiceStore; lanes: Lanes; log: Logger; track: TrackSettings }): RepairDeps {
  const { store, lanes, track } = parts;
  return {
    store,
    lanes,
    log: parts.log.child({ component: 'repair' }),
    createJobId,
    resend: async (record) => {
      const queue = lanes.get(record.lane)?.createQueue;
      if (!queue) throw new Error(`no lane ${record.lane} configured here`);
      return resendCreate(queue, record);
    },
    schedulePoll: (lane, foreignId, record) => schedulePoll({ store, lanes, track }, lane, foreignId, Date.now(), record),
  };
}
