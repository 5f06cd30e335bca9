import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { zodIssues } from '../../src/errors.ts';
import { OrderSchema, canonicalJson, forbiddenKeys, orderHash, type Order } from '../../src/invoice/order.ts';

type Json = Record<string, unknown>;

const VALID: Json = {
  provider: 'cryptoprocessing',
  kind: 'invoice',
  foreign_id: 'ORD-2024-0001',
  amount: '100.50',
  currency: 'EUR',
  title: 'Order 2024-0001',
  description: 'Two items',
  customer: {
    reference: 'cust-42',
    email: 'payer@example.com',
    sender: { type: 'natural', first_name: 'Anna', last_name: 'Müller', date_of_birth: '1990-01-31' },
  },
  urls: {
    success: 'https://shop.example.com/ok',
    failure: 'https://shop.example.com/failed',
    store: 'https://shop.example.com',
  },
  timer: true,
  expires_in_seconds: 3600,
  payment_currency: 'BTC',
  provider_options: { type: 'fill_or_kill', whoPayCommission: 'merchant', installments: 2, partial: false },
};

const MINIMAL: Json = { provider: 'alphapo', foreign_id: '123456', amount: '10', currency: 'EUR' };

/** A deep copy of `base` with the value at a dotted path replaced (or removed when `value` is undefined). */
function withField(base: Json, path: string, value: unknown): Json {
  const copy = structuredClone(base);
  const keys = path.split('.');
  let node = copy;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Json;
  }
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

function fieldsOf(input: unknown): string[] {
  const result = OrderSchema.safeParse(input);
  assert.equal(result.success, false, `expected ${JSON.stringify(input)} to be refused`);
  return zodIssues(result.error.issues).map((i) => i.field);
}

function parse(input: unknown): Order {
  const result = OrderSchema.safeParse(input);
  assert.ok(result.success, result.success ? '' : JSON.stringify(zodIssues(result.error.issues)));
  return result.data;
}

/** One bad value per field, each with the dotted path it must be reported under. */
const BAD_FIELDS: Array<[path: string, value: unknown]> = [
  // The schema checks a provider id's shape; whether it is configured is the intake's question (test/integration).
  ['provider', 'Coins Paid'],
  ['account', 'Main Account'],
  ['kind', 'refund'],
  ['foreign_id', ''],
  ['amount', '0'],
  ['currency', 'E'],
  ['title', 'x'.repeat(51)],
  ['description', 'x'.repeat(1001)],
  ['customer.reference', ''],
  ['customer.email', 'not-an-email'],
  ['customer.sender.first_name', ''],
  ['customer.sender.last_name', '   '],
  ['customer.sender.date_of_birth', '31.01.1990'],
  ['customer.sender.email', 'anna@'],
  ['urls.success', 'not a url'],
  ['urls.failure', 'javascript:alert(1)'],
  ['urls.store', 'ftp://shop.example.com'],
  ['timer', 'true'],
  ['expires_in_seconds', 59],
  ['payment_currency', 'B'],
  ['provider_options.nested', { a: 1 }],
];

test('a full valid order parses unchanged', () => {
  const order = parse(VALID);
  assert.deepEqual(order, VALID);
});

test('a minimal order parses with kind defaulting to invoice', () => {
  const order = parse(MINIMAL);
  assert.equal(order.kind, 'invoice');
  assert.deepEqual(order, { ...MINIMAL, kind: 'invoice' });
});

test('valid variants parse: legal sender, payment request, expires_at, lower-case currency, http urls', () => {
  const legal = parse(withField(VALID, 'customer.sender', { type: 'legal', legal_name: 'ACME GmbH', country_of_registration: 'DEU', email: 'ap@acme.example' }));
  assert.equal(legal.customer?.sender?.type, 'legal');
  const request = parse({ ...MINIMAL, kind: 'payment_request', expires_at: '2030-01-01T00:00:00+02:00' });
  assert.equal(request.kind, 'payment_request');
  assert.equal(parse({ ...MINIMAL, currency: 'usdt_trc20' }).currency, 'USDT_TRC20');
  assert.equal(parse({ ...MINIMAL, foreign_id: 'x'.repeat(255) }).foreign_id.length, 255);
  assert.equal(parse({ ...MINIMAL, title: 'x'.repeat(50) }).title?.length, 50);
  assert.equal(parse({ ...MINIMAL, description: 'x'.repeat(1000) }).description?.length, 1000);
  assert.equal(parse(withField(VALID, 'customer.sender.date_of_birth', undefined)).customer?.sender?.type, 'natural');
  for (const provider of ['cryptoprocessing', 'alphapo', 'cryptosteroid']) assert.equal(parse({ ...MINIMAL, provider }).provider, provider);
});

for (const [path, value] of BAD_FIELDS) {
  test(`a bad ${path} is reported as "${path}" and nothing else`, () => {
    assert.deepEqual(fieldsOf(withField(VALID, path, value)), [path]);
  });
}

for (const path of ['provider', 'foreign_id', 'amount', 'currency']) {
  test(`a missing ${path} is reported as "${path}"`, () => {
    assert.deepEqual(fieldsOf(withField(MINIMAL, path, undefined)), [path]);
  });
}

test('every bad field at once is reported, each under its dotted path', () => {
  let order = VALID;
  for (const [path, value] of BAD_FIELDS) order = withField(order, path, value);
  assert.deepEqual(new Set(fieldsOf(order)), new Set(BAD_FIELDS.map(([path]) => path)));
});

test('a bad legal sender names each of its fields', () => {
  const order = withField(VALID, 'customer.sender', { type: 'legal', legal_name: '', country_of_registration: 'Germany' });
  assert.deepEqual(new Set(fieldsOf(order)), new Set(['customer.sender.legal_name', 'customer.sender.country_of_registration']));
});

test('an unknown sender type is reported at customer.sender.type', () => {
  assert.deepEqual(fieldsOf(withField(VALID, 'customer.sender', { type: 'robot', first_name: 'R' })), ['customer.sender.type']);
});

test('amount as a JSON number is refused, integer or float', () => {
  for (const amount of [100.5, 100, 0.1, 1e21, Number.NaN]) {
    assert.deepEqual(fieldsOf({ ...MINIMAL, amount }), ['amount'], String(amount));
  }
});

test('malformed amount strings are refused', () => {
  for (const amount of ['-1', '+1', '1e3', '01', '.5', '1.', '1,50', ' 1', '0.00', '', 'NaN']) {
    // A string can break more than one rule (e.g. "" is neither well-formed nor > 0): one field, maybe two messages.
    assert.deepEqual([...new Set(fieldsOf({ ...MINIMAL, amount }))], ['amount'], JSON.stringify(amount));
  }
});

test('non-integer or out-of-range expires_in_seconds is refused', () => {
  for (const expires of [60.5, 59, 366 * 24 * 3600 + 1, '3600', -60]) {
    assert.deepEqual(fieldsOf({ ...MINIMAL, expires_in_seconds: expires }), ['expires_in_seconds'], String(expires));
  }
});

test('unknown top-level keys are refused and named', () => {
  const result = OrderSchema.safeParse({ ...MINIMAL, Amount: '10', amount_cents: 1000 });
  assert.equal(result.success, false);
  const issues = zodIssues(result.error.issues);
  assert.equal(issues.length, 1);
  assert.match(issues[0]!.message, /Amount/);
  assert.match(issues[0]!.message, /amount_cents/);
});

test('unknown nested keys are refused under the object that holds them', () => {
  const cases: Array<[Json, string, RegExp]> = [
    [withField(VALID, 'customer.phone', '+49'), 'customer', /phone/],
    [withField(VALID, 'urls.cancel', 'https://shop.example.com/c'), 'urls', /cancel/],
    // A natural person must not carry legal-person fields (docs/providers.md 1.2).
    [withField(VALID, 'customer.sender.legal_name', 'ACME'), 'customer.sender', /legal_name/],
  ];
  for (const [order, field, key] of cases) {
    const result = OrderSchema.safeParse(order);
    assert.equal(result.success, false, field);
    const issues = zodIssues(result.error.issues);
    assert.deepEqual(
      issues.map((i) => i.field),
      [field],
    );
    assert.match(issues[0]!.message, key);
  }
});

test('a non-object body is refused as a whole', () => {
  for (const body of [null, 'order', 42, []]) assert.deepEqual(fieldsOf(body), ['(body)'], JSON.stringify(body));
});

test('expires_in_seconds and expires_at together are refused', () => {
  const both = { ...MINIMAL, kind: 'payment_request', expires_in_seconds: 600, expires_at: '2030-01-01T00:00:00Z' };
  const fields = fieldsOf(both);
  assert.ok(
    fields.some((f) => f === 'expires_at' || f === 'expires_in_seconds'),
    JSON.stringify(fields),
  );
});

test('a "__proto__" key is reported by forbiddenKeys, which intake runs before the schema', () => {
  const input = JSON.parse('{"provider":"alphapo","foreign_id":"1","amount":"10","currency":"EUR","provider_options":{"__proto__":"x"}}');
  assert.deepEqual(forbiddenKeys(input), ['provider_options.__proto__']);
  assert.deepEqual(forbiddenKeys(JSON.parse('{"a":{"b":[{"constructor":1}]}}')), ['a.b.0.constructor']);
  assert.deepEqual(forbiddenKeys({ provider: 'alphapo', customer: { email: 'a@b.c' } }), []);
});

test('canonicalJson sorts keys at every depth and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  assert.equal(canonicalJson({ a: 1, b: undefined }), '{"a":1}');
  assert.equal(canonicalJson([2, 1]), '[2,1]');
  assert.equal(canonicalJson('x"y'), '"x\\"y"');
  assert.equal(canonicalJson({ 'k"1': 'Müller' }), '{"k\\"1":"Müller"}');
});

/** A deep copy of a JSON value with every object's keys in reverse order. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reversed(v)]),
    );
  }
  return value;
}

test('canonicalJson is stable under key order and parses back to the same value (property)', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const canonical = canonicalJson(value);
      assert.equal(canonicalJson(reversed(value)), canonical);
      assert.deepEqual(JSON.parse(canonical), JSON.parse(JSON.stringify(value)));
    }),
  );
});

test('orderHash is stable under key order at every depth', () => {
  const a = parse(VALID);
  const b = parse(reversed(VALID));
  assert.match(orderHash(a), /^[0-9a-f]{64}$/);
  assert.equal(orderHash(b), orderHash(a));
  assert.equal(canonicalJson(b), canonicalJson(a));
});

test('orderHash is equal for inputs that validate to the same order', () => {
  assert.equal(orderHash(parse(MINIMAL)), orderHash(parse({ ...MINIMAL, kind: 'invoice' })));
  assert.equal(orderHash(parse(MINIMAL)), orderHash(parse({ ...MINIMAL, currency: 'eur' })));
});

test('orderHash changes when any field changes', () => {
  const base = orderHash(parse(VALID));
  const changes: Array<[string, unknown]> = [
    ['amount', '100.51'],
    ['foreign_id', 'ORD-2024-0002'],
    ['provider', 'alphapo'],
    ['kind', 'payment_request'],
    ['customer.sender.first_name', 'Anne'],
    ['urls.success', 'https://shop.example.com/ok2'],
    ['provider_options.installments', 3],
    ['provider_options.installments', '2'],
    ['timer', false],
    ['description', undefined],
  ];
  for (const [path, value] of changes) {
    assert.notEqual(orderHash(parse(withField(VALID, path, value))), base, `${path} = ${JSON.stringify(value)}`);
  }
});
