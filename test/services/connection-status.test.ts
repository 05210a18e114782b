/**
 * Issue 18 item 2, SPEC §6 ("status reflects reality"): on PostgreSQL +
 * Redis, a connection read right after an execute answered 502 (upstream
 * down) says `error` — the status change is written before the 502 is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';
import { eventually } from '../helpers/eventually.js';

/** Several connections at once: the old race lost about one in two, so a handful always catches it. */
const CONNECTIONS = 8;

let database: TestDatabase;
let redis: RedisTestServer;
let gw: TestGateway;
let agent: TestAgent;

beforeAll(async () => {
  [database, redis] = await Promise.all([createTestDatabase('postgresql'), startRedis()]);
  gw = await startGateway({ TMWS_DATABASE_URL: database.url, TMWS_REDIS_URL: redis.url });
  agent = await gw.agent('status-agent', 'status-ns');
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await redis?.stop();
  await database?.drop();
});

async function liveConnection(name: string): Promise<{ id: string; upstream: TestUpstream }> {
  const upstream = await startTestUpstream();
  const created = await gw.request('/api/v1/mcp/connections', {
    method: 'POST',
    token: agent.token,
    body: { server_name: name, url: upstream.url },
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const warm = await gw.request(`/api/v1/mcp/connections/${id}/tools/echo/execute`, {
    method: 'POST',
    token: agent.token,
    body: { arguments: { message: 'up' } },
  });
  expect(warm.status).toBe(200);
  return { id, upstream };
}

describe('connection status after a failed execute on PostgreSQL', () => {
  it('is error as soon as the execute answered 502', async () => {
    const connections = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => liveConnection(`down-${i}`)));
    await Promise.all(connections.map(({ upstream }) => upstream.stop()));

    const seen = await Promise.all(
      connections.map(async ({ id }) => {
        const executed = await gw.request(`/api/v1/mcp/connections/${id}/tools/echo/execute`, {
          method: 'POST',
          token: agent.token,
          body: { arguments: { message: 'anyone there?' } },
        });
        const read = await gw.request(`/api/v1/mcp/connections/${id}`, { token: agent.token });
        return { executed: executed.status, status: ((await read.json()) as { status: string }).status };
      }),
    );
    expect(seen).toEqual(connections.map(() => ({ executed: 502, status: 'error' })));
  }, 60_000);

  it('is active again as soon as a call through it succeeded once the upstream is back', async () => {
    const { id, upstream } = await liveConnection('back');
    await upstream.stop();
    const failed = await gw.request(`/api/v1/mcp/connections/${id}/tools/echo/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: { message: 'x' } },
    });
    expect(failed.status).toBe(502);
    const restarted = await startTestUpstream({ port: upstream.port });
    try {
      const executed = await gw.request(`/api/v1/mcp/connections/${id}/tools/echo/execute`, {
        method: 'POST',
        token: agent.token,
        body: { arguments: { message: 'back' } },
      });
      expect(executed.status).toBe(200);
      const read = await gw.request(`/api/v1/mcp/connections/${id}`, { token: agent.token });
      expect(((await read.json()) as { status: string }).status).toBe('active');
    } finally {
      await restarted.stop();
    }
  }, 60_000);

  it('is error as soon as a call in flight answered 502 because its upstream went down', async () => {
    const connections = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => liveConnection(`lost-${i}`)));
    const seen = await Promise.all(
      connections.map(async ({ id, upstream }) => {
        const executing = gw.request(`/api/v1/mcp/connections/${id}/tools/slow/execute`, {
          method: 'POST',
          token: agent.token,
          body: { arguments: { ms: 30_000 } },
        });
        await eventually(() => (upstream.state().calls.slow ?? 0) > 0, 10_000, 'the call reached the upstream');
        await upstream.stop();
        const executed = await executing;
        const read = await gw.request(`/api/v1/mcp/connections/${id}`, { token: agent.token });
        return { executed: executed.status, status: ((await read.json()) as { status: string }).status };
      }),
    );
    expect(seen).toEqual(connections.map(() => ({ executed: 502, status: 'error' })));
  }, 60_000);
});
