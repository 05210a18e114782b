import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { ExternalServiceError, ValidationError } from '../errors/index.js';
import type { SsrfPolicy } from './types.js';

/**
 * SSRF guard for upstream MCP URLs (SPEC §6).
 *
 * The guard resolves the hostname once and returns the addresses it checked;
 * the caller must connect to exactly those (see pinned-fetch.ts), otherwise a
 * DNS answer that changes between check and connect (rebinding) would slip
 * through. Every resolved address must pass: one private address among public
 * ones is enough to refuse, because the OS may pick any of them.
 */

export interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

export interface ResolvedTarget {
  url: URL;
  /** URL hostname without IPv6 brackets, lower-case. */
  hostname: string;
  /** The addresses that were validated; connections may only go to these. */
  addresses: PinnedAddress[];
}

/** Resolver seam so tests can simulate DNS answers (e.g. a name resolving to 10.0.0.1). */
export type HostResolver = (hostname: string) => Promise<PinnedAddress[]>;

const defaultResolver: HostResolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

interface CompiledPolicy {
  hostnames: Set<string>;
  /** `*.corp.example` entries, stored as `.corp.example`. */
  domainSuffixes: string[];
  cidrs: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
}

// Policies are long-lived config objects: compile each once, not per connect.
const compiledPolicies = new WeakMap<SsrfPolicy, CompiledPolicy>();

function compilePolicy(policy: SsrfPolicy): CompiledPolicy {
  let compiled = compiledPolicies.get(policy);
  if (compiled) return compiled;
  compiled = { hostnames: new Set(), domainSuffixes: [], cidrs: [] };
  for (const raw of policy.allowedHosts) {
    const entry = stripBrackets(raw.trim().toLowerCase()).replace(/\.$/, '');
    if (!entry) continue;
    if (ipaddr.isValidCIDR(entry)) {
      compiled.cidrs.push(normalizeCidr(ipaddr.parseCIDR(entry)));
    } else if (ipaddr.isValid(entry)) {
      const ip = ipaddr.process(entry);
      compiled.cidrs.push([ip, ip.kind() === 'ipv4' ? 32 : 128]);
    } else if (entry.startsWith('*.')) {
      compiled.domainSuffixes.push(entry.slice(1));
    } else {
      compiled.hostnames.add(entry);
    }
  }
  compiledPolicies.set(policy, compiled);
  return compiled;
}

/** `::ffff:10.0.0.0/104` style entries are matched as their IPv4 equivalent. */
function normalizeCidr([ip, bits]: [ipaddr.IPv4 | ipaddr.IPv6, number]): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(ip as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [ip, bits];
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The message of every refusal that depends on what a name resolves to (SPEC §6 names the variable). */
export const URL_NOT_ALLOWED_MESSAGE =
  'Upstream URL is not allowed: it must resolve only to public addresses; ' +
  'an operator may allow the host or range with TMWS_MCP_ALLOWED_HOSTS';

function refuse(message: string = URL_NOT_ALLOWED_MESSAGE): ValidationError {
  // Deliberately generic: naming the resolved internal address would turn the
  // guard into a DNS oracle for the private network.
  return ValidationError.field('url', message, {}, { reason: 'url_not_allowed' });
}

/**
 * ipaddr.js names every special-purpose range; only plain global unicast is
 * public. IPv4-compatible `::a.b.c.d` is not named by ipaddr.js, so it is
 * refused here explicitly (it is deprecated and can alias IPv4 space).
 */
const ipv4Compatible = ipaddr.parseCIDR('::/96');

/** Returns the special range name of a non-public address, or undefined when it is public. */
export function nonPublicRange(address: string): string | undefined {
  // process() turns IPv4-mapped IPv6 (::ffff:127.0.0.1) into the IPv4 it embeds,
  // so the mapped form is judged exactly like the IPv4 address it reaches.
  const ip = ipaddr.process(address);
  const range = ip.range();
  if (range !== 'unicast') return range;
  if (ip.kind() === 'ipv6' && ip.match(ipv4Compatible)) return 'ipv4Compatible';
  return undefined;
}

function isExemptAddress(address: string, compiled: CompiledPolicy): boolean {
  if (compiled.cidrs.length === 0) return false;
  const ip = ipaddr.process(address);
  return compiled.cidrs.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));
}

function isExemptHostname(hostname: string, compiled: CompiledPolicy): boolean {
  const name = hostname.replace(/\.$/, '');
  if (compiled.hostnames.has(name)) return true;
  return compiled.domainSuffixes.some((suffix) => name.endsWith(suffix));
}

function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw ValidationError.invalid('url', 'is not a valid absolute URL', {}, { reason: 'invalid_url' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw refuse('Only http and https upstream URLs are allowed');
  }
  return parsed;
}

async function resolveHost(hostname: string, resolver: HostResolver, uniformRefusals: boolean): Promise<PinnedAddress[]> {
  const family = isIP(hostname);
  if (family !== 0) return [{ address: hostname, family: family === 6 ? 6 : 4 }];
  let addresses: PinnedAddress[];
  try {
    addresses = await resolver(hostname);
  } catch {
    // Answering "does not resolve" here but "not allowed" for a private name would map the internal DNS.
    if (uniformRefusals) throw refuse();
    throw new ExternalServiceError('unreachable', `Upstream host ${hostname} could not be resolved`);
  }
  if (addresses.length === 0) {
    if (uniformRefusals) throw refuse();
    throw new ExternalServiceError('unreachable', `Upstream host ${hostname} has no addresses`);
  }
  return addresses;
}

/**
 * Validates an upstream URL and resolves it to the addresses a connection may use.
 *
 * - Always: http/https only (ValidationError `url_not_allowed`), DNS resolved once.
 * - `policy.enforce`: every address must be global unicast, unless the hostname
 *   (exact or `*.suffix`) or the address (IP/CIDR) is listed in `allowedHosts`.
 *
 * Throws before any packet is sent to the target: the only traffic is the DNS query.
 * A name that does not resolve is an ExternalServiceError (`unreachable`), or,
 * with `policy.uniformRefusals` (production), the same refusal as a private name.
 */
export async function assertUpstreamUrlAllowed(
  url: string,
  policy: SsrfPolicy,
  resolver: HostResolver = defaultResolver,
): Promise<ResolvedTarget> {
  const parsed = parseHttpUrl(url);
  const hostname = stripBrackets(parsed.hostname).toLowerCase();
  if (!hostname) throw refuse('Upstream URL has no host');
  const compiled = policy.enforce ? compilePolicy(policy) : undefined;

  // A host exempted by name skips the address check but is still resolved: the
  // connection is pinned to these answers either way.
  const addresses = await resolveHost(hostname, resolver, policy.uniformRefusals ?? false);
  if (compiled && !isExemptHostname(hostname, compiled)) {
    for (const { address } of addresses) {
      if (nonPublicRange(address) !== undefined && !isExemptAddress(address, compiled)) {
        throw refuse();
      }
    }
  }
  return { url: parsed, hostname, addresses };
}
