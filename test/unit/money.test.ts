import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { asJsonNumberLiteral, compare, isZero, normalize, positiveDecimal } from '../../src/money.ts';

/** Exact value of a decimal string as (integer numerator, number of fraction digits), no floats. */
function exact(value: string): { n: bigint; scale: number } {
  const [int = '0', frac = ''] = value.split('.');
  return { n: BigInt(int + frac), scale: frac.length };
}

function referenceCompare(a: string, b: string): -1 | 0 | 1 {
  const x = exact(a);
  const y = exact(b);
  const scale = Math.max(x.scale, y.scale);
  const xn = x.n * 10n ** BigInt(scale - x.scale);
  const yn = y.n * 10n ** BigInt(scale - y.scale);
  return xn === yn ? 0 : xn < yn ? -1 : 1;
}

/** Decimal strings in the accepted grammar: up to 18 integer digits, up to 18 fraction digits. */
const decimalArb = fc
  .tuple(
    fc.oneof(fc.constant('0'), fc.bigInt({ min: 1n, max: 10n ** 18n - 1n }).map(String)),
    fc.option(fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 18 }), { nil: undefined }),
  )
  .map(([int, frac]) => (frac === undefined ? int : `${int}.${frac}`));

test('positiveDecimal accepts plain positive decimal strings', () => {
  for (const ok of ['1', '0.1', '100.50', '100', '0.000000000000000001', '999999999999999999.999999999999999999', '10.00']) {
    assert.equal(positiveDecimal.safeParse(ok).success, true, ok);
  }
});

test('positiveDecimal refuses zero, signs, exponents, leading zeros, stray dots and non-strings', () => {
  const bad: unknown[] = [
    '0',
    '0.0',
    '0.000',
    '-1',
    '+1',
    '1e3',
    '1E3',
    '01',
    '00.5',
    '.5',
    '1.',
    '1,50',
    ' 1',
    '1 ',
    '',
    'NaN',
    'Infinity',
    '0x10',
    '1.0000000000000000001',
    '1000000000000000000',
    100.5,
    100,
    null,
    undefined,
  ];
  for (const value of bad) {
    assert.equal(positiveDecimal.safeParse(value).success, false, JSON.stringify(value));
  }
});

test('positiveDecimal names the reason for zero apart from a malformed string', () => {
  const zero = positiveDecimal.safeParse('0.00');
  assert.equal(zero.success, false);
  assert.match(zero.error.issues[0]!.message, /greater than 0/);
  const malformed = positiveDecimal.safeParse('1e3');
  assert.equal(malformed.success, false);
  assert.match(malformed.error.issues[0]!.message, /decimal string/);
});

test('normalize drops leading integer zeros and trailing fraction zeros', () => {
  const cases: Array<[string, string]> = [
    ['100.50', '100.5'],
    ['007', '7'],
    ['1.000', '1'],
    ['0.10', '0.1'],
    ['0', '0'],
    ['0.000', '0'],
    ['100', '100'],
    ['10.01', '10.01'],
    ['000.0500', '0.05'],
  ];
  for (const [input, expected] of cases) assert.equal(normalize(input), expected, input);
});

test('normalize keeps the exact value and is idempotent (property)', () => {
  fc.assert(
    fc.property(decimalArb, (value) => {
      const n = normalize(value);
      assert.equal(referenceCompare(n, value), 0);
      assert.equal(normalize(n), n);
      assert.doesNotMatch(n, /\.\d*0$|\.$|^0\d/);
    }),
  );
});

test('compare orders by value, not by text or float', () => {
  const cases: Array<[string, string, -1 | 0 | 1]> = [
    ['100.50', '100.5', 0],
    ['007', '7', 0],
    ['9', '10', -1],
    ['10', '9', 1],
    ['0.1', '0.09', 1],
    ['0.09', '0.1', -1],
    ['1.000', '1', 0],
    ['2', '10.5', -1],
    ['0.30000000000000000', '0.3', 0],
    // Floats would call these equal: 2^53 + 1 vs 2^53, and a fraction beyond double precision.
    ['9007199254740993', '9007199254740992', 1],
    ['0.100000000000000001', '0.1', 1],
  ];
  for (const [a, b, expected] of cases) assert.equal(compare(a, b), expected, `${a} vs ${b}`);
});

test('compare agrees with exact integer arithmetic and is antisymmetric (property)', () => {
  fc.assert(
    fc.property(decimalArb, decimalArb, (a, b) => {
      assert.equal(compare(a, b), referenceCompare(a, b));
      assert.equal(compare(b, a), -compare(a, b) || 0);
      assert.equal(compare(a, a), 0);
    }),
  );
});

test('isZero is true only for zero values', () => {
  for (const zero of ['0', '0.0', '0.000000', '000']) assert.equal(isZero(zero), true, zero);
  for (const nonZero of ['1', '0.01', '10', '0.000000000000000001', '100.50']) assert.equal(isZero(nonZero), false, nonZero);
});

test('asJsonNumberLiteral emits the canonical digits as a JSON number literal', () => {
  assert.equal(asJsonNumberLiteral('100.50'), '100.5');
  assert.equal(asJsonNumberLiteral('106.75'), '106.75');
  assert.equal(asJsonNumberLiteral('100'), '100');
  // The digits on the wire are ours: no float rounding even past double precision.
  assert.equal(asJsonNumberLiteral('0.100000000000000001'), '0.100000000000000001');
  assert.equal(asJsonNumberLiteral('9007199254740993'), '9007199254740993');
  const body = `{"amount":${asJsonNumberLiteral('100.50')}}`;
  assert.deepEqual(JSON.parse(body), { amount: 100.5 });
});

test('asJsonNumberLiteral refuses anything that is not a decimal string', () => {
  for (const bad of ['1e3', '-1', '+1', ' 1', '1.', '.5', '01', 'NaN', '', '1,5', '100.5 ']) {
    assert.throws(() => asJsonNumberLiteral(bad), TypeError, JSON.stringify(bad));
  }
});
