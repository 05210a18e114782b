import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExternalServiceError, ValidationError } from '../../src/errors/index.js';
import type { HostResolver } from '../../src/mcp/ssrf-guard.js';
import type { SsrfPolicy } from '../../src/mcp/types.js';
import { startConnectionCounter, type ConnectionCounter } from '../helpers/net.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';
import { capturingLogger, createPool, rejectionOf, target, type PoolHarness } from './support.js';
import { UpstreamPool } from '../../src/mcp/client-pool.js';

const PRODUCTION: SsrfPolicy = { enforce: true, allowedHosts: [] };

let h: PoolHarness | undefined;
let counter: ConnectionCounter | undefined;
let upstream: TestUpstream | undefined;

afterEach(async () => {
  await h?.pool.close();
  await counter?.close();
  await upstream?.stop();
  h = undefined;
  counter = undefined;
  upstream = undefined;
});

function expectRefusal(error: Error): void {
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).httpStatus).toBe(400);
  expect((error as ValidationError).details).toMatchObject({ field: 'url', reason: 'url_not_allowed' });
}

describe('SSRF refusals in production send no packet to the target', () => {
  beforeEach(async () => {
    counter = await startConnectionCounter('127.0.0.1');
    h = createPool(PRODUCTION);
  });

  it.each([
    ['127.0.0.1', (port: number) => `http://127.0.0.1:${port}/mcp`],
    ['localhost', (port: number) => `http://localhost:${port}/mcp`],
    ['127.0.0.1 in decimal', (port: number) => `http://2130706433:${port}/mcp`],
    ['127.1', (port: number) => `http://127.1:${port}/mcp`],
    ['IPv4-mapped 127.0.0.1', (port: number) => `http://[::ffff:127.0.0.1]:${port}/mcp`],
    ['0.0.0.0', (port: number) => `http://0.0.0.0:${port}/mcp`],
    ['IPv4-mapped hex form, SSE path', (port: number) => `http://[::ffff:7f00:1]:${port}/sse`],
  ])('refuses %s and the listener never sees a connection', async (_label, url) => {
    const t = target(url(counter!.port));
    expectRefusal(await rejectionOf(h!.pool.connect(t)));
    expectRefusal(await rejectionOf(h!.pool.listTools(t)));
    expectRefusal(await rejectionOf(h!.pool.callTool(t, 'echo', {})));
    // Give a stray connection time to land before counting.
    await new Promise((r) => setTimeout(r, 50));
    expect(counter!.count()).toBe(0);
    expect(h!.pool.isOpen(t.connectionId)).toBe(false);
  });

  it.each([
    'http://10.0.0.1/mcp',
    'http://172.16.5.4/mcp',
    'http://192.168.1.1/mcp',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/mcp',
    'http://[fc00::1]/mcp',
    'http://[fe80::1]/mcp',
    'http://[::]/mcp',
    'http://[::1]/mcp',
  ])('refuses %s immediately (no connect attempt to time out)', async (url) => {
    const started = Date.now();
    expectRefusal(await rejectionOf(h!.pool.connect(target(url, { timeoutMs: 5_000 }))));
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('allowedHosts exemptions', () => {
  it.each([['127.0.0.1'], ['127.0.0.0/8'], ['localhost']])('connects to a loopback upstream exempted by %s', async (entry) => {
    upstream = await startTestUpstream();
    h = createPool({ enforce: true, allowedHosts: [entry] });
    const url = entry === 'localhost' ? upstream.url.replace('127.0.0.1', 'localhost') : upstream.url;
    const t = target(url);
    const tools = await h.pool.connect(t);
    expect(tools.some((tool) => tool.name === 'echo')).toBe(true);
    await expect(h.pool.callTool(t, 'echo', { message: 'allowed' })).resolves.toBeTruthy();
  });

  it('an exemption for one address does not open its neighbours', async () => {
    counter = await startConnectionCounter('127.0.0.2');
    h = createPool({ enforce: true, allowedHosts: ['127.0.0.1'] });
    expectRefusal(await rejectionOf(h.pool.connect(target(`http://127.0.0.2:${counter.port}/mcp`))));
    expect(counter.count()).toBe(0);
  });
});

describe('redirects are never followed', () => {
  it('a redirect, even to the same origin, fails as redirect_refused', async () => {
    upstream = await startTestUpstream({ redirect: { status: 307, location: '/elsewhere' } });
    h = createPool();
    const t = target(upstream.url);
    const error = await rejectionOf(h.pool.connect(t));
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect((error as ExternalServiceError).details).toMatchObject({ reason: 'redirect_refused', status: 307 });
    expect(h.pool.isOpen(t.connectionId)).toBe(false);
  });

  it('a redirect towards a refused address is refused like the address itself, without contacting it', async () => {
    counter = await startConnectionCounter('127.0.0.2');
    upstream = await startTestUpstream({ redirect: { status: 302, location: `http://127.0.0.2:${counter.port}/mcp` } });
    h = createPool({ enforce: true, allowedHosts: ['127.0.0.1'] });
    const error = await rejectionOf(h.pool.connect(target(upstream.url)));
    expectRefusal(error);
    expect((error as ValidationError).details).toMatchObject({ redirect: true });
    expect(counter.count()).toBe(0);
  });

  it('a redirect to the cloud metadata address is refused as url_not_allowed', async () => {
    upstream = await startTestUpstream({ redirect: { status: 301, location: 'http://169.254.169.254/latest/meta-data/' } });
    h = createPool({ enforce: true, allowedHosts: ['127.0.0.1'] });
    expectRefusal(await rejectionOf(h.pool.connect(target(upstream.url))));
  });
});

describe('DNS pinning', () => {
  /** Names under `.test` never resolve for real, so reaching the upstream proves the pinned answer was used. */
  function scriptedResolver(answers: string[][]): HostResolver & { calls: number } {
    const resolver = Object.assign(
      async () => {
        const answer = answers[Math.min(resolver.calls, answers.length - 1)] ?? [];
        resolver.calls += 1;
        return answer.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
      },
      { calls: 0 },
    );
    return resolver;
  }

  it('resolves once per session and connects to the validated address for every call', async () => {
    upstream = await startTestUpstream();
    const resolver = scriptedResolver([['127.0.0.1']]);
    const pool = new UpstreamPool({
      policy: { enforce: true, allowedHosts: ['pinned.test'] },
      logger: capturingLogger().logger,
      resolver,
    });
    try {
      const t = target(upstream.url.replace('127.0.0.1', 'pinned.test'));
      await pool.connect(t);
      for (let i = 0; i < 20; i++) await pool.callTool(t, 'echo', { message: String(i) });
      expect(resolver.calls).toBe(1);
      expect(upstream.state().calls.echo).toBe(20);
    } finally {
      await pool.close();
    }
  });

  it('a DNS answer that changes after the check (rebinding) is never used', async () => {
    counter = await startConnectionCounter('127.0.0.1');
    // First answer (checked): a public address. Every later answer: loopback.
    const resolver = scriptedResolver([['93.184.216.34'], ['127.0.0.1']]);
    const pool = new UpstreamPool({ policy: PRODUCTION, logger: capturingLogger().logger, resolver });
    try {
      const error = await rejectionOf(pool.connect(target(`http://rebind.test:${counter.port}/mcp`, { timeoutMs: 1_000 })));
      expect(error).toBeInstanceOf(ExternalServiceError);
      expect(resolver.calls).toBe(1);
      expect(counter.count()).toBe(0);
    } finally {
      await pool.close();
    }
  });
});
