/**
 * Field validation of the CryptoProcessing / AlphaPo platform (docs/providers.md 1.2, 2.1, 6.3, 6.5,
 * 6.10). The platform's error texts are Laravel's ("The foreign id has already been taken.",
 * docs/providers.md 1.7), so every message here follows that wording: attribute names with underscores
 * turned into spaces, one message per field, every bad field reported at once.
 */
import { CURRENCIES, isCrypto, isCurrency, meetsMinimum } from './currencies.ts';
import { DECIMAL_TEXT, fractionDigits, numberLiteralToDecimal } from '../money.ts';
import { rawTopLevelNumber } from './json-number.ts';

export type FieldErrors = Record<string, string>;
type Body = Record<string, unknown>;

const attr = (field: string): string => field.replace(/_/g, ' ');
const MSG = {
  required: (f: string) => `The ${attr(f)} field is required.`,
  string: (f: string) => `The ${attr(f)} must be a string.`,
  max: (f: string, n: number) => `The ${attr(f)} must not be greater than ${n} characters.`,
  boolean: (f: string) => `The ${attr(f)} field must be true or false.`,
  number: (f: string) => `The ${attr(f)} must be a number.`,
  integer: (f: string) => `The ${attr(f)} must be an integer.`,
  invalid: (f: string) => `The selected ${attr(f)} is invalid.`,
  email: (f: string) => `The ${attr(f)} must be a valid email address.`,
  array: (f: string) => `The ${attr(f)} must be an array.`,
  url: (f: string) => `The ${attr(f)} format is invalid.`,
  // The platform requires HTTPS with a domain name, not an IP address (docs/providers.md 1.2), but
  // its refusal text is not published: this wording is ours, in the platform's Laravel style.
  httpsDomain: (f: string) => `The ${attr(f)} must be an HTTPS URL with a domain name.`,
  date: (f: string) => `The ${attr(f)} does not match the format Y-m-d.`,
  prohibitedWhen: (f: string, other: string, value: string) => `The ${attr(f)} field is prohibited when ${attr(other)} is ${value}.`,
  decimals: (f: string) => `The ${attr(f)} must not have more than 8 decimal places.`,
  taken: (f: string) => `The ${attr(f)} has already been taken.`,
  // Documented verbatim (coinspaid/docs api-documentation/api-reference.md): "... is 10.00 EUR."
  tooSmall: (min: string, iso: string) => `The amount is too small. The minimum amount is ${min} ${iso}.`,
};

/** Laravel's notion of "not present": absent, null, blank string, empty array/object. */
function missing(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === 'string') return v.trim() === '';
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

class Checker {
  readonly errors: FieldErrors = {};
  constructor(
    readonly body: Body,
    readonly strictUrls: boolean,
  ) {}

  fail(field: string, message: string): void {
    if (!(field in this.errors)) this.errors[field] = message;
  }

  /** A string field; returns it when valid. `path` is the error key (dotted for nested fields). */
  str(path: string, v: unknown, opts: { required?: boolean; max?: number } = {}): string | undefined {
    if (missing(v)) {
      if (opts.required) this.fail(path, MSG.required(path));
      return undefined;
    }
    if (typeof v !== 'string') return void this.fail(path, MSG.string(path));
    if (opts.max !== undefined && [...v].length > opts.max) return void this.fail(path, MSG.max(path, opts.max));
    return v;
  }

  field(name: string, opts: { required?: boolean; max?: number } = {}): string | undefined {
    return this.str(name, this.body[name], opts);
  }

  email(name: string, opts: { required?: boolean } = {}): string | undefined {
    const v = this.field(name, { ...opts, max: 255 });
    if (v !== undefined && !EMAIL.test(v)) return void this.fail(name, MSG.email(name));
    return v;
  }

  url(name: string, opts: { required?: boolean } = {}): string | undefined {
    const v = this.field(name, { ...opts, max: 2048 });
    if (v === undefined) return undefined;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return void this.fail(name, MSG.url(name));
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return void this.fail(name, MSG.url(name));
    // docs/providers.md 1.2: HTTPS and a domain name, not an IP address.
    if (this.strictUrls && (u.protocol !== 'https:' || IPV4.test(u.hostname) || u.hostname.startsWith('['))) {
      return void this.fail(name, MSG.httpsDomain(name));
    }
    return v;
  }

  oneOf<T extends string>(name: string, values: readonly T[], opts: { required?: boolean } = {}): T | undefined {
    const v = this.body[name];
    if (missing(v)) {
      if (opts.required) this.fail(name, MSG.required(name));
      return undefined;
    }
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) return void this.fail(name, MSG.invalid(name));
    return v as T;
  }
}

/** Amount checks shared by both products: positive, at most 8 places, at least the currency minimum. */
function checkAmount(c: Checker, decimal: string | null, currency: string | undefined): string | undefined {
  if (decimal === null) return void c.fail('amount', currency && isCurrency(currency) ? MSG.tooSmall(CURRENCIES[currency]?.min ?? '0', currency) : MSG.number('amount'));
  if (fractionDigits(decimal) > 8) return void c.fail('amount', MSG.decimals('amount'));
  if (currency && isCurrency(currency) && (!/[1-9]/.test(decimal) || !meetsMinimum(decimal, currency))) {
    return void c.fail('amount', MSG.tooSmall(CURRENCIES[currency]?.min ?? '0', currency));
  }
  return decimal;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
function validDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s) && d.getTime() < Date.now();
}

/**
 * sender_type / sender_data (docs/providers.md 1.2, 2.1): natural needs first and last name (and date of
 * birth on invoices), legal needs legal name and country; the two sets never mix.
 */
function checkSender(c: Checker, forInvoice: boolean, requiredByTimer: boolean): void {
  const type = c.body.sender_type;
  const data = c.body.sender_data;
  if (requiredByTimer) {
    if (missing(type)) c.fail('sender_type', 'The sender type field is required when timer is true and sender currency is present.');
    if (missing(data)) c.fail('sender_data', 'The sender data field is required when timer is true and sender currency is present.');
  }
  const senderType = c.oneOf('sender_type', ['natural', 'legal'] as const);
  if (!missing(data) && !isObject(data)) return c.fail('sender_data', MSG.array('sender_data'));
  if (!missing(data) && missing(type)) c.fail('sender_type', 'The sender type field is required when sender data is present.');
  if (!missing(type) && missing(data)) c.fail('sender_data', 'The sender data field is required when sender type is present.');
  if (!isObject(data) || !senderType) return;
  const at = (k: string): string => `sender_data.${k}`;
  const natural = ['first_name', 'last_name', 'date_of_birth'];
  const legal = ['legal_name', 'country_of_registration'];
  if (senderType === 'natural') {
    c.str(at('first_name'), data.first_name, { required: true, max: 255 });
    c.str(at('last_name'), data.last_name, { required: true, max: 255 });
    const dob = c.str(at('date_of_birth'), data.date_of_birth, { required: forInvoice, max: 10 });
    if (dob !== undefined && !validDate(dob)) c.fail(at('date_of_birth'), MSG.date(at('date_of_birth')));
    for (const k of legal) if (!missing(data[k])) c.fail(at(k), MSG.prohibitedWhen(at(k), 'sender_type', 'natural'));
  } else {
    c.str(at('legal_name'), data.legal_name, { required: true, max: 255 });
    const country = c.str(at('country_of_registration'), data.country_of_registration, { required: true, max: 3 });
    if (country !== undefined && !/^[A-Z]{2,3}$/.test(country)) c.fail(at('country_of_registration'), MSG.invalid(at('country_of_registration')));
    for (const k of natural) if (!missing(data[k])) c.fail(at(k), MSG.prohibitedWhen(at(k), 'sender_type', 'legal'));
  }
  const email = c.str(at('email'), data.email, { max: 255 });
  if (email !== undefined && !EMAIL.test(email)) c.fail(at('email'), MSG.email(at('email')));
}

export interface InvoiceInput {
  timer: boolean;
  title: string;
  description: string | null;
  currency: string;
  /** Decimal string read from the raw JSON literal. */
  amount: string;
  foreignId: string;
  endUserReference: string | null;
  type: 'fill_or_kill' | 'good_until_expired';
  senderCurrency: string | null;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

/** Invoices v2 create (docs/providers.md 1.2 with 6.5: url_success, url_failed, email_user required). */
export function validateInvoice(provider: string, body: Body, raw: string, taken: (foreignId: string) => boolean, strictUrls: boolean): Validation<InvoiceInput> {
  const c = new Checker(body, strictUrls);
  const timerRaw = body.timer;
  let timer = false;
  if (timerRaw === undefined || timerRaw === null) c.fail('timer', MSG.required('timer'));
  else if (timerRaw === true || timerRaw === 1) timer = true;
  else if (!(timerRaw === false || timerRaw === 0)) c.fail('timer', MSG.boolean('timer'));
  const title = c.field('title', { required: true, max: 50 });
  const description = c.field('description', { max: 1000 });
  const currencyRaw = c.field('currency', { required: true, max: 16 });
  const currency = currencyRaw !== undefined && isCurrency(currencyRaw) ? currencyRaw : undefined;
  if (currencyRaw !== undefined && !currency) c.fail('currency', MSG.invalid('currency'));

  // `amount` is a JSON number here (strings are refused); its digits come from the raw text so
  // a long literal is not rounded through a double.
  let amount: string | undefined;
  if (missing(body.amount)) c.fail('amount', MSG.required('amount'));
  else if (typeof body.amount !== 'number') c.fail('amount', MSG.number('amount'));
  else {
    const literal = rawTopLevelNumber(raw, 'amount');
    amount = checkAmount(c, literal ? numberLiteralToDecimal(literal) : null, currency);
  }

  const foreignId = c.field('foreign_id', { required: true, max: 255 });
  if (foreignId !== undefined && taken(foreignId)) c.fail('foreign_id', MSG.taken('foreign_id'));
  c.url('url_success', { required: true });
  c.url('url_failed', { required: true });
  c.email('email_user', { required: true });
  // docs/providers.md 6.5: AlphaPo's page marks end_user_reference required; CryptoProcessing does not.
  const endUserReference = c.field('end_user_reference', { required: provider === 'alphapo', max: 255 });
  const type = c.oneOf('type', ['fill_or_kill', 'good_until_expired'] as const);
  const senderCurrency = c.field('sender_currency', { max: 16 });
  if (senderCurrency !== undefined && !isCrypto(senderCurrency)) c.fail('sender_currency', MSG.invalid('sender_currency'));
  checkSender(c, true, timer && senderCurrency !== undefined);

  if (Object.keys(c.errors).length || title === undefined || currency === undefined || amount === undefined || foreignId === undefined) {
    return { ok: false, errors: c.errors };
  }
  return {
    ok: true,
    value: {
      timer,
      title,
      description: description ?? null,
      currency,
      amount,
      foreignId,
      endUserReference: endUserReference ?? null,
      type: type ?? 'fill_or_kill',
      senderCurrency: senderCurrency ?? null,
    },
  };
}

export interface PaymentRequestInput {
  amount: string;
  currency: string;
  /** Lifetime in seconds from now, and the absolute end the merchant asked for (unix s). */
  lifeSeconds: number;
  paymentCurrency: { iso: string; network_name?: string } | null;
  foreignId: string;
}

/** Payment requests v1 create (docs/providers.md 2.1, 6.10). */
export function validatePaymentRequest(body: Body, taken: (foreignId: string) => boolean, strictUrls: boolean, nowSeconds: number): Validation<PaymentRequestInput> {
  const c = new Checker(body, strictUrls);
  let currency: string | undefined;
  const cur = body.currency;
  if (missing(cur)) c.fail('currency', MSG.required('currency'));
  else if (!isObject(cur)) c.fail('currency', MSG.array('currency'));
  else {
    const iso = c.str('currency.iso', cur.iso, { required: true, max: 16 });
    if (iso !== undefined && !isCurrency(iso)) c.fail('currency.iso', MSG.invalid('currency.iso'));
    else currency = iso;
  }

  // Payment requests take the amount as a string (docs/providers.md 2.1), unlike invoices.
  let amount: string | undefined;
  if (missing(body.amount)) c.fail('amount', MSG.required('amount'));
  else if (typeof body.amount !== 'string') c.fail('amount', MSG.string('amount'));
  else if (!DECIMAL_TEXT.test(body.amount.trim())) c.fail('amount', MSG.number('amount'));
  else amount = checkAmount(c, body.amount.trim(), currency);

  // Exactly one of the two lifetime fields.
  const dur = body.life_time_duration;
  const at = body.life_time_date_time;
  let lifeSeconds = 0;
  if (missing(dur) && missing(at)) {
    c.fail('life_time_duration', 'The life time duration field is required when life time date time is not present.');
  } else if (!missing(dur) && !missing(at)) {
    c.fail('life_time_duration', 'The life time duration field prohibits life time date time from being present.');
  } else if (!missing(dur)) {
    if (typeof dur !== 'number' || !Number.isInteger(dur)) c.fail('life_time_duration', MSG.integer('life_time_duration'));
    else if (dur < 1) c.fail('life_time_duration', 'The life time duration must be at least 1.');
    else lifeSeconds = dur;
  } else if (typeof at !== 'number' || !Number.isInteger(at)) {
    c.fail('life_time_date_time', MSG.integer('life_time_date_time'));
  } else if (at <= nowSeconds) {
    c.fail('life_time_date_time', 'The life time date time must be a date after now.');
  } else {
    lifeSeconds = at - nowSeconds;
  }

  let paymentCurrency: PaymentRequestInput['paymentCurrency'] = null;
  const pc = body.payment_currency;
  if (!missing(pc)) {
    if (!isObject(pc)) c.fail('payment_currency', MSG.array('payment_currency'));
    else {
      const iso = c.str('payment_currency.iso', pc.iso, { required: true, max: 16 });
      const network = c.str('payment_currency.network_name', pc.network_name, { max: 64 });
      if (iso !== undefined && !isCrypto(iso)) c.fail('payment_currency.iso', MSG.invalid('payment_currency.iso'));
      else if (iso !== undefined) paymentCurrency = network === undefined ? { iso } : { iso, network_name: network };
    }
  }

  c.email('end_user_email');
  c.field('end_user_reference', { max: 255 });
  c.field('description', { max: 1000 });
  // docs/providers.md 6.10: foreign_id treated as required and unique per product.
  const foreignId = c.field('foreign_id', { required: true, max: 255 });
  if (foreignId !== undefined && taken(foreignId)) c.fail('foreign_id', MSG.taken('foreign_id'));
  c.url('url_store');
  c.url('url_success');
  c.url('url_failed');
  checkSender(c, false, false);

  if (Object.keys(c.errors).length || amount === undefined || currency === undefined || foreignId === undefined) {
    return { ok: false, errors: c.errors };
  }
  return { ok: true, value: { amount, currency, lifeSeconds, paymentCurrency, foreignId } };
}
