/**
 * Hostile job payloads. Jobs normally enter only through the typed enqueue helpers, but Redis is
 * shared infrastructure: an operator tool, an old producer or an attacker with Redis access can
 * put anything on a queue. Generated payloads (any JSON, valid jobs with one field made wrong,
 * `__proto__` keys, huge strings) are refused by each queue's schema; put straight onto the
 * queues, each fails at once and for good (no retry spent on it), with a reason, and without a
 * provider request, a record, a result or a crashed worker.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Job, Queue } from 'bullmq';
import { CreateJobSchema } from '../../queues/create.ts';
import { EventJobSchema } from '../../queues/events.ts';
import { PollJobSchema } from '../../queues/poll.ts';
import { ProviderName } from '../../src/invoice/order.ts';
import { startTestSystem, type TestSystem } from '../helpers/system.ts';
import { fingerprint, healthy } from './helpers.ts';

const validCreate = { v: 1, provider: 'alphapo', kind: 'invoice', foreign_id: 'job-1' };
const validEvent = {
  v: 1,
  provider: 'cryptoprocessing',
  update: {
    foreignId: 'job-1',
    providerInvoiceId: '826900',
    providerStatus: 'confirmed',
    status: 'paid',
    receivedAmount: '100.5',
    receivedCurrency: 'EUR',
    dedupeKey: 'invoice:826900:confirmed:1',
  },
  received_at: '2026-01-01T00:00:00.000Z',
};

/** JSON text with an own `__proto__` (or `constructor`) key, as JSON.parse would keep it. */
const withReservedKey = (base: object): fc.Arbitrary<unknown> =>
  fc.constantFrom('__proto__', 'constructor').map((key) => JSON.parse(JSON.stringify(base).replace(/^\{/, `{"${key}":{"polluted":true},`)) as unknown);

const badIdentityJob = (base: Record<string, unknown>): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).filter((v) => !(v && typeof v === 'object' && !Array.isArray(v) && (v as Record<string, unknown>).v === 1)),
    fc.oneof(fc.constant(2), fc.constant('1'), fc.constant(null), fc.constant(0)).map((v) => ({ ...base, v })),
    fc
      .oneof(
        // Not a provider id at all (a well-formed one of a provider not configured is the worker's lane check).
        fc.string().filter((s) => !ProviderName.safeParse(s).success),
        fc.integer(),
      )
      .map((provider) => ({ ...base, provider })),
    fc
      .oneof(
        fc.string().filter((s) => s !== 'invoice' && s !== 'payment_request'),
        fc.constant(null),
      )
      .map((kind) => ({ ...base, kind })),
    fc
      .oneof(fc.constant(''), fc.string({ minLength: 256, maxLength: 100_000 }), fc.integer(), fc.constant(null), fc.object({ maxDepth: 1 }))
      .map((foreign_id) => ({ ...base, foreign_id })),
    fc
      .string({ minLength: 1, maxLength: 20 })
      .filter((k) => !(k in base) && k !== '__proto__')
      .map((k) => ({ ...base, [k]: 'extra' })),
    fc.constantFrom('v', 'provider', 'kind', 'foreign_id').map((k) => {
      const o = { ...base };
      delete o[k];
      return o;
    }),
    withReservedKey(base),
  );

const badEventJob: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).filter((v) => !(v && typeof v === 'object' && !Array.isArray(v) && (v as Record<string, unknown>).v === 1)),
  fc
    .oneof(
      fc.string().filter((s) => !['paid', 'created', 'pending', 'processing', 'expired', 'failed', 'cancelled', 'rejected', 'queued', 'unresolved'].includes(s)),
      fc.integer(),
    )
    .map((status) => ({ ...validEvent, update: { ...validEvent.update, status } })),
  fc.constantFrom('', 'x'.repeat(1001)).map((dedupeKey) => ({ ...validEvent, update: { ...validEvent.update, dedupeKey } })),
  fc.constantFrom('1e5', '-1', 'lots', '1.2.3', '0x10').map((receivedAmount) => ({ ...validEvent, update: { ...validEvent.update, receivedAmount } })),
  fc.constantFrom('yesterday', '2026-13-01T00:00:00Z', '').map((received_at) => ({ ...validEvent, received_at })),
  fc.string({ minLength: 601, maxLength: 2000 }).map((invoice_id) => ({ ...validEvent, invoice_id })),
  fc.constant({ ...validEvent, update: { ...validEvent.update, raw: { end_user_email: 'someone@example.com' } } }),
  fc.constant({ ...validEvent, update: 'paid' }),
  withReservedKey(validEvent),
);

const badCreateJob = badIdentityJob(validCreate);
const badPollJob = badIdentityJob({ v: 1, provider: 'cryptosteroid', kind: 'invoice', foreign_id: 'job-1' });

describe('hostile job payloads', () => {
  it('each queue schema refuses them (and still takes a valid job)', () => {
    assert.equal(CreateJobSchema.safeParse(validCreate).success, true);
    assert.equal(PollJobSchema.safeParse({ ...validCreate, provider: 'cryptosteroid' }).success, true);
    assert.equal(EventJobSchema.safeParse(validEvent).success, true);
    fc.assert(
      fc.property(badCreateJob, (job) => !CreateJobSchema.safeParse(job).success),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(badPollJob, (job) => !PollJobSchema.safeParse(job).success),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(badEventJob, (job) => !EventJobSchema.safeParse(job).success),
      { numRuns: 300 },
    );
  });

  describe('put straight onto the queues of running workers', () => {
    let t: TestSystem;
    before(async () => {
      t = await startTestSystem({ env: { CREATE_ATTEMPTS: '5', EVENTS_ATTEMPTS: '5', EVENTS_BACKOFF_MS: '20' } });
    });
    after(async () => {
      await t.close();
    });

    it('each fails at once, for good, with a reason, and changes nothing', async () => {
      const storeBefore = JSON.parse(await fingerprint(t)) as { keys: number; store: string };
      const sent: Array<{ queue: Queue; id: string }> = [];
      const batches: Array<[Queue, fc.Arbitrary<unknown>]> = [
        [t.system.lane('cryptoprocessing').createQueue, badCreateJob],
        [t.system.lane('cryptoprocessing').pollQueue, badPollJob],
        [t.system.eventsQueue, badEventJob],
      ];
      let n = 0;
      for (const [queue, arb] of batches) {
        for (const data of fc.sample(arb, 25)) {
          const id = `hostile-${n++}`;
          // Straight through BullMQ: no enqueue helper, no schema on the way in.
          await queue.add('hostile', data, { jobId: id });
          sent.push({ queue, id });
        }
      }
      const states = await t.waitFor(
        async () => {
          const all = await Promise.all(sent.map(async (s) => (await s.queue.getJob(s.id)) as Job | undefined));
          return all.every((j) => j && j.failedReason) ? all : undefined;
        },
        'every hostile job to fail',
        30_000,
      );
      for (const job of states) {
        const j = job as Job;
        assert.equal(j.attemptsMade, 1, `${j.queueName}/${j.id}: failed at once, no retry (${j.failedReason})`);
        assert.match(j.failedReason, /^invalid job data/, `${j.queueName}/${j.id}: ${j.failedReason}`);
        assert.equal(await j.getState(), 'failed');
      }
      const stats = t.sandbox.stats();
      assert.equal(stats.cryptoprocessing.received + stats.alphapo.received + stats.cryptosteroid.received, 0, 'no provider request');
      assert.equal(await t.system.resultsQueue.count(), 0, 'no result published');
      const storeAfter = JSON.parse(await fingerprint(t)) as { keys: number; store: string };
      assert.deepEqual({ keys: storeAfter.keys, store: storeAfter.store }, { keys: storeBefore.keys, store: storeBefore.store }, 'no record written');
      assert.ok(
        t.system.workers?.workers.every((w) => w.isRunning()),
        'every worker still running',
      );
      assert.ok(await healthy(t));
    });
  });
});
