/**
 * Arbitraries of hostile producer input: valid orders of each connector with exactly one thing
 * made wrong, and the check that an answer names what was wrong.
 */
import fc from 'fast-check';
import { KINDS, ProviderName } from '../../src/invoice/order.ts';
import { PROVIDER_IDS as PROVIDERS } from '../../src/providers/registry.ts';
import { sampleOrder, samplePaymentRequest } from '../helpers/system.ts';
import { nastyString } from './helpers.ts';

const notDecimal = (s: string): boolean => !/^(0|[1-9]\d{0,17})(\.\d{1,18})?$/.test(s) || !/[1-9]/.test(s);
const notCode = (s: string): boolean => !/^[A-Za-z0-9_]{2,20}$/.test(s);

/** For each order field, values that must be refused whatever the rest of the order says. */
export const BAD: Record<string, fc.Arbitrary<unknown>> = {
  // Not a provider id at all (a well-formed id of a provider not configured is the worker's to refuse: its lane check).
  provider: fc.oneof(
    fc.string().filter((s) => !ProviderName.safeParse(s).success && !PROVIDERS.includes(s)),
    fc.integer(),
    fc.constant(null),
    fc.constant(['alphapo']),
  ),
  kind: fc.oneof(
    fc.string().filter((s) => !(KINDS as readonly string[]).includes(s)),
    fc.boolean(),
    fc.constant(null),
  ),
  foreign_id: fc.oneof(fc.constant(''), fc.string({ minLength: 256, maxLength: 2000 }), fc.constant('order-\ud800-x'), fc.integer(), fc.constant(null), fc.object()),
  amount: fc.oneof(
    fc.double(),
    fc.integer(),
    fc.constantFrom('-1', '0', '0.00', '1e3', '1,50', ' 10', '10 ', 'NaN', 'Infinity', '١٠', '0x10', '+5', '1.', '.5', '01.5', '1'.repeat(19), '10.1234567890123456789'),
    fc.string().filter(notDecimal),
    nastyString.filter(notDecimal),
  ),
  currency: fc.oneof(fc.string().filter(notCode), nastyString.filter(notCode), fc.integer(), fc.constant({ code: 'EUR' })),
  title: fc.oneof(fc.string({ minLength: 51, maxLength: 5000 }), fc.constant(''), fc.integer(), fc.constant(['x'])),
  description: fc.oneof(fc.string({ minLength: 1001, maxLength: 20_000 }), fc.integer(), fc.array(fc.string(), { minLength: 1 })),
  customer: fc.oneof(
    fc.string(),
    fc.integer(),
    fc.constant([]),
    fc.record({ email: fc.string().filter((s) => !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s)) }),
    fc.constant({ sender: { type: 'alien' } }),
    fc.constant({ sender: { type: 'natural', first_name: 'A' } }),
    fc.constant({ sender: { type: 'legal', legal_name: 'X', country_of_registration: 'germany' } }),
    fc.constant({ reference: '' }),
    fc.constant({ reference: 'x', extra: 1 }),
  ),
  urls: fc.oneof(
    fc.constantFrom(
      { success: 'javascript:alert(1)' },
      { success: 'ftp://shop.example/' },
      { success: 'not a url' },
      { store: 'http://' + 'a'.repeat(2100) + '.example' },
      { other: 'https://x.example' },
    ),
    fc.string(),
  ),
  timer: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
  expires_in_seconds: fc.oneof(
    fc.integer({ max: 59 }),
    fc.integer({ min: 366 * 24 * 3600 + 1 }),
    fc.double({ min: 60.5, max: 1e4, noInteger: true, noNaN: true }),
    fc.constant('3600'),
  ),
  expires_at: fc.oneof(fc.constantFrom('tomorrow', '2030-13-01T00:00:00Z', '2030-01-01'), fc.integer()),
  payment_currency: fc.oneof(fc.string().filter(notCode), fc.integer()),
  provider_options: fc.oneof(
    fc.string(),
    fc.constant({ nested: { deep: 1 } }),
    fc.constant([1, 2]),
    fc.dictionary(fc.string({ minLength: 65, maxLength: 80 }), fc.string(), { minKeys: 1, maxKeys: 2 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.string({ minLength: 256, maxLength: 300 }), { minKeys: 1, maxKeys: 2 }),
  ),
};

const bases = (): Array<Record<string, unknown>> => [
  sampleOrder('cryptoprocessing', 'base-cp'),
  samplePaymentRequest('alphapo', 'base-ap-pr'),
  sampleOrder('cryptosteroid', 'base-cs'),
];

export interface Bad {
  body: string;
  /** The field the answer must name (or, for unknown keys, the key its message must quote). */
  field: string;
  unknownKey?: string;
}

const ORDER_KEYS = new Set(Object.keys(BAD));

/** A valid order of some connector with exactly one thing made wrong. */
export const badOrder: fc.Arbitrary<Bad> = fc.oneof(
  fc
    .tuple(fc.nat(2), fc.constantFrom(...Object.keys(BAD)))
    .chain(([b, field]) => (BAD[field] as fc.Arbitrary<unknown>).map((value) => ({ body: JSON.stringify({ ...bases()[b], [field]: value }), field }))),
  // A required field left out.
  fc.tuple(fc.nat(2), fc.constantFrom('provider', 'foreign_id', 'amount', 'currency')).map(([b, field]) => {
    const o = { ...bases()[b] };
    delete o[field];
    return { body: JSON.stringify(o), field };
  }),
  // An unknown key (a misspelt field must be reported, not ignored).
  fc
    .tuple(
      fc.nat(2),
      fc.string({ minLength: 1, maxLength: 40 }).filter((k) => !ORDER_KEYS.has(k) && !['__proto__', 'constructor', 'prototype'].includes(k)),
    )
    .map(([b, key]) => ({
      body: JSON.stringify({ ...bases()[b], [key]: 'x' }),
      field: '(body)',
      unknownKey: key,
    })),
  // Prototype-pollution keys, at the top or nested; JSON.parse keeps them as own properties.
  fc.tuple(fc.nat(2), fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.constantFrom('', 'customer', 'urls', 'provider_options')).map(([b, key, at]) => {
    const o = { ...bases()[b], customer: { reference: 'c' }, urls: { success: 'https://shop.example/ok' }, provider_options: {} } as Record<string, unknown>;
    if (o.provider === 'cryptosteroid') delete o.customer;
    const text = JSON.stringify(o);
    const inject = `"${key}":{"isAdmin":true,"amount":"1"}`;
    const nested = at !== '' && o[at] !== undefined;
    const body = nested ? text.replace(`"${at}":{`, `"${at}":{${inject}${JSON.stringify(o[at]) === '{}' ? '' : ','}`) : text.replace(/^\{/, `{${inject},`);
    return { body, field: nested ? `${at}.${key}` : key };
  }),
);

export function namesField(issues: Array<{ field: string; message: string }>, bad: Bad): boolean {
  if (bad.unknownKey !== undefined) return issues.some((i) => i.message.includes(bad.unknownKey as string) || i.message.includes(JSON.stringify(bad.unknownKey)));
  return issues.some((i) => i.field === bad.field || i.field.startsWith(`${bad.field}.`));
}
