import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

const BASE = '/api/v1/mcp';
let upstream: TestUpstream;
let redis: RedisTestServer;

beforeAll(async () => {
  [upstream, redis] = await Promise.all([startTestUpstream(), startRedis()]);
});
afterAll(async () => {
  await Promise.all([upstream?.stop(), redis?.stop()]);
});

/** Production limits; loopback upstreams allowed so creates can succeed. */
const production = (extra: Record<string, string> = {}) =>
  startGateway({ TMWS_ENVIRONMENT: 'production', TMWS_MCP_ALLOWED_HOSTS: '127.0.0.1', ...extra });

async function createMany(gw: TestGateway, token: string, count: number, prefix: string) {
  const responses: Response[] = [];
  for (let i = 0; i < count; i += 1) {
    responses.push(
      await gw.request(`${BASE}/connections`, { method: 'POST', token, body: { server_name: `${prefix}${i}`, url: upstream.url } }),
    );
  }
  return responses;
}

describe('rate limiting on the REST bridge (production limits)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await production();
  });
  afterAll(async () => gw?.close());

  it('allows exactly 12 creates per minute, then 429 with Retry-After and the documented body', async () => {
    const agent = await gw.agent('limited-agent', 'limits');
    const responses = await createMany(gw, agent.token, 15, 'c');
    expect(responses.map((r) => r.status)).toEqual([...Array(12).fill(201), 429, 429, 429]);
    expect(responses[0]!.headers.get('x-ratelimit-limit')).toBe('12');
    expect(responses[0]!.headers.get('x-ratelimit-remaining')).toBe('11');
    expect(Number(responses[0]!.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    const limited = responses[12]!;
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(250);
    expect(retryAfter).toBeLessThanOrEqual(300);
    const body = await limited.json();
    expect(body).toMatchObject({
      error_code: 'RATE_LIMIT_EXCEEDED',
      retry_after: retryAfter,
      details: { endpoint_type: 'mcp_create_connection', limit: 12, period: 60, retry_after: retryAfter },
    });
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('counts every authenticated request, valid or not, and limits per agent', async () => {
    const agent = await gw.agent('sloppy-agent', 'limits');
    const statuses: number[] = [];
    for (let i = 0; i < 13; i += 1) {
      const response = await gw.request(`${BASE}/connections`, { method: 'POST', token: agent.token, body: { server_name: 'bad name' } });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([...Array(12).fill(400), 429]);
    const other = await gw.agent('other-agent', 'limits');
    expect((await createMany(gw, other.token, 1, 'o'))[0]!.status).toBe(201);
  });

  it('counts a request whose body is not even JSON (the token and the limit come before the body)', async () => {
    const agent = await gw.agent('garbled-agent', 'limits');
    const statuses: number[] = [];
    for (let i = 0; i < 13; i += 1) {
      const response = await gw.request(`${BASE}/connections`, {
        method: 'POST',
        token: agent.token,
        headers: { 'content-type': 'application/json' },
        body: '{"server_name":',
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([...Array(12).fill(400), 429]);
  });

  it('does not count unauthenticated requests against anyone', async () => {
    const response = await gw.request(`${BASE}/connections`, { method: 'POST', body: { server_name: 'x', url: upstream.url } });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('treats curl and python-requests user agents and a tool named test_tool as ordinary traffic', async () => {
    const agent = await gw.agent('ua-agent', 'limits');
    for (const ua of ['curl/8.5.0', 'python-requests/2.32.3']) {
      const response = await gw.request(`${BASE}/connections`, {
        method: 'POST',
        token: agent.token,
        headers: { 'user-agent': ua },
        body: { server_name: `test_tool_${ua.length}`, url: upstream.url },
      });
      expect(response.status).toBe(201);
    }
  });
});

describe('two gateway instances on one Redis', () => {
  it('share the create budget: 12 in total, not 24', async () => {
    const [a, b] = await Promise.all([production({ TMWS_REDIS_URL: redis.url }), production({ TMWS_REDIS_URL: redis.url })]);
    try {
      const agentA = await a.agent('shared-agent', 'scale');
      const agentB = await b.agent('shared-agent', 'scale');
      const statuses: number[] = [];
      for (let i = 0; i < 8; i += 1) {
        for (const [gw, agent] of [
          [a, agentA],
          [b, agentB],
        ] as const) {
          const response = await gw.request(`${BASE}/connections`, {
            method: 'POST',
            token: agent.token,
            body: { server_name: `s${gw === a ? 'a' : 'b'}${i}`, url: upstream.url },
          });
          statuses.push(response.status);
        }
      }
      expect(statuses.filter((s) => s === 201)).toHaveLength(12);
      expect(statuses.filter((s) => s === 429)).toHaveLength(4);
      const ready = await (await a.request('/health/ready')).json();
      expect(ready.components.redis).toBe('ok');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('fail-secure', () => {
  it('answers 503 SERVICE_UNAVAILABLE with Retry-After when the limiter cannot decide', async () => {
    const gw = await production();
    try {
      const agent = await gw.agent('unlucky-agent', 'limits');
      gw.gateway.services.limiter.consume = async () => {
        throw new TypeError('limiter store exploded');
      };
      const response = await gw.request(`${BASE}/connections`, {
        method: 'POST',
        token: agent.token,
        body: { server_name: 'x', url: upstream.url },
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).not.toBeNull();
      const body = await response.json();
      expect(body.error_code).toBe('SERVICE_UNAVAILABLE');
      expect(JSON.stringify(body)).not.toContain('exploded');
      const list = await (await gw.request(`${BASE}/connections`, { token: agent.token })).json();
      expect(list.total).toBe(0);
    } finally {
      await gw.close();
    }
  });
});

describe('client IP behind an appending proxy', () => {
  it('counts a client under the address the trusted proxy appended, whatever X-Forwarded-For it sent', async () => {
    // The test client plays the proxy (127.0.0.1, trusted): it appends 198.51.100.7 to a header the client forged.
    const gw = await production({ TMWS_TRUSTED_PROXIES: '127.0.0.1' });
    try {
      const agents = await Promise.all([0, 1, 2, 3, 4, 5, 6].map((i) => gw.agent(`behind-proxy-${i}`, 'proxied')));
      const attempt = (token: string, n: number) =>
        gw.request(`${BASE}/connections`, {
          method: 'POST',
          token,
          headers: { 'x-forwarded-for': `203.0.113.${n % 250}, 198.51.100.7` },
          body: { server_name: 'not valid' },
        });
      // Six agents × 10 invalid requests fill the IP window (5 × 12 = 60) without blocking any agent (12 each).
      const statuses: number[] = [];
      for (const agent of agents.slice(0, 6)) {
        for (let i = 0; i < 10; i += 1) statuses.push((await attempt(agent.token, statuses.length)).status);
      }
      expect(statuses).toEqual(Array(60).fill(400));
      const blocked = await attempt(agents[6]!.token, 61);
      expect(blocked.status).toBe(429);
      expect((await blocked.json()).details.endpoint_type).toBe('mcp_create_connection');
      // Counted under the appended hop, not the proxy: another client behind the same proxy has its own window.
      const neighbour = await gw.request(`${BASE}/connections`, {
        method: 'POST',
        token: agents[6]!.token,
        headers: { 'x-forwarded-for': '198.51.100.8' },
        body: { server_name: 'not valid' },
      });
      expect(neighbour.status).toBe(400);
    } finally {
      await gw.close();
    }
  });
});
