/**
 * Where a result webhook may be sent: an HTTPS URL without credentials whose host is a public
 * address, checked when the endpoint is registered and again when each delivery connects (a name
 * may resolve elsewhere since: DNS rebinding). Without this the service would POST wherever a
 * caller asks, from inside the network: to a cloud metadata service, to Redis on 127.0.0.1:6379,
 * and the per-attempt delivery log would tell the caller which internal ports answer.
 *
 * Refused: loopback, private (RFC 1918), link-local, carrier-grade NAT, multicast, broadcast,
 * unspecified, unique-local IPv6, documentation and other reserved ranges, IPv4-mapped and
 * IPv4-compatible IPv6, NAT64 and 6to4/Teredo (an IPv4 address inside an IPv6 one), in every
 * spelling: WHATWG URL parsing turns `0x7f000001`, `2130706433`, `0177.0.0.1` and `127.1` into
 * `127.0.0.1`, and ipaddr.js classifies the result. `WEBHOOK_ALLOW_PRIVATE=true` (development: the
 * sandbox's receivers run on this machine) lets internal addresses through, and plain `http://`
 * to this machine.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';
import { within } from '../background/within.ts';

/** Resolves a host name to all its addresses. */
export type Resolve = (host: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolve: Resolve = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Ranges ipaddr.js calls plain unicast that still reach inside or are deprecated. */
const ALSO_INTERNAL = new BlockList();
// IPv4-compatible IPv6 (::a.b.c.d, deprecated by RFC 4291): some stacks still route it to the IPv4 address.
ALSO_INTERNAL.addSubnet('::', 96, 'ipv6');
// Local-use NAT64 prefix (RFC 8215), like 64:ff9b::/96 which ipaddr.js already names rfc6052.
ALSO_INTERNAL.addSubnet('64:ff9b:1::', 48, 'ipv6');
// Site-local (deprecated by RFC 3879), still private where it is used.
ALSO_INTERNAL.addSubnet('fec0::', 10, 'ipv6');

/** Why an address may not be a webhook target (its range's name), or undefined for a public unicast address. */
export function internalRange(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(bare)) return 'not an IP address';
  const parsed = ipaddr.parse(bare);
  const range = parsed.range();
  if (range !== 'unicast') return range;
  if (parsed.kind() === 'ipv6' && ALSO_INTERNAL.check(parsed.toNormalizedString(), 'ipv6')) return 'reserved';
  return undefined;
}

function loopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (!isIP(host)) return false;
  const parsed = ipaddr.process(host);
  return parsed.range() === 'loopback';
}

/** The URL's host without IPv6 brackets. */
function hostOf(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, '');
}

/** What is wrong with a target URL on its face (scheme, credentials, an internal address literal); undefined when nothing is. */
export function targetUrlIssue(raw: string, allowPrivate: boolean): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'must be a URL';
  }
  // Credentials in a URL end up stored, shown by GET and written to logs: the secret signs instead.
  if (u.username || u.password) return 'must not carry credentials (user:password@); requests are signed with the endpoint secret';
  const host = hostOf(u);
  if (u.protocol === 'http:') {
    if (!(allowPrivate && loopbackHost(host))) return allowPrivate ? 'must be https:// (http:// only to this machine)' : 'must be https://';
  } else if (u.protocol !== 'https:') return 'must be https://';
  if (isIP(host) && !allowPrivate) {
    const range = internalRange(host);
    if (range) return `must not point at an internal address (${range})`;
  }
  return undefined;
}

/**
 * `targetUrlIssue`, then the host's addresses: every one must be public (one internal address is
 * enough for a request to go there). Used at registration.
 */
export async function targetIssue(raw: string, allowPrivate: boolean, resolve: Resolve = systemResolve): Promise<string | undefined> {
  const issue = targetUrlIssue(raw, allowPrivate);
  if (issue) return issue;
  const host = hostOf(new URL(raw));
  if (isIP(host)) return undefined;
  let addresses: Array<{ address: string }>;
  try {
    // Bounded: getaddrinfo can take its resolver's whole retry schedule, and the caller is waiting.
    addresses = await within(resolve(host), 5000, `resolving ${host}`);
  } catch {
    return `host ${host} does not resolve`;
  }
  if (!addresses.length) return `host ${host} does not resolve`;
  if (allowPrivate) return undefined;
  for (const a of addresses) {
    const range = internalRange(a.address);
    if (range) return `host ${host} resolves to an internal address (${range})`;
  }
  return undefined;
}

/** A delivery refused because its host now resolves to an internal address. */
export class TargetRefused extends Error {
  override name = 'TargetRefused';
  readonly code = 'TARGET_REFUSED';
}

/**
 * The socket's own name lookup: resolves, checks every address, and hands the socket only
 * addresses that passed, so the connection goes to exactly what was checked (no second lookup
 * in between for DNS to answer differently).
 */
export function checkedLookup(allowPrivate: boolean, resolve: Resolve = systemResolve): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (all) => {
        const refused = allowPrivate ? undefined : all.find((a) => internalRange(a.address));
        if (refused) return callback(new TargetRefused(`${hostname} resolves to an internal address (${internalRange(refused.address)})`), '', 0);
        const family = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = family ? all.filter((a) => a.family === family) : all;
        const first = usable[0];
        if (!first) return callback(Object.assign(new Error(`${hostname} has no usable address`), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) (callback as unknown as (err: null, addresses: typeof usable) => void)(null, usable);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

/**
 * The HTTP agent of result deliveries: every connection through {@link checkedLookup}, answers
 * cut at `maxBodyBytes`. Redirects are never followed (undici's request does not follow them):
 * a 3xx is a failed attempt like any other non-2xx.
 */
export function deliveryAgent(opts: { allowPrivate: boolean; maxBodyBytes: number; connectTimeoutMs?: number; resolve?: Resolve }): Agent {
  return new Agent({
    maxResponseSize: opts.maxBodyBytes,
    connect: { timeout: opts.connectTimeoutMs ?? 5000, lookup: checkedLookup(opts.allowPrivate, opts.resolve) },
  });
}
