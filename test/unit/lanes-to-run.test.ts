/**
 * LANES, the lanes a worker process runs: an unknown lane stops the boot before anything connects
 * to Redis. The system is given a Redis URL that cannot even be parsed into a connection: had it
 * tried to connect first, it would fail on the URL instead of naming the lane.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.ts';
import { lanesToRun } from '../../src/lanes/key.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { connect } from '../../src/redis/connect.ts';
import { startSystem } from '../../src/system.ts';

const CP = { CRYPTOPROCESSING_API_KEY: 'cp-key', CRYPTOPROCESSING_API_SECRET: 'cp-secret' };
const accounts = [
  { provider: 'cryptoprocessing', account: 'default' },
  { provider: 'alphapo', account: 'eu' },
];
/** A cluster URL without nodes: connecting to it throws at once, before any I/O. */
const UNCONNECTABLE = 'redis+cluster://';

test('LANES: unset runs every lane; named lanes must be configured, and an unknown one is named with the configured ones', () => {
  assert.equal(lanesToRun(undefined, accounts), undefined);
  assert.equal(lanesToRun(' , ', accounts), undefined);
  assert.deepEqual(lanesToRun('cryptoprocessing, alphapo@eu', accounts), ['cryptoprocessing', 'alphapo@eu']);
  assert.throws(() => lanesToRun('cryptoprocessing,alphapo', accounts), { message: 'LANES names alphapo, which is not a configured lane (cryptoprocessing, alphapo@eu)' });
});

test('an unknown lane in LANES stops the system before it opens a Redis connection', async () => {
  assert.throws(() => connect(UNCONNECTABLE), /cluster URL/, 'the URL this test relies on can no longer be told apart from a connection');
  const config = loadConfig({ ...CP, LANES: 'cryptoprocessing,nope' });
  await assert.rejects(startSystem({ config, redisUrl: UNCONNECTABLE, log: createLogger('silent') }), {
    message: 'LANES names nope, which is not a configured lane (cryptoprocessing)',
  });
});
