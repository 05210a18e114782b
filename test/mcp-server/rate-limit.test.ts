/**
 * `/mcp` draws from the §5 buckets like REST and GraphQL: tools/call → execute,
 * tools/list and search_tools → discover. Limits scaled down (development × 0.01:
 * discover 1, execute 2 per agent and window); each case has its own agent.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../helpers/connections.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';
import { mcpClient } from './support.js';

let gw: TestGateway;
let upstream: TestUpstream;

beforeAll(async () => {
  upstream = await startTestUpstream();
  gw = await startGateway({ TMWS_ENVIRONMENT: 'development', TMWS_RATE_LIMIT_SCALE: '0.01' });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

async function agentWithConnection(): Promise<TestAgent> {
  const agent = await gw.agent(`rl-${randomUUID().slice(0, 8)}`, 'rl');
  await createConnection(gw, agent, 'srv', upstream.url);
  return agent;
}

function post(agent: TestAgent, body: unknown): Promise<Response> {
  return fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${agent.token}`,
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
      'mcp-protocol-version': '2025-06-18',
    },
    body: JSON.stringify(body),
  });
}
const call = (id: number, name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

describe('rate limits on /mcp', () => {
  it('limits tools/call by the execute bucket: HTTP 429, Retry-After and a JSON-RPC error naming the bucket', async () => {
    const agent = await agentWithConnection();
    expect((await post(agent, call(1, 'srv__echo', { message: 'a' }))).status).toBe(200);
    expect((await post(agent, call(2, 'srv__echo', { message: 'b' }))).status).toBe(200);
    const limited = await post(agent, call(3, 'srv__echo', { message: 'c' }));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    const body = (await limited.json()) as {
      jsonrpc: string;
      id: unknown;
      error: { code: number; data: { error_code: string; details: { endpoint_type: string } } };
    };
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 3 });
    expect(body.error.data).toMatchObject({ error_code: 'RATE_LIMIT_EXCEEDED', details: { endpoint_type: 'mcp_execute_tool' } });
  });

  it('limits tools/list and search_tools by the discover bucket, not the execute one', async () => {
    const agent = await agentWithConnection();
    expect((await post(agent, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).status).toBe(200);
    expect((await post(agent, call(2, 'search_tools', { query: 'echo' }))).status).toBe(429);
    expect((await post(agent, call(3, 'srv__echo', { message: 'still allowed' }))).status).toBe(200);
  });

  it('counts every message of a JSON-RPC batch', async () => {
    const agent = await agentWithConnection();
    const batch = [call(1, 'srv__echo', { message: 'a' }), call(2, 'srv__echo', { message: 'b' }), call(3, 'srv__echo', { message: 'c' })];
    expect((await post(agent, batch)).status).toBe(429);
  });

  it('surfaces the 429 to an SDK client as an error that names it', async () => {
    const agent = await agentWithConnection();
    const client = await mcpClient(gw.url, agent.token);
    try {
      await client.listTools();
      const error = (await client.listTools().catch((e: unknown) => e)) as { code?: number; message: string };
      expect(error.code).toBe(429);
      expect(error.message).toMatch(/Rate limit exceeded for mcp_discover_tools/);
    } finally {
      await client.close();
    }
  });
});
