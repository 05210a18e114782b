import { describe, expect, it } from 'vitest';
import { ipRateLimitKey } from '../../src/ratelimit/ip-key.js';

describe('ipRateLimitKey', () => {
  it('keys IPv4 per address and IPv6 per /64', () => {
    expect(ipRateLimitKey('198.51.100.7')).toBe('198.51.100.7');
    expect(ipRateLimitKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(ipRateLimitKey('2001:db8:1:2:bbbb::9')).toBe('2001:db8:1:2::/64');
    expect(ipRateLimitKey('unknown')).toBe('unknown');
  });
});
