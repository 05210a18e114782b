import { describe, expect, it } from 'vitest';
import { clientIp } from '../../src/http/client-ip.js';

describe('clientIp', () => {
  it('uses the peer address and ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(clientIp('203.0.113.9', '1.2.3.4', [])).toBe('203.0.113.9');
    expect(clientIp('203.0.113.9', undefined, [])).toBe('203.0.113.9');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(clientIp('203.0.113.9', '1.2.3.4', ['10.0.0.1', '192.168.0.0/16'])).toBe('203.0.113.9');
  });

  it('takes the hop the trusted proxy appended, not one the client wrote before it', () => {
    // The client sent `X-Forwarded-For: 1.2.3.4`; the appending proxy added the address it saw.
    expect(clientIp('10.0.0.1', '1.2.3.4, 198.51.100.7', ['10.0.0.1'])).toBe('198.51.100.7');
    expect(clientIp('10.0.0.1', '198.51.100.7', ['10.0.0.1'])).toBe('198.51.100.7');
  });

  it('skips hops that are trusted proxies themselves, right to left', () => {
    const trusted = ['10.0.0.0/8'];
    expect(clientIp('10.0.0.1', '6.6.6.6, 198.51.100.7, 10.0.0.3, 10.0.0.2', trusted)).toBe('198.51.100.7');
    expect(clientIp('10.0.0.1', '10.0.0.9, 10.0.0.2', trusted)).toBe('10.0.0.9');
  });

  it('does not let a client choose its address with a forged header through an appending proxy', () => {
    const forged = ['203.0.113.1', '203.0.113.2', 'not-an-ip', '10.0.0.5'].map((f) =>
      clientIp('10.0.0.1', `${f}, 198.51.100.7`, ['10.0.0.0/8']),
    );
    expect(new Set(forged)).toEqual(new Set(['198.51.100.7']));
  });

  it('believes the first hop when the peer is inside a trusted CIDR', () => {
    expect(clientIp('192.168.4.20', '198.51.100.7', ['10.0.0.1', '192.168.0.0/16'])).toBe('198.51.100.7');
    expect(clientIp('2001:db8::5', '2001:db8:ffff::1', ['2001:db8::/64'])).toBe('2001:db8:ffff::1');
  });

  it('matches a trusted IPv4 proxy that connects over an IPv4-mapped IPv6 socket', () => {
    expect(clientIp('::ffff:10.0.0.1', '198.51.100.7', ['10.0.0.0/8'])).toBe('198.51.100.7');
    expect(clientIp('::ffff:203.0.113.9', undefined, [])).toBe('203.0.113.9');
  });

  it('accepts hops written with ports or brackets', () => {
    expect(clientIp('10.0.0.1', '198.51.100.7:5123', ['10.0.0.1'])).toBe('198.51.100.7');
    expect(clientIp('10.0.0.1', '[2001:db8::7]:443', ['10.0.0.1'])).toBe('2001:db8::7');
  });

  it('falls back to the peer when a hop right of the client is not an address', () => {
    expect(clientIp('10.0.0.1', '198.51.100.7, unknown', ['10.0.0.1'])).toBe('10.0.0.1');
    expect(clientIp('10.0.0.1', '', ['10.0.0.1'])).toBe('10.0.0.1');
    expect(clientIp('10.0.0.1', '127.1', ['10.0.0.1'])).toBe('10.0.0.1');
  });

  it('trusts nothing for malformed proxy entries', () => {
    expect(clientIp('10.0.0.1', '198.51.100.7', ['not-an-ip', '10.0.0.0/99'])).toBe('10.0.0.1');
  });

  it('normalizes IPv6 spellings', () => {
    expect(clientIp('2001:0db8:0000:0000:0000:0000:0000:0001', undefined, [])).toBe('2001:db8::1');
  });
});
