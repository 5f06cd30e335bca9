import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Profile, ProfileNode } from '../../bench/cpu-profile.ts';
import { summarizeRolesOf, type RoleSummary } from '../../bench/roles.ts';

const ROOT = 'file:///repo';
const pkg = (name: string, file = 'index.js'): string => `${ROOT}/node_modules/${name}/${file}`;
const ours = (file: string): string => `${ROOT}/${file}`;

/** A profile with one stack per entry (root first, leaf last), each sampled `ms` milliseconds, one after the other. */
function profile(stacks: Array<{ frames: Array<[string, string]>; ms: number }>): Profile {
  const nodes: ProfileNode[] = [{ id: 1, callFrame: { functionName: '(root)', url: '' }, children: [] }];
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  for (const s of stacks) {
    let parent = nodes[0]!;
    for (const [functionName, url] of s.frames) {
      const node: ProfileNode = { id: nodes.length + 1, callFrame: { functionName, url }, children: [] };
      nodes.push(node);
      parent.children!.push(node.id);
      parent = node;
    }
    samples.push(parent.id);
    timeDeltas.push(s.ms * 1000);
  }
  return { startTime: 0, nodes, samples, timeDeltas };
}

function role(summary: RoleSummary, prefix: string): { ms: number; share: number; top: Array<{ what: string; ms: number }> } {
  const r = summary.roles.find((x) => x.role.startsWith(prefix));
  assert.ok(r, `no role ${prefix}`);
  return r;
}

test('self time goes to the nearest deciding frame: a shared concern at once, else the role of our file above', () => {
  const s = summarizeRolesOf(
    profile([
      // zod validating an order under the intake, below express: the API.
      {
        frames: [
          ['handle', pkg('router')],
          ['create', ours('src/http/invoices.ts')],
          ['validate', ours('src/invoice/intake.ts')],
          ['parse', pkg('zod')],
        ],
        ms: 10,
      },
      // The store's Redis write under submit: BullMQ/ioredis, whoever asked.
      {
        frames: [
          ['submitOrder', ours('src/invoice/submit.ts')],
          ['apply', ours('src/invoice/store.ts')],
          ['sendCommand', pkg('ioredis', 'built/Redis.js')],
        ],
        ms: 20,
      },
      // The store's own code under the create worker: the create worker (the store is shared and passes on).
      {
        frames: [
          ['process', ours('workers/create.ts')],
          ['apply', ours('src/invoice/store.ts')],
        ],
        ms: 5,
      },
      // A log line's JSON, native under pino under submit: logging.
      {
        frames: [
          ['submitOrder', ours('src/invoice/submit.ts')],
          ['info', pkg('pino', 'lib/proto.js')],
          ['stringify', ''],
        ],
        ms: 4,
      },
      // The relay's socket write in Node core: the relay.
      {
        frames: [
          ['flush', ours('src/invoice/relay.ts')],
          ['writeGeneric', 'node:internal/stream_base_commons'],
        ],
        ms: 3,
      },
      // Tracing packages decide at once.
      {
        frames: [
          ['clientSpan', ours('src/providers/http.ts')],
          ['startSpan', pkg('@opentelemetry/sdk-trace-base')],
        ],
        ms: 2,
      },
      // A callback's route.
      {
        frames: [
          ['handle', pkg('express')],
          ['callback', ours('src/http/callbacks.ts')],
        ],
        ms: 1,
      },
    ]),
  );
  assert.equal(s.busyMs, 45);
  assert.equal(role(s, 'API').ms, 10);
  assert.deepEqual(role(s, 'API').top, [{ what: 'zod', ms: 10 }]);
  assert.equal(role(s, 'BullMQ/ioredis').ms, 20);
  assert.equal(role(s, 'create worker').ms, 5);
  assert.deepEqual(role(s, 'create worker').top, [{ what: 'ours: src/invoice/store.ts', ms: 5 }]);
  assert.equal(role(s, 'logging').ms, 4);
  assert.equal(role(s, 'relay').ms, 3);
  assert.equal(role(s, 'tracing').ms, 2);
  assert.equal(role(s, 'callbacks').ms, 1);
  assert.equal(Math.round(s.roles.reduce((a, r) => a + r.share, 0)), 100);
});

test('a stack with no deciding frame goes to its first package with a fallback role, else to other; idle is not busy', () => {
  const s = summarizeRolesOf(
    profile([
      // undici parsing an answer with no caller on the stack: the create worker's provider requests.
      { frames: [['onData', pkg('undici', 'lib/dispatcher/client-h1.js')]], ms: 6 },
      // express with no route of ours under it: the API.
      { frames: [['next', pkg('express')]], ms: 2 },
      // The store's continuation after an await, with no caller: other, named by its file.
      {
        frames: [
          ['apply', ours('src/invoice/store.ts')],
          ['JSON.parse', ''],
        ],
        ms: 3,
      },
      { frames: [['(garbage collector)', '']], ms: 7 },
      { frames: [['(program)', '']], ms: 1 },
      { frames: [['(idle)', '']], ms: 100 },
    ]),
  );
  assert.equal(s.idleMs, 100);
  assert.equal(s.busyMs, 19);
  assert.equal(role(s, 'create worker').ms, 6);
  assert.equal(role(s, 'API').ms, 2);
  assert.equal(role(s, 'GC').ms, 7);
  assert.equal(role(s, 'other').ms, 4);
  assert.deepEqual(
    role(s, 'other').top.map((t) => t.what),
    ['ours: src/invoice/store.ts', 'V8 / native (program)'],
  );
});

test('only samples inside the window count', () => {
  const p = profile([
    { frames: [['a', ours('src/invoice/relay.ts')]], ms: 1 },
    { frames: [['b', ours('src/http/app.ts')]], ms: 1 },
    { frames: [['c', ours('src/invoice/relay.ts')]], ms: 1 },
  ]);
  // Sample times: 1000, 2000 and 3000 µs.
  const s = summarizeRolesOf(p, { fromUs: 1500, toUs: 2500 });
  assert.equal(s.busyMs, 1);
  assert.equal(role(s, 'API').ms, 1);
  assert.equal(role(s, 'relay').ms, 0);
});
