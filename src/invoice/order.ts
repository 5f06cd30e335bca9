/**
 * The order, v1: what an order system asks us to turn into an invoice (README). Strict objects,
 * so a misspelt field is reported instead of silently ignored. Connector-specific requirements
 * (e.g. platform invoices need a title) are checked by each adapter's `validate()`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AccountName, DEFAULT_ACCOUNT } from '../lanes/key.ts';
import { normalize, positiveDecimal } from '../money.ts';

/** A provider's registry id (src/providers/registry.ts); which ones run here is checked at intake. */
export const ProviderName = z.string().regex(/^[a-z][a-z0-9_-]{1,31}$/, 'must be a provider id, e.g. "cryptoprocessing"');
export type ProviderId = string;
export const KINDS = ['invoice', 'payment_request'] as const;
export type Kind = (typeof KINDS)[number];

const httpsUrl = z.url({ protocol: /^https?$/ }).max(2048);

const NaturalSender = z.strictObject({
  type: z.literal('natural'),
  first_name: z.string().trim().min(1).max(255),
  last_name: z.string().trim().min(1).max(255),
  date_of_birth: z.iso.date().optional(),
  email: z.email().optional(),
});

const LegalSender = z.strictObject({
  type: z.literal('legal'),
  legal_name: z.string().trim().min(1).max(255),
  country_of_registration: z.string().regex(/^[A-Z]{2,3}$/, 'must be an ISO 3166 country code, e.g. "DEU"'),
  email: z.email().optional(),
});

export const Sender = z.discriminatedUnion('type', [NaturalSender, LegalSender]);

/** The order's fields, before the cross-field rules (its `.shape` names each field's own schema). */
export const OrderObject = z.strictObject({
  provider: ProviderName,
  /** The merchant account at the provider (its lane); omitted or `default` for the default account. */
  account: AccountName.optional(),
  kind: z.enum(KINDS).default('invoice'),
  foreign_id: z
    .string()
    .min(1)
    .max(255)
    // A lone surrogate cannot be encoded faithfully (it would collide with U+FFFD).
    .refine((s) => s.isWellFormed(), 'must be well-formed unicode'),
  amount: positiveDecimal,
  currency: z
    .string()
    .regex(/^[A-Za-z0-9_]{2,20}$/, 'must be a currency code, e.g. "EUR"')
    .transform((s) => s.toUpperCase()),
  title: z.string().min(1).max(50).optional(),
  description: z.string().max(1000).optional(),
  customer: z
    .strictObject({
      reference: z.string().min(1).max(255).optional(),
      email: z.email().optional(),
      sender: Sender.optional(),
    })
    .optional(),
  urls: z
    .strictObject({
      success: httpsUrl.optional(),
      failure: httpsUrl.optional(),
      store: httpsUrl.optional(),
    })
    .optional(),
  timer: z.boolean().optional(),
  expires_in_seconds: z
    .number()
    .int()
    .min(60)
    .max(366 * 24 * 3600)
    .optional(),
  /** Absolute lifetime end for payment requests (ISO-8601); exclusive with `expires_in_seconds`. */
  expires_at: z.iso.datetime({ offset: true }).optional(),
  payment_currency: z
    .string()
    .regex(/^[A-Za-z0-9_]{2,20}$/, 'must be a currency code, e.g. "BTC"')
    .optional(),
  provider_options: z.record(z.string().max(64), z.union([z.string().max(255), z.number(), z.boolean()])).optional(),
});

export const OrderSchema = OrderObject.superRefine((order, ctx) => {
  if (order.expires_in_seconds !== undefined && order.expires_at !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['expires_at'], message: 'give either expires_in_seconds or expires_at, not both' });
  }
})
  // `default` is spelled by leaving it out, so an order hashes (and is stored) as it did before accounts existed.
  .transform((order): typeof order => {
    if (order.account !== DEFAULT_ACCOUNT) return order;
    const { account: _default, ...rest } = order;
    return rest;
  });

/** A validated order, v1. */
export type Order = z.infer<typeof OrderSchema>;
/** What callers may send (before defaults are applied). */
export type OrderInput = z.input<typeof OrderSchema>;

/**
 * An accepted order's identity, v1 (`account` absent for the default account): what its create job
 * carries (queues/create.ts), so no personal data rides in a job.
 */
export const OrderRefSchema = z.strictObject({
  v: z.literal(1),
  provider: ProviderName,
  account: AccountName.optional(),
  kind: z.enum(KINDS),
  foreign_id: z.string().min(1).max(255),
});
export type OrderRef = z.infer<typeof OrderRefSchema>;

/** Stable JSON with sorted keys, so the same order always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Hash of the validated order: equal orders under one foreign_id are "the same payload". The
 * amount is compared by value, so "100.50" and "100.5" are the same order.
 */
export function orderHash(order: Order): string {
  return createHash('sha256')
    .update(canonicalJson({ ...order, amount: normalize(order.amount) }))
    .digest('hex');
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Finds keys that JSON.parse keeps as own properties but schema parsing would silently drop or
 * that could poison prototypes downstream (`__proto__`). Reported as field errors instead.
 */
export function forbiddenKeys(value: unknown, path: string[] = [], depth = 0): string[] {
  if (!value || typeof value !== 'object' || depth > 8) return [];
  const found: string[] = [];
  for (const key of Object.keys(value)) {
    const here = [...path, key];
    if (FORBIDDEN_KEYS.has(key)) found.push(here.join('.'));
    else found.push(...forbiddenKeys((value as Record<string, unknown>)[key], here, depth + 1));
  }
  return found;
}
