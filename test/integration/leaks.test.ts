/**
 * The test helpers' leak detection can fail: a worker left running on a stopped system's prefix
 * makes its close() reject, naming the connection; closing the worker clears it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'bullmq';
import { assertNoLeakedConnections, REDIS_URL } from '../helpers/redis.ts';
import { startTestSystem } from '../helpers/system.ts';

describe('leak detection', () => {
  it('a stopped system with a worker of its prefix still open fails, and passes once it is closed', async () => {
    const t = await startTestSystem({ role: 'api' });
    const leaked = new Worker('invoice-events', async () => undefined, { connection: { url: REDIS_URL }, prefix: t.prefix });
    await leaked.waitUntilReady();
    await assert.rejects(t.close(), /connections of test-[^ ]+ left open after it was stopped: test-/);
    await leaked.close();
    await assertNoLeakedConnections(t.prefix);
  });
});
