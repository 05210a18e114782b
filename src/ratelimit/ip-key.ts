import type ipaddr from 'ipaddr.js';
import { parseAddress } from '../common/ip-address.js';

/**
 * The limiter key for a client address. IPv6 clients are counted per /64,
 * the smallest block a single subscriber usually holds; counting per address
 * would let one host rotate through 2^64 fresh budgets.
 */
export function ipRateLimitKey(ip: string): string {
  const address = parseAddress(ip);
  if (!address || address.kind() === 'ipv4') return address ? address.toString() : ip;
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `${parts.join(':')}::/64`;
}
