/**
 * Repairs in Bull Board: what the board offers an operator to start one from. Bull Board fills its
 * "Add job" form from a job an operator duplicates, so each repair has a template job waiting in
 * `invoice-repairs`, and the form describes the data an operator types (a JSON schema). The
 * repair jobs themselves (names, schemas, the queue) are queues/repairs.ts; the board's route that
 * turns a typed form into a job is src/http/admin.ts.
 */
import { FlowProducer, type ConnectionOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { REPAIRS_QUEUE, REPAIR_ACTIONS, type RepairAction, type RepairsQueue } from '../../queues/repairs.ts';
import { ProviderName } from '../invoice/order.ts';
import { AccountName } from '../lanes/key.ts';

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
