import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STATUSES, TERMINAL, isTerminal, transition, type Status, type TransitionOutcome } from '../../src/invoice/state.ts';

/**
 * The whole table, written out by hand. Rows are the current status, columns the proposed one.
 * A = apply, D = ignore as duplicate, T = ignore because the current status is terminal,
 * B = ignore as backwards. Open statuses only move forward (skipping is fine: callbacks get lost);
 * `rejected` is reachable only from `queued`; terminal statuses absorb everything.
 */
const TABLE = `
             queued  created  pending  processing  paid  expired  failed  cancelled  rejected
queued       D       A        A        A           A     A        A       A          A
created      B       D        A        A           A     A        A       A          B
pending      B       B        D        A           A     A        A       A          B
processing   B       B        B        D           A     A        A       A          B
paid         T       T        T        T           D     T        T       T          T
expired      T       T        T        T           T     D        T       T          T
failed       T       T        T        T           T     T        D       T          T
cancelled    T       T        T        T           T     T        T       D          T
rejected     T       T        T        T           T     T        T       T          D
`;

function expectedTable(): Map<string, TransitionOutcome> {
  const [header, ...rows] = TABLE.trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/));
  const columns = header as Status[];
  const table = new Map<string, TransitionOutcome>();
  for (const [from, ...cells] of rows as Array<[Status, ...string[]]>) {
    cells.forEach((cell, i) => {
      const to = columns[i]!;
      const outcome: TransitionOutcome =
        cell === 'A' ? { kind: 'apply', from, to } : { kind: 'ignore', reason: cell === 'D' ? 'duplicate' : cell === 'T' ? 'terminal' : 'backwards' };
      table.set(`${from}->${to}`, outcome);
    });
  }
  return table;
}

test('the hand-written table covers every pair of statuses', () => {
  const table = expectedTable();
  assert.equal(table.size, STATUSES.length * STATUSES.length);
  for (const from of STATUSES) for (const to of STATUSES) assert.ok(table.has(`${from}->${to}`), `${from}->${to}`);
});

test('transition() matches the full transition table', () => {
  const table = expectedTable();
  for (const from of STATUSES) {
    for (const to of STATUSES) {
      assert.deepEqual(transition(from, to), table.get(`${from}->${to}`), `${from} -> ${to}`);
    }
  }
});

test('the status set and the terminal set are exactly the documented ones', () => {
  assert.deepEqual([...STATUSES], ['queued', 'created', 'pending', 'processing', 'paid', 'expired', 'failed', 'cancelled', 'rejected']);
  assert.deepEqual([...TERMINAL].sort(), ['cancelled', 'expired', 'failed', 'paid', 'rejected']);
  for (const s of STATUSES) assert.equal(isTerminal(s), TERMINAL.has(s), s);
  for (const s of ['queued', 'created', 'pending', 'processing'] as const) assert.equal(isTerminal(s), false, s);
});

test('legal forward moves along the happy path apply', () => {
  const path: Status[] = ['queued', 'created', 'pending', 'processing', 'paid'];
  for (let i = 0; i + 1 < path.length; i++) {
    assert.deepEqual(transition(path[i]!, path[i + 1]!), { kind: 'apply', from: path[i], to: path[i + 1] });
  }
});

test('skipping forward applies (a callback may be lost)', () => {
  assert.deepEqual(transition('created', 'paid'), { kind: 'apply', from: 'created', to: 'paid' });
  assert.deepEqual(transition('queued', 'pending'), { kind: 'apply', from: 'queued', to: 'pending' });
  assert.deepEqual(transition('created', 'processing'), { kind: 'apply', from: 'created', to: 'processing' });
});

test('rejected is reachable only from queued', () => {
  assert.deepEqual(transition('queued', 'rejected'), { kind: 'apply', from: 'queued', to: 'rejected' });
  for (const from of ['created', 'pending', 'processing'] as const) {
    assert.deepEqual(transition(from, 'rejected'), { kind: 'ignore', reason: 'backwards' }, from);
  }
});

test('terminal statuses absorb every other status', () => {
  for (const from of TERMINAL) {
    for (const to of STATUSES) {
      if (to === from) continue;
      assert.deepEqual(transition(from, to), { kind: 'ignore', reason: 'terminal' }, `${from} -> ${to}`);
    }
  }
});

test('a repeat of the current status is a duplicate', () => {
  for (const s of STATUSES) assert.deepEqual(transition(s, s), { kind: 'ignore', reason: 'duplicate' }, s);
});

test('open statuses never move backwards', () => {
  const open: Status[] = ['queued', 'created', 'pending', 'processing'];
  for (let i = 0; i < open.length; i++) {
    for (let j = 0; j < i; j++) {
      assert.deepEqual(transition(open[i]!, open[j]!), { kind: 'ignore', reason: 'backwards' }, `${open[i]} -> ${open[j]}`);
    }
  }
});

test('any stream of events (duplicates, late, out of order) only moves forward and stops at a terminal (property)', () => {
  const rank = (s: Status): number => (isTerminal(s) ? 4 : ['queued', 'created', 'pending', 'processing'].indexOf(s));
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...STATUSES), { maxLength: 40 }), (events) => {
      let current: Status = 'queued';
      let applied = 0;
      for (const to of events) {
        const outcome = transition(current, to);
        if (outcome.kind === 'apply') {
          assert.equal(outcome.from, current);
          assert.equal(outcome.to, to);
          assert.ok(rank(to) > rank(current), `${current} -> ${to}`);
          assert.equal(isTerminal(current), false);
          current = to;
          applied++;
        }
      }
      // queued -> created -> pending -> processing -> terminal is the longest possible history.
      assert.ok(applied <= 4);
      // Replaying the same stream again changes nothing: every event is now old news.
      for (const to of events) assert.equal(transition(current, to).kind, 'ignore', `replayed ${to} moved ${current}`);
    }),
  );
});
