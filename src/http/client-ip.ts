import ipaddr from 'ipaddr.js';
import { parseAddress, type Address } from '../common/ip-address.js';

type Matcher = (address: Address) => boolean;

/** Parsed TMWS_TRUSTED_PROXIES lists, keyed by the config's array so each list is parsed once. */
const compiled = new WeakMap<readonly string[], Matcher[]>();

/** `1.2.3.4:5678` and `[2001:db8::1]:443` (how some proxies write hops) → the bare address. */
function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed?.[1]) return bracketed[1];
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4WithPort?.[1] ?? hop;
}

function compileEntry(entry: string): Matcher | undefined {
  const value = entry.trim();
  if (value.includes('/')) {
    if (!ipaddr.isValidCIDR(value)) return undefined;
    const range = ipaddr.parseCIDR(value);
    return (address) => address.kind() === range[0].kind() && address.match(range);
  }
  const exact = parseAddress(value);
  if (!exact) return undefined;
  const normalized = exact.toNormalizedString();
  return (address) => address.kind() === exact.kind() && address.toNormalizedString() === normalized;
}

function matchersFor(trustedProxies: readonly string[]): Matcher[] {
  let matchers = compiled.get(trustedProxies);
  if (!matchers) {
    // Entries that are neither an address nor a CIDR trust nothing (config validation reports them).
    matchers = trustedProxies.map(compileEntry).filter((m): m is Matcher => m !== undefined);
    compiled.set(trustedProxies, matchers);
  }
  return matchers;
}

/** Parsed TCP peers: a keep-alive connection or a busy client sends many requests from one address. */
const peers = new Map<string, { peer: Address | undefined; peerText: string }>();
const MAX_PEERS = 10_000;

function peerOf(peerAddress: string): { peer: Address | undefined; peerText: string } {
  let known = peers.get(peerAddress);
  if (known === undefined) {
    const peer = parseAddress(peerAddress);
    known = { peer, peerText: peer ? peer.toString() : peerAddress.trim() || 'unknown' };
    if (peers.size >= MAX_PEERS) peers.clear();
    peers.set(peerAddress, known);
  }
  return known;
}

/** Whether the TCP peer is one of `trustedProxies`, whose X-Forwarded-* headers the gateway believes. */
export function isTrustedPeer(peerAddress: string, trustedProxies: readonly string[]): boolean {
  if (trustedProxies.length === 0) return false;
  const { peer } = peerOf(peerAddress);
  return peer !== undefined && matchersFor(trustedProxies).some((matches) => matches(peer));
}

/**
 * The address a request is counted under (SPEC §5). Without a trusted proxy
 * as TCP peer it is the peer. Behind trusted proxies it is the right-most
 * `X-Forwarded-For` hop that is not itself a trusted proxy: each proxy appends
 * the address it saw, so everything left of that hop was written by the client
 * and could be anything. A malformed hop met before that one ends the walk at
 * the peer — the chain cannot be read, and counting under the proxy is the
 * stricter answer.
 */
export function clientIp(peerAddress: string, forwardedFor: string | undefined, trustedProxies: string[]): string {
  const { peer, peerText } = peerOf(peerAddress);
  if (!peer || !forwardedFor || trustedProxies.length === 0) return peerText;
  const matchers = matchersFor(trustedProxies);
  const trusted = (address: Address) => matchers.some((matches) => matches(address));
  if (!trusted(peer)) return peerText;
  const hops = forwardedFor.split(',');
  let client: Address | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseAddress(stripPort(hops[i]?.trim() ?? ''));
    if (!hop) return peerText;
    client = hop;
    if (!trusted(hop)) break;
  }
  // Every hop a trusted proxy: the left-most is the furthest address known.
  return client ? client.toString() : peerText;
}
