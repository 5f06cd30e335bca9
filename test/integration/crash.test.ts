/**
 * Guarantee 1 across a worker killed with SIGKILL while its create request is in flight: the
 * restarted worker never leaves two payable invoices, and never reports the order as failed. On the
 * platform (which refuses a repeated foreign_id and documents a cancel) the orphan is cancelled and
 * the order created again under a derived foreign_id, with no operator; CryptoSteroid is parked.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { startWorkerProcess, workerEnv } from '../helpers/worker-process.ts';

describe('worker killed mid-request', () => {
  let sandbox: Sandbox;
  let t: TestSystem;
  before(async () => {
    sandbox = await startSandbox({ port: 0 });
    t = await startTestSystem({ useSandbox: sandbox, role: 'api' });
  });
  after(async () => {
    await t.close();
    await sandbox.close();
  });

  const cases = [
    { provider: 'cryptoprocessing', commit: true, expect: 'recovered' },
    { provider: 'alphapo', commit: false, expect: 'created' },
    { provider: 'cryptosteroid', commit: true, expect: 'parked' },
  ] as const;

  for (const c of cases) {
    it(`${c.provider}: SIGKILL while the provider ${c.commit ? 'has committed' : 'has not committed'} → one invoice at most, ${c.expect}`, async () => {
      const id = `kill-${c.provider}`;
      sandbox.addFault({ provider: c.provider, fault: 'hang', count: 1, commit: c.commit });
      const first = startWorkerProcess(workerEnv(sandbox, t.prefix));
      assert.equal((await t.post('/v1/invoices', sampleOrder(c.provider, id))).status, 202);
      await t.waitFor(async () => (sandbox.stats()[c.provider].byStatus.hang ?? 0) >= 1, 'the request to be in flight');
      const killed = await first.kill('SIGKILL');
      assert.equal(killed.signal, 'SIGKILL');

      const second = startWorkerProcess(workerEnv(sandbox, t.prefix));
      try {
        const rec = await t.waitFor(
          async () => {
            const r = await t.system.store.get(c.provider, id);
            return r && ((r.status !== 'queued' && r.payment_url) || r.reconcile) ? r : null;
          },
          `the restarted worker to settle ${id}`,
          30_000,
        );
        assert.equal(sandbox.count(c.provider, id), c.commit || c.expect === 'created' ? 1 : 0);
        assert.ok(sandbox.count(c.provider, id) <= 1, 'never two invoices');
        if (c.expect === 'recovered') {
          // The orphan (its answer died with the worker) is cancelled at the provider; the order
          // went again under `<id>~r1`: one payable invoice, no operator.
          assert.equal(rec.status, 'created');
          assert.equal(rec.reconcile, null, 'not parked');
          assert.equal(rec.provider_foreign_id, `${id}~r1`);
          assert.equal(sandbox.invoice(c.provider, id)?.status, 'failed', 'the orphan is cancelled (it ends failed at the platform)');
          assert.equal(sandbox.count(c.provider, `${id}~r1`), 1);
          const payable = sandbox.invoices(c.provider).filter((i) => (i.foreignId === id || i.foreignId === `${id}~r1`) && ['created', 'pending', 'processing'].includes(i.status));
          assert.equal(payable.length, 1, 'exactly one payable invoice');
          await t.waitFor(async () => (await t.results()).some((r) => r.foreign_id === id && r.status === 'created'), 'the created result');
          assert.equal(rec.payment_url, payable[0]?.paymentUrl, 'the published URL is the payable one');
        }
        // The relay publishes just after the record changes: wait for it when a result is owed.
        if (c.expect === 'created') await t.waitFor(async () => (await t.results()).some((r) => r.foreign_id === id), 'the created result');
        const results = (await t.results()).filter((r) => r.foreign_id === id);
        assert.equal(
          results.some((r) => r.status === 'rejected' || r.status === 'failed'),
          false,
          'never reported as failed',
        );
        if (c.expect === 'created') {
          assert.equal(rec.status, 'created');
          assert.deepEqual(
            results.map((r) => r.status),
            ['created'],
          );
        } else if (c.expect === 'parked') {
          assert.equal(rec.status, 'queued');
          assert.ok(rec.reconcile, 'parked for reconciliation with a reason');
          // Announced as parked (once, when the relay has run), and nothing else.
          assert.ok(
            results.every((r) => r.event === 'parked'),
            'no transition published',
          );
          assert.ok(results.length <= 1);
        }
        if (c.provider === 'cryptosteroid') {
          assert.equal(sandbox.stats().cryptosteroid.received, 1, 'CryptoSteroid is never re-sent after an unknown outcome');
        }
      } finally {
        await second.kill('SIGTERM');
      }
    });
  }
});
