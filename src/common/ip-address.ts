import ipaddr from 'ipaddr.js';

export type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Parses a textual address strictly (four-part IPv4 or IPv6) and unwraps
 * IPv4-mapped IPv6 (`::ffff:10.0.0.1` → `10.0.0.1`), so one client never
 * counts under two spellings. Loose IPv4 forms such as `127.1` are refused.
 */
export function parseAddress(text: string): Address | undefined {
  const value = text.trim();
  if (ipaddr.IPv4.isValidFourPartDecimal(value)) return ipaddr.IPv4.parse(value);
  if (!ipaddr.IPv6.isValid(value)) return undefined;
  const v6 = ipaddr.IPv6.parse(value);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}
