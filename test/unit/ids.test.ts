import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeForeignId, encodeForeignId, invoiceId, jobId } from '../../src/ids.ts';
import { OrderObject, OrderSchema } from '../../src/invoice/order.ts';
import { PROVIDER_IDS as PROVIDERS } from '../../src/providers/registry.ts';
import { STATUSES } from '../../src/invoice/state.ts';

const QUEUES = ['invoice-create', 'invoice-events', 'invoice-poll', 'invoice-results'] as const;

/** The custom job id rules BullMQ enforces when a job is added. */
function bullmqRejects(id: string): string | undefined {
  if (`${parseInt(id, 10)}` === id) return 'Custom Id cannot be integers';
  if (id.includes(':')) return 'Custom Id cannot contain :';
  return undefined;
}

function assertLegalJobId(id: string): void {
  assert.equal(bullmqRejects(id), undefined, `BullMQ refuses ${JSON.stringify(id)}`);
  assert.ok(!id.includes(':'), `":" in ${JSON.stringify(id)}`);
  assert.doesNotMatch(id, /^\d+$/, `all digits: ${JSON.stringify(id)}`);
  assert.ok(id.length > 0);
}

function isLegalForeignId(s: string): boolean {
  return OrderObject.shape.foreign_id.safeParse(s).success;
}

/** Any legal foreign_id, biased towards the awkward ones. */
const foreignIdArb = fc
  .oneof(
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 255 }),
    fc.string({ unit: fc.constantFrom(...'ab:9'), minLength: 1, maxLength: 40 }),
    fc.string({ unit: fc.constantFrom(...'AZaz09_-'), minLength: 1, maxLength: 255 }),
    fc.string({ unit: fc.constantFrom(...'r.b:- _0'), minLength: 1, maxLength: 20 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 255 }),
    fc.string({ minLength: 1, maxLength: 255 }),
  )
  .filter(isLegalForeignId);

const stepArb = fc.option(fc.constantFrom(...STATUSES), { nil: undefined });

const AWKWARD: string[] = [
  '123456',
  '0',
  '007',
  '9'.repeat(255),
  'a'.repeat(255),
  'ORD-2024_001',
  'a:b',
  ':',
  '::',
  '1:2:3',
  '12:34',
  'Müller',
  '注文-42',
  '😀',
  '👩‍👩‍👧‍👦',
  '😀'.repeat(127),
  'é'.repeat(255),
  'with space',
  ' ',
  ' 123 ',
  '.',
  '..',
  'r.abc',
  'b.abc',
  'r.',
  'b.',
  '-',
  '_',
  '1e5',
  '0x10',
  '-1',
  'line\nbreak',
  '\u0000',
  'tab\there',
];

test('the awkward examples are legal foreign_ids', () => {
  for (const id of AWKWARD) assert.equal(isLegalForeignId(id), true, JSON.stringify(id));
});

test('job ids are legal for BullMQ for every awkward foreign_id, in every queue, with and without a step', () => {
  for (const fid of AWKWARD) {
    const encoded = encodeForeignId(fid);
    assertLegalJobId(encoded);
    for (const provider of PROVIDERS) {
      assertLegalJobId(invoiceId(provider, fid));
      for (const queue of QUEUES) {
        assertLegalJobId(jobId(queue, provider, fid));
        for (const status of STATUSES) assertLegalJobId(jobId(queue, provider, fid, status));
      }
    }
  }
});

test('job ids are legal for BullMQ for any legal foreign_id (property)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...QUEUES), fc.constantFrom(...PROVIDERS), foreignIdArb, stepArb, (queue, provider, fid, step) => {
      assertLegalJobId(encodeForeignId(fid));
      assertLegalJobId(invoiceId(provider, fid));
      assertLegalJobId(jobId(queue, provider, fid, step));
    }),
    { numRuns: 2000 },
  );
});

test('digits-only foreign_ids never give an all-digit id', () => {
  for (const fid of ['0', '1', '123456', '9'.repeat(255)]) {
    const encoded = encodeForeignId(fid);
    assert.doesNotMatch(encoded, /^\d+$/);
    assert.notEqual(`${parseInt(encoded, 10)}`, encoded);
  }
});

test('safe foreign_ids stay readable; anything else is encoded', () => {
  assert.equal(encodeForeignId('123456'), 'r.123456');
  assert.equal(encodeForeignId('ORD-2024_001'), 'r.ORD-2024_001');
  assert.equal(encodeForeignId('a'.repeat(255)), `r.${'a'.repeat(255)}`);
  for (const fid of ['a:b', 'with space', 'Müller', '😀', 'r.abc', 'b.abc', '.']) {
    const encoded = encodeForeignId(fid);
    assert.ok(encoded.startsWith('b.'), `${JSON.stringify(fid)} -> ${encoded}`);
    assert.match(encoded, /^b\.[A-Za-z0-9_-]*$/);
  }
});

test('ids have the documented shape', () => {
  assert.equal(invoiceId('cryptoprocessing', '123456'), 'cryptoprocessing.r.123456');
  assert.equal(jobId('invoice-create', 'alphapo', '123456'), 'invoice-create.alphapo.r.123456');
  assert.equal(jobId('invoice-results', 'cryptosteroid', 'ORD-1', 'paid'), 'invoice-results.cryptosteroid.r.ORD-1.paid');
  assert.equal(jobId('invoice-create', 'alphapo', 'a:b'), `invoice-create.alphapo.b.${Buffer.from('a:b').toString('base64url')}`);
});

test('decode(encode(x)) round-trips every awkward foreign_id', () => {
  for (const fid of AWKWARD) assert.equal(decodeForeignId(encodeForeignId(fid)), fid, JSON.stringify(fid));
});

test('decode(encode(x)) round-trips any legal foreign_id (property)', () => {
  fc.assert(
    fc.property(foreignIdArb, (fid) => {
      assert.equal(decodeForeignId(encodeForeignId(fid)), fid);
    }),
    { numRuns: 2000 },
  );
});

test('encoding is deterministic', () => {
  fc.assert(
    fc.property(foreignIdArb, (fid) => {
      assert.equal(encodeForeignId(fid), encodeForeignId(fid));
    }),
  );
});

test('decodeForeignId refuses a string without a known prefix', () => {
  for (const bad of ['123456', 'x.abc', '', 'r', 'b', 'R.abc']) {
    assert.throws(() => decodeForeignId(bad), TypeError, JSON.stringify(bad));
  }
});

test('the awkward examples all encode differently', () => {
  const encoded = new Set(AWKWARD.map(encodeForeignId));
  assert.equal(encoded.size, new Set(AWKWARD).size);
});

test('distinct foreign_ids never share an encoded form (property)', () => {
  fc.assert(
    fc.property(foreignIdArb, foreignIdArb, (a, b) => {
      fc.pre(a !== b);
      assert.notEqual(encodeForeignId(a), encodeForeignId(b));
    }),
    { numRuns: 2000 },
  );
});

test('a raw foreign_id never collides with the encoded form of another', () => {
  // Take an id's encoded payload (or its whole encoded form) and use it as a foreign_id itself.
  fc.assert(
    fc.property(foreignIdArb, (fid) => {
      const encoded = encodeForeignId(fid);
      for (const other of [encoded, encoded.slice(2), `r.${encoded.slice(2)}`, `b.${encoded.slice(2)}`]) {
        if (other === fid || !isLegalForeignId(other)) continue;
        assert.notEqual(encodeForeignId(other), encoded, `${JSON.stringify(fid)} vs ${JSON.stringify(other)}`);
      }
    }),
    { numRuns: 2000 },
  );
  // The readable form of "w7w" and the encoded form of "ü" ("w7w" in base64url) stay apart.
  assert.equal(Buffer.from('ü').toString('base64url'), 'w7w');
  assert.notEqual(encodeForeignId('w7w'), encodeForeignId('ü'));
  assert.equal(decodeForeignId(encodeForeignId('w7w')), 'w7w');
  assert.equal(decodeForeignId(encodeForeignId('ü')), 'ü');
});

test('job ids are unique per (queue, provider, foreign_id, step) (property)', () => {
  const key = fc.tuple(fc.constantFrom(...QUEUES), fc.constantFrom(...PROVIDERS), foreignIdArb, stepArb);
  fc.assert(
    fc.property(key, key, (x, y) => {
      fc.pre(JSON.stringify(x) !== JSON.stringify(y));
      assert.notEqual(jobId(...x), jobId(...y));
    }),
    { numRuns: 2000 },
  );
  // Near misses constructed by hand: a step that looks like part of a foreign_id, and vice versa.
  assert.notEqual(jobId('q', 'alphapo', 'a', 'paid'), jobId('q', 'alphapo', 'a.paid'));
  assert.notEqual(jobId('q', 'alphapo', 'a'), jobId('q', 'alphapo', 'a', 'created'));
  assert.notEqual(invoiceId('alphapo', '1'), invoiceId('cryptoprocessing', '1'));
});

test('a lone UTF-16 surrogate (legal in a JSON string) is refused at the door, since it cannot be encoded faithfully', () => {
  const lone = JSON.parse('"\\ud800"') as string;
  assert.equal(lone, '\uD800');
  // The encoding itself cannot tell it from U+FFFD: the schema must keep it out.
  assert.equal(encodeForeignId(lone), encodeForeignId('\uFFFD'));
  const result = OrderSchema.safeParse({ provider: 'alphapo', foreign_id: `a${lone}`, amount: '10', currency: 'EUR' });
  assert.equal(result.success, false);
  assert.deepEqual(
    result.error.issues.map((i) => i.path.join('.')),
    ['foreign_id'],
  );
});
