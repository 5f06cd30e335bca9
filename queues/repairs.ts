/**
 * `invoice-repairs`: the repairs an operator takes from Bull Board (its "Add job" on this queue),
 * one job per request, named after the repair (`attach`, `reissue`, `abandon`). The worker runs
 * the same implementation as the API and the CLI (src/invoice/repair.ts); a repair that is not
 * possible fails its job with the reason, so the board shows what happened and why. The signed-in
 * operator is written into the job by the board's route (src/http/admin.ts), never taken from
 * what was typed. Jobs are kept for 90 days as the board's record of who repaired what.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { z } from 'zod';
import { zodIssues, type FieldIssue } from '../src/errors.ts';
import { ProviderName } from '../src/invoice/order.ts';
import { AbandonSchema, AcceptSchema, AttachSchema, ReissueSchema, Who } from '../src/invoice/repair.ts';
import { AccountName } from '../src/lanes/key.ts';

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
