import { test } from 'node:test';
import assert from 'node:assert/strict';
import { targetRows, targets, verdict } from '../../bench/targets.ts';

test('each target is met or missed from the run, on its own side of the limit', () => {
  const run = {
    'all-in-one': { ratio: 0.7, cpuMsPerOrder: { system: { redis: 0.151 } } },
    pinned: { measured: true, ratio: 0.84 },
    create: { cpuMsPerOrder: { system: { redis: 0.15, worker: 0.26 } } },
    latency: { workerRss: { medianMb: 200 } },
  };
  const got = Object.fromEntries(targets(run).map((t) => [t.figure, verdict(t)]));
  assert.deepEqual(Object.values(got), ['met', 'missed', 'met', 'missed', 'missed', 'met']);
});

test('a target whose scenario did not run, or could not measure, is not measured (never met)', () => {
  const rows = targetRows({ pinned: { measured: false, reason: 'needs at least 2 CPUs', ratio: 0.99 } });
  assert.equal(rows.length, 6);
  for (const [, value, target] of rows) {
    assert.match(value, /^n\/a \(scenario [\w-]+ not run\)$/);
    assert.match(target, /: not measured$/);
  }
});
