/**
 * Before lanes, every create job waited in `invoice-create` and every poll job in `invoice-poll`.
 * After an upgrade, whatever is left there is moved, job by job, into its lane's queue under the
 * same job id (so a job that is moved twice is still one job), then completed. The drain starts
 * only where such jobs exist, and a job of a lane this system does not run fails visibly instead
 * of vanishing.
 */
import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { CREATE_QUEUE, CreateJobSchema, createJobLane, enqueueCreate } from '../queues/create.ts';
import { POLL_QUEUE, PollJobSchema, enqueuePoll } from '../queues/poll.ts';
import { laneKey } from '../src/lanes/key.ts';
import type { Lanes } from '../src/lanes/lane.ts';
import { withOutcomeLine, type JobOutcome } from './lane-worker.ts';

const WAITING = ['wait', 'delayed', 'prioritized', 'active'] as const;

export interface LegacyDrain {
  workers: Worker[];
  close(): Promise<void>;
}

export async function drainLegacyQueues(connection: ConnectionOptions, prefix: string, lanes: Lanes, log: Logger): Promise<LegacyDrain> {
  const workers: Worker[] = [];
  for (const name of [CREATE_QUEUE, POLL_QUEUE]) {
    const queue = new Queue(name, { connection, prefix });
    const counts = await queue.getJobCounts(...WAITING);
    await queue.close();
    const left = Object.values(counts).reduce((a, b) => a + b, 0);
    if (!left) continue;
    log.warn({ queue: name, jobs: left }, 'jobs from before lanes found; moving them into their lanes');
    const lines = { queue: name, about: () => ({}), retry: 'could not move a job into its lane; will retry', final: 'could not move a job into its lane; kept in the failed set' };
    const processor = async (job: Job, out: JobOutcome): Promise<string> => {
      const to = await forward(name, job, lanes);
      out.info({ to }, 'moved into its lane');
      return to;
    };
    const worker = new Worker(name, withOutcomeLine(log, lines, processor), { connection, prefix, concurrency: 20, autorun: false });
    worker.on('error', (err) => log.error({ err, queue: name }, 'legacy drain error'));
    workers.push(worker);
    void worker.run();
  }
  return { workers, close: async () => void (await Promise.all(workers.map((w) => w.close()))) };
}

async function forward(name: string, job: Job, lanes: Lanes): Promise<string> {
  if (name === CREATE_QUEUE) {
    const data = CreateJobSchema.parse(job.data);
    const lane = lanes.get(createJobLane(data));
    if (!lane) throw new UnrecoverableError(`no lane ${createJobLane(data)} configured here`);
    await enqueueCreate(lane.createQueue, data);
    return lane.createQueue.name;
  }
  const data = PollJobSchema.parse(job.data);
  const lane = lanes.get(laneKey(data.provider, data.account));
  if (!lane) throw new UnrecoverableError(`no lane ${laneKey(data.provider, data.account)} configured here`);
  await enqueuePoll(lane.pollQueue, data, 0);
  return lane.pollQueue.name;
}
