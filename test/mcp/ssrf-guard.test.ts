import { describe, expect, it } from 'vitest';
import { ExternalServiceError, ValidationError } from '../../src/errors/index.js';
import { assertUpstreamUrlAllowed, URL_NOT_ALLOWED_MESSAGE, type HostResolver } from '../../src/mcp/ssrf-guard.js';
import type { SsrfPolicy } from '../../src/mcp/types.js';

const production: SsrfPolicy = { enforce: true, allowedHosts: [] };
const development: SsrfPolicy = { enforce: false, allowedHosts: [] };

/** A resolver standing in for DNS answers we cannot make a real resolver give (rebinding-style names). */
const answers =
  (table: Record<string, string[]>): HostResolver =>
  async (hostname) => {
    const list = table[hostname];
    if (!list) throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

async function refusal(url: string, policy = production, resolver?: HostResolver): Promise<ValidationError> {
  const error = await assertUpstreamUrlAllowed(url, policy, resolver).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('assertUpstreamUrlAllowed (enforcing)', () => {
  it.each([
    ['loopback', 'http://127.0.0.1:8080/mcp'],
    ['loopback (other 127/8)', 'http://127.10.20.30/mcp'],
    ['loopback written in decimal', 'http://2130706433/mcp'],
    ['loopback written in hex', 'http://0x7f.0.0.1/mcp'],
    ['loopback shorthand', 'http://127.1/mcp'],
    ['localhost by name', 'http://localhost/mcp'],
    ['private 10/8', 'http://10.1.2.3/mcp'],
    ['private 172.16/12', 'http://172.31.255.1/mcp'],
    ['private 192.168/16', 'http://192.168.0.10/mcp'],
    ['cloud metadata 169.254.169.254', 'http://169.254.169.254/latest/meta-data/'],
    ['link-local 169.254/16', 'http://169.254.1.1/mcp'],
    ['CGNAT 100.64/10', 'http://100.100.100.100/mcp'],
    ['unspecified 0.0.0.0', 'http://0.0.0.0:8080/mcp'],
    ['multicast', 'http://224.0.0.251/mcp'],
    ['broadcast', 'http://255.255.255.255/mcp'],
    ['reserved 240/4', 'http://240.0.0.1/mcp'],
    ['IPv6 loopback', 'http://[::1]/mcp'],
    ['IPv6 unspecified', 'http://[::]/mcp'],
    ['IPv6 unique-local fc00::/7', 'http://[fd12:3456::1]/mcp'],
    ['IPv6 link-local fe80::/10', 'http://[fe80::1]/mcp'],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/mcp'],
    ['IPv4-mapped private', 'http://[::ffff:10.0.0.1]/mcp'],
    ['IPv4-mapped metadata', 'http://[::ffff:169.254.169.254]/mcp'],
    ['IPv4-compatible', 'http://[::7f00:1]/mcp'],
    ['NAT64 of a private address', 'http://[64:ff9b::a00:1]/mcp'],
    ['IPv6 multicast', 'http://[ff02::1]/mcp'],
  ])('refuses %s', async (_label, url) => {
    const error = await refusal(url);
    expect(error.httpStatus).toBe(400);
    expect(error.details).toMatchObject({ field: 'url', reason: 'url_not_allowed' });
  });

  it('does not reveal the resolved address in the refusal', async () => {
    const error = await refusal('http://internal.example/mcp', production, answers({ 'internal.example': ['10.9.8.7'] }));
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain('10.9.8.7');
  });

  it('refuses a name when any one of its addresses is private', async () => {
    const resolver = answers({ 'mixed.example': ['93.184.216.34', '10.0.0.5'] });
    await refusal('https://mixed.example/mcp', production, resolver);
  });

  it('accepts a public address and returns it for pinning', async () => {
    const resolver = answers({ 'mcp.example': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'] });
    const resolved = await assertUpstreamUrlAllowed('https://mcp.example/mcp', production, resolver);
    expect(resolved.hostname).toBe('mcp.example');
    expect(resolved.addresses).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
    ]);
  });

  it('accepts a public IPv4-mapped address like the IPv4 it embeds', async () => {
    const resolved = await assertUpstreamUrlAllowed('http://[::ffff:8.8.8.8]/mcp', production);
    expect(resolved.addresses).toHaveLength(1);
  });
});

describe('allowedHosts exemptions', () => {
  it('exempts an exact IP', async () => {
    const policy = { enforce: true, allowedHosts: ['127.0.0.1'] };
    await expect(assertUpstreamUrlAllowed('http://127.0.0.1:3001/mcp', policy)).resolves.toMatchObject({
      addresses: [{ address: '127.0.0.1', family: 4 }],
    });
    await refusal('http://127.0.0.2/mcp', policy);
  });

  it('exempts a CIDR range, and only that range', async () => {
    const policy = { enforce: true, allowedHosts: ['10.20.0.0/16', 'fd00::/8'] };
    await expect(assertUpstreamUrlAllowed('http://10.20.3.4/mcp', policy)).resolves.toBeTruthy();
    await expect(assertUpstreamUrlAllowed('http://[fd00::1]/mcp', policy)).resolves.toBeTruthy();
    await refusal('http://10.21.0.1/mcp', policy);
    await refusal('http://[fd01::1]/mcp', { enforce: true, allowedHosts: ['fd00::/16'] });
  });

  it('matches an IPv4 CIDR against an IPv4-mapped IPv6 URL', async () => {
    const policy = { enforce: true, allowedHosts: ['10.20.0.0/16'] };
    await expect(assertUpstreamUrlAllowed('http://[::ffff:10.20.0.9]/mcp', policy)).resolves.toBeTruthy();
  });

  it('exempts a hostname (exact and *.suffix) whatever it resolves to', async () => {
    const resolver = answers({ 'mcp.corp': ['10.0.0.1'], 'a.tools.corp': ['192.168.1.1'], 'other.corp': ['10.0.0.2'] });
    const policy = { enforce: true, allowedHosts: ['MCP.corp', '*.tools.corp'] };
    await expect(assertUpstreamUrlAllowed('http://mcp.corp/mcp', policy, resolver)).resolves.toBeTruthy();
    await expect(assertUpstreamUrlAllowed('http://a.tools.corp/mcp', policy, resolver)).resolves.toBeTruthy();
    await refusal('http://other.corp/mcp', policy, resolver);
  });

  it('a trailing dot does not dodge or break the hostname check', async () => {
    const resolver = answers({ 'mcp.corp.': ['10.0.0.1'], 'evil.example.': ['127.0.0.1'] });
    await expect(
      assertUpstreamUrlAllowed('http://mcp.corp./mcp', { enforce: true, allowedHosts: ['mcp.corp'] }, resolver),
    ).resolves.toBeTruthy();
    await refusal('http://evil.example./mcp', production, resolver);
  });
});

describe('uniform refusals (production)', () => {
  const uniform: SsrfPolicy = { enforce: true, allowedHosts: [], uniformRefusals: true };
  const dns = answers({ 'db.internal.example': ['10.0.0.7'], 'empty.example': [] });

  it('answers a name that does not resolve exactly like a name that resolves to a private address', async () => {
    const privateName = await refusal('http://db.internal.example/mcp', uniform, dns);
    const missingName = await refusal('http://cache.internal.example/mcp', uniform, dns);
    const noAddresses = await refusal('http://empty.example/mcp', uniform, dns);
    const literal = await refusal('http://10.0.0.8/mcp', uniform, dns);
    const seen = [privateName, missingName, noAddresses, literal].map((e) => ({
      status: e.httpStatus,
      message: e.message,
      details: e.details,
    }));
    expect(new Set(seen.map((s) => JSON.stringify(s))).size).toBe(1);
    expect(seen[0]).toEqual({ status: 400, message: URL_NOT_ALLOWED_MESSAGE, details: { field: 'url', reason: 'url_not_allowed' } });
  });
});

describe('non-enforcing policy (development/test)', () => {
  it('allows loopback and private addresses', async () => {
    await expect(assertUpstreamUrlAllowed('http://127.0.0.1:3001/mcp', development)).resolves.toBeTruthy();
    await expect(assertUpstreamUrlAllowed('http://10.0.0.1/mcp', development)).resolves.toBeTruthy();
  });

  it.each(['ftp://example.com/mcp', 'file:///etc/passwd', 'ws://127.0.0.1/mcp', 'gopher://127.0.0.1:6379/_'])(
    'still refuses the non-http(s) URL %s',
    async (url) => {
      const error = await refusal(url, development);
      expect(error.details).toMatchObject({ field: 'url', reason: 'url_not_allowed' });
    },
  );

  it('rejects a malformed URL as a validation error', async () => {
    const error = await refusal('not a url', development);
    expect(error.details).toMatchObject({ field: 'url', reason: 'invalid_url' });
  });

  it('reports a name that does not resolve as an unreachable upstream', async () => {
    const error = await assertUpstreamUrlAllowed('http://nowhere.invalid/mcp', development).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect((error as ExternalServiceError).details).toMatchObject({ reason: 'unreachable' });
  });
});
