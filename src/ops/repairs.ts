/**
 * The operator repairs (src/invoice/repair.ts) wired to this system: its store and lanes, how an
 * order's create job is sent again (./retry.ts), how an invoice's poll is scheduled. The domain
 * states what a repair needs; this is where those needs are met, for every caller of the repairs
 * (the API, the CLI, the invoice page and the repairs worker taking Bull Board's jobs).
 */
import type { Logger } from 'pino';
import { createJobId } from '../../queues/create.ts';
import { schedulePoll } from '../invoice/polling.ts';
import type { RepairDeps } from '../invoice/repair.ts';
import type { InvoiceStore } from '../invoice/store.ts';
import type { TrackSettings } from '../invoice/track.ts';
import type { Lanes } from '../lanes/lane.ts';
import { resendCreate } from './retry.ts';

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
