/**
 * Rules the platform's documents set for what a merchant sends, checked before anything goes out
 * so a refusal is a 400 naming the field instead of a `rejected` order later.
 */
import { isIP } from 'node:net';
import type { FieldIssue } from '../errors.ts';

/**
 * The platform requires the success, failure and store addresses to be HTTPS with a domain name,
 * not an IP address (docs/providers.md 1.2, "url_success").
 */
export function urlIssues(urls: { success?: string; failure?: string; store?: string } | undefined): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const key of ['success', 'failure', 'store'] as const) {
    const value = urls?.[key];
    if (value === undefined) continue;
    const field = `urls.${key}`;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      issues.push({ field, message: 'must be an https:// URL' });
      continue;
    }
    // WHATWG parsing already turns 0x7f000001, 2130706433 and 127.1 into dotted form, so isIP sees them.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (url.protocol !== 'https:') issues.push({ field, message: 'must be an https:// URL (the provider refuses other schemes)' });
    else if (isIP(host) !== 0) issues.push({ field, message: 'must name a domain, not an IP address (the provider refuses IP hosts)' });
    else if (!host.includes('.')) issues.push({ field, message: 'must name a public domain (e.g. shop.example.com)' });
    else if (url.username || url.password) issues.push({ field, message: 'must not carry a user name or password' });
  }
  return issues;
}

/** ISO 4217 codes as this runtime knows them: every fiat currency (and metals), none of the crypto ones. */
const ISO_4217 = new Set(Intl.supportedValuesOf('currency'));

/** True for a plausible crypto currency code: letters and digits, and not an ISO 4217 (fiat) code. */
export function isCryptoCode(code: string): boolean {
  return /^[A-Za-z0-9]{2,12}$/.test(code) && !ISO_4217.has(code.toUpperCase());
}
