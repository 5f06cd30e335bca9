import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  DuplicateForeignId,
  OutcomeUnknown,
  ProviderAuth,
  ProviderError,
  ProviderRateLimited,
  ProviderRejected,
  ProviderUnavailable,
  ResponseShape,
  ValidationError,
  classify,
  zodIssues,
  type Disposition,
} from '../../src/errors.ts';

const ISSUES = [{ field: 'amount', message: 'must be a decimal string' }];

/** One instance of every class, with what classify() must answer and the stable code it carries. */
const CASES: Array<[label: string, err: Error, disposition: Disposition, code: string | undefined]> = [
  ['ProviderUnavailable (5xx)', new ProviderUnavailable('bad gateway', 'cryptoprocessing', 502), 'retry', 'PROVIDER_UNAVAILABLE'],
  ['ProviderUnavailable (transport)', new ProviderUnavailable('connect ECONNREFUSED', 'alphapo'), 'retry', 'PROVIDER_UNAVAILABLE'],
  ['ProviderRateLimited', new ProviderRateLimited('error code: 1015', 'cryptoprocessing', 429), 'rate-limited', 'PROVIDER_RATE_LIMITED'],
  ['OutcomeUnknown', new OutcomeUnknown('socket hang up after send', 'cryptosteroid'), 'unknown-outcome', 'OUTCOME_UNKNOWN'],
  ['DuplicateForeignId', new DuplicateForeignId('foreign_id already exists', 'cryptoprocessing', 400), 'duplicate', 'DUPLICATE_FOREIGN_ID'],
  ['ProviderRejected', new ProviderRejected('amount too small', 'alphapo', 400, { amount: 'min 10.00 EUR' }), 'permanent', 'PROVIDER_REJECTED'],
  ['ProviderAuth', new ProviderAuth('bad signature', 'cryptoprocessing', 403), 'permanent', 'PROVIDER_AUTH'],
  ['ResponseShape', new ResponseShape('cryptosteroid', 200, [{ field: 'data.id', message: 'Required' }]), 'permanent', 'RESPONSE_SHAPE'],
  ['ValidationError', new ValidationError(ISSUES), 'permanent', undefined],
  ['ConfigError (not a provider outcome: falls back to retry)', new ConfigError(ISSUES), 'retry', undefined],
  ['plain Error', new Error('boom'), 'retry', undefined],
  ['TypeError', new TypeError('x is undefined'), 'retry', undefined],
];

for (const [label, err, disposition] of CASES) {
  test(`classify(${label}) is ${disposition}`, () => {
    assert.equal(classify(err), disposition);
  });
}

test('classify() covers every disposition', () => {
  const seen = new Set(CASES.map(([, err]) => classify(err)));
  assert.deepEqual([...seen].sort(), ['duplicate', 'permanent', 'rate-limited', 'retry', 'unknown-outcome']);
});

test('classify() retries anything that is not an Error', () => {
  for (const thrown of [undefined, null, 'boom', 42, {}, { code: 'PROVIDER_REJECTED' }]) {
    assert.equal(classify(thrown), 'retry', JSON.stringify(thrown));
  }
});

test('classify() goes by class, never by name, code or message text', () => {
  const lookalike = Object.assign(new Error('PROVIDER_REJECTED: 400 validation'), { name: 'ProviderRejected', code: 'PROVIDER_REJECTED' });
  assert.equal(classify(lookalike), 'retry');
  const rateLike = Object.assign(new Error('429 Too Many Requests'), { name: 'ProviderRateLimited', code: 'PROVIDER_RATE_LIMITED' });
  assert.equal(classify(rateLike), 'retry');
  // And a real class keeps its disposition whatever its message says.
  assert.equal(classify(new ProviderRejected('503 service unavailable, retry later', 'alphapo', 400)), 'permanent');
  assert.equal(classify(new ProviderUnavailable('validation failed', 'alphapo', 503)), 'retry');
});

test('subclasses keep their parent class disposition', () => {
  class DetailedRejection extends ProviderRejected {}
  class SlowDown extends ProviderRateLimited {}
  class HungUp extends OutcomeUnknown {}
  assert.equal(classify(new DetailedRejection('no', 'alphapo', 422)), 'permanent');
  assert.equal(classify(new SlowDown('slow', 'alphapo', 429)), 'rate-limited');
  assert.equal(classify(new HungUp('lost', 'alphapo')), 'unknown-outcome');
});

test('each error class has its own name and stable code', () => {
  for (const [label, err, , code] of CASES) {
    assert.ok(err instanceof Error, label);
    assert.equal((err as { code?: string }).code, code, label);
    if (err.constructor !== Error && err.constructor !== TypeError) assert.equal(err.name, err.constructor.name, label);
  }
});

test('provider errors carry the provider, the HTTP status and the cause', () => {
  const cause = new Error('ECONNRESET');
  const err = new ProviderUnavailable('connection reset', 'alphapo', undefined, { cause });
  assert.ok(err instanceof ProviderError);
  assert.equal(err.provider, 'alphapo');
  assert.equal(err.httpStatus, undefined);
  assert.equal(err.cause, cause);
  assert.equal(err.message, 'connection reset');

  const auth = new ProviderAuth('bad key', 'cryptoprocessing', 401);
  assert.ok(auth instanceof ProviderError);
  assert.equal(auth.provider, 'cryptoprocessing');
  assert.equal(auth.httpStatus, 401);

  const fromProvider = [ProviderUnavailable, ProviderRateLimited, OutcomeUnknown, DuplicateForeignId, ProviderRejected, ProviderAuth, ResponseShape];
  for (const [label, err2] of CASES) {
    assert.equal(
      err2 instanceof ProviderError,
      fromProvider.some((cls) => err2 instanceof cls),
      label,
    );
  }
});

test('ProviderRejected keeps the provider field messages, empty by default', () => {
  const withFields = new ProviderRejected('invalid', 'cryptoprocessing', 400, { amount: 'min 10.00 EUR', title: 'too long' });
  assert.deepEqual(withFields.fields, { amount: 'min 10.00 EUR', title: 'too long' });
  assert.equal(withFields.httpStatus, 400);
  assert.deepEqual(new ProviderRejected('invalid', 'cryptoprocessing', 400).fields, {});
});

test('ConfigError, ValidationError and ResponseShape list every issue in the message', () => {
  const issues = [
    { field: 'PORT', message: 'too big' },
    { field: 'REDIS_URL', message: 'Invalid URL' },
  ];
  const config = new ConfigError(issues);
  assert.deepEqual(config.issues, issues);
  assert.equal(config.message, 'invalid configuration: PORT: too big; REDIS_URL: Invalid URL');
  const validation = new ValidationError(issues);
  assert.deepEqual(validation.issues, issues);
  assert.equal(validation.message, 'invalid input: PORT: too big; REDIS_URL: Invalid URL');
  const shape = new ResponseShape('alphapo', 201, issues);
  assert.deepEqual(shape.issues, issues);
  assert.equal(shape.provider, 'alphapo');
  assert.equal(shape.httpStatus, 201);
  assert.equal(shape.message, 'unexpected provider response: PORT: too big; REDIS_URL: Invalid URL');
});

test('zodIssues joins paths with dots, prefixes a root, and names the body when there is no path', () => {
  assert.deepEqual(
    zodIssues([
      { path: ['customer', 'sender', 'first_name'], message: 'Required' },
      { path: ['orders', 3, 'amount'], message: 'bad' },
      { path: [], message: 'Unrecognized key: "x"' },
    ]),
    [
      { field: 'customer.sender.first_name', message: 'Required' },
      { field: 'orders.3.amount', message: 'bad' },
      { field: '(body)', message: 'Unrecognized key: "x"' },
    ],
  );
  assert.deepEqual(zodIssues([{ path: ['amount'], message: 'bad' }], 'orders.0'), [{ field: 'orders.0.amount', message: 'bad' }]);
  assert.deepEqual(zodIssues([{ path: [], message: 'bad' }], 'orders.0'), [{ field: 'orders.0', message: 'bad' }]);
  assert.deepEqual(zodIssues([]), []);
});
