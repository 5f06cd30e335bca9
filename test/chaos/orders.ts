/**
 * Orders for the chaos run: all four connectors, a mix of shapes (timed invoices, payment
 * requests, unicode and colon foreign ids, customers with e-mails and sender data), drawn from a
 * seeded random source so one seed always gives the same orders. The personal values come from
 * small fixed lists, so the log scan knows every one of them.
 */
import type { Kind, ProviderId } from './checks.ts';

/** mulberry32: small, fast, good enough to pin a run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const MAIL_DOMAIN = 'chaos-mail.example';
export const FIRST_NAMES = ['Wilhelmina', 'Zephyrine', 'Quirinus', 'Ottoline'];
export const LAST_NAMES = ['Oxenstierna', 'Vandermolen', 'Kowalczykowa', 'Ferreirinha'];
export const LEGAL_NAMES = ['Oxenstierna Trading GmbH', 'Vandermolen Handelsgesellschaft'];
export const BIRTH_DATES = ['1971-04-23', '1988-11-02'];

export interface ChaosOrder {
  provider: ProviderId;
  kind: Kind;
  foreign_id: string;
  body: Record<string, unknown>;
}

const AMOUNTS = ['20.00', '49.90', '100.50', '250', '999.99', '12.34'];
const CONNECTORS: Array<[ProviderId, Kind]> = [
  ['cryptoprocessing', 'invoice'],
  ['cryptoprocessing', 'payment_request'],
  ['alphapo', 'invoice'],
  ['cryptosteroid', 'invoice'],
];

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)] as T;
}

function customer(random: () => number, i: number): Record<string, unknown> {
  const first = pick(random, FIRST_NAMES);
  const last = pick(random, LAST_NAMES);
  const email = `${first.toLowerCase()}.${last.toLowerCase()}@${MAIL_DOMAIN}`;
  const c: Record<string, unknown> = { reference: `cust-${i % 97}`, email };
  const r = random();
  if (r < 0.3) c.sender = { type: 'natural', first_name: first, last_name: last, date_of_birth: pick(random, BIRTH_DATES), email };
  else if (r < 0.45) c.sender = { type: 'legal', legal_name: pick(random, LEGAL_NAMES), country_of_registration: 'DEU' };
  return c;
}

/** Foreign ids in every shape the encoder handles: plain, digits only, colons, unicode. */
function foreignId(tag: string, i: number, random: () => number): string {
  const r = random();
  if (r < 0.08) return `${tag}:заказ/${i}`;
  if (r < 0.12) return `${tag}:${i}:ü`;
  return `${tag}-${i}`;
}

export function makeOrders(count: number, tag: string, random: () => number): ChaosOrder[] {
  const out: ChaosOrder[] = [];
  for (let i = 0; i < count; i++) {
    const [provider, kind] = CONNECTORS[i % CONNECTORS.length] as [ProviderId, Kind];
    const fid = foreignId(tag, i, random);
    // About one platform order in a hundred is under the provider's minimum: refused for good (`rejected`).
    const amount = provider !== 'cryptosteroid' && random() < 0.01 ? '1.00' : pick(random, AMOUNTS);
    const urls = { success: 'https://shop.example/ok', failure: 'https://shop.example/fail', store: 'https://shop.example' };
    let body: Record<string, unknown>;
    if (provider === 'cryptosteroid') {
      body = {
        provider,
        foreign_id: fid,
        amount,
        currency: pick(random, ['EUR', 'USD']),
        description: `Order ${i}`,
        ...(random() < 0.7 ? { payment_currency: 'USDT_TRC20' } : {}),
        urls: { success: urls.success, failure: urls.failure },
      };
    } else if (kind === 'payment_request') {
      body = {
        provider,
        kind,
        foreign_id: fid,
        amount,
        currency: 'EUR',
        description: `Subscription ${i}`,
        expires_in_seconds: 1800,
        customer: customer(random, i),
        urls,
      };
    } else {
      body = {
        provider,
        kind,
        foreign_id: fid,
        amount,
        currency: 'EUR',
        title: `Order ${i}`,
        description: 'Two mugs',
        customer: customer(random, i),
        urls: { success: urls.success, failure: urls.failure },
        timer: random() < 0.3,
      };
    }
    out.push({ provider, kind, foreign_id: fid, body });
  }
  return out;
}
