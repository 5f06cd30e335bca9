/**
 * Provider answers that never end or never stop, through the real worker and the sandbox: an
 * answer dripping a byte at a time fails at the one deadline (HTTP_RESPONSE_TIMEOUT_MS, headers and
 * body together) as an unknown outcome and frees the lane's only slot for the next order; 50 MB
 * answers are cut at PROVIDER_MAX_BODY_BYTES, and the worker's memory does not follow them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

describe('provider answers: one deadline and a size cap', () => {
  let t: TestSystem;
  before(async () => {
    // One slot per lane, so a held slot shows; a breaker that never opens, so twenty unknown outcomes in a row are all sent.
    t = await startTestSystem({ env: { CREATE_CONCURRENCY: '1', HTTP_RESPONSE_TIMEOUT_MS: '1500', BREAKER_FAILURES: '1000' } });
  });
  after(async () => {
    await t?.close();
  });

  const statusOf = async (id: string) => (await t.system.store.get('cryptoprocessing', id))?.status;

  it('a create answer that drips a byte every 300 ms fails at the deadline and frees the slot (concurrency 1) for the next order', async () => {
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'drip', ms: 300, count: 1 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'drip-a'))).status, 202);
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'drip-b'))).status, 202);
    await t.waitFor(async () => (await statusOf('drip-b')) === 'created', 'the order behind the drip created');
    await t.waitFor(async () => t.logs.some((l) => l.includes('no full answer within 1500 ms')), 'the drip ended as an unknown outcome');
    assert.equal(t.sandbox.stats().cryptoprocessing.byStatus.drip, 1, 'one dripping answer');
  });

  it('twenty 50 MB answers are each cut at the cap; memory stays bounded', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `huge-${i}`);
    const rssBefore = process.memoryUsage().rss;
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'huge', count: ids.length });
    for (const id of ids) assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', id))).status, 202);
    await t.waitFor(async () => t.logs.filter((l) => l.includes('answer larger than 1048576 bytes')).length >= ids.length, 'every huge answer cut', 60_000);
    const grewMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    console.log(`# 20 answers of 50 MB: RSS grew ${grewMb.toFixed(1)} MB (sandbox and worker in one process)`);
    // Generous: reading the answers whole would be 1000 MB.
    assert.ok(grewMb < 300, `RSS grew ${grewMb.toFixed(1)} MB`);
  });
});
