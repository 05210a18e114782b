/**
 * SPEC §10/§11: a `/mcp` session continues on any instance, without sticky
 * routing. One SDK client whose requests alternate between two gateways (shared
 * database and Redis), as a round-robin load balancer would send them.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../helpers/connections.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { startEverythingServer, type EverythingServer } from '../helpers/everything-server.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';
import { startEverythingUpstream, type EverythingUpstream } from '../fixtures/everything-upstream.js';

let redis: RedisTestServer;
let everything: EverythingServer;
let upstream: TestUpstream;
let everyUpstream: EverythingUpstream;
let everyConnectionId: string;
let database: TestDatabase;
let gateways: TestGateway[];
let agent: TestAgent;
let connectionId: string;

beforeAll(async () => {
  [redis, everything, upstream, everyUpstream] = await Promise.all([
    startRedis(),
    startEverythingServer({ mode: 'streamableHttp' }),
    startTestUpstream(),
    startEverythingUpstream(),
  ]);
  database = await createTestDatabase();
  const shared = { TMWS_REDIS_URL: redis.url, TMWS_DATABASE_URL: database.url };
  gateways = [await startGateway(shared), await startGateway(shared)];
  agent = await gateways[0]!.agent('mcp-scale-agent', 'mcp-scale-ns');
  await createConnection(gateways[0]!, agent, 'everything', everything.url);
  connectionId = await createConnection(gateways[1]!, agent, 'test', upstream.url);
  everyConnectionId = await createConnection(gateways[0]!, agent, 'every', everyUpstream.url);
});
afterAll(async () => {
  for (const gw of gateways ?? []) await gw.close();
  await Promise.all([redis?.stop(), everything?.stop(), upstream?.stop(), everyUpstream?.stop()]);
  await database?.drop();
});

/** Where each request of a round-robin client went: `POST 0`, `GET 1`, … */
interface RoundRobinClient {
  client: Client;
  log: string[];
}

async function roundRobinClient(path = '/mcp', capabilities: ClientCapabilities = {}): Promise<RoundRobinClient> {
  const log: string[] = [];
  let next = 0;
  const bases = gateways.map((gw) => new URL(gw.url));
  const balancer: typeof fetch = async (input, init) => {
    const target = bases[next++ % bases.length]!;
    const url = new URL(String(input instanceof Request ? input.url : input));
    url.host = target.host;
    log.push(`${init?.method ?? 'GET'} ${bases.indexOf(target)}`);
    return fetch(url, init);
  };
  const client = new Client({ name: 'round-robin', version: '1.0.0' }, { capabilities });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateways[0]!.url}${path}`), {
      requestInit: { headers: { Authorization: `Bearer ${agent.token}` } },
      fetch: balancer,
    }),
  );
  return { client, log };
}

describe('/mcp sessions across instances', () => {
  it('lists, calls and follows progress with requests alternating between instances', async () => {
    const { client, log } = await roundRobinClient();
    try {
      const names = [];
      for (let i = 0; i < 2; i++) names.push((await client.listTools()).tools.map((t) => t.name));
      expect(names[0]).toContain('everything__echo');
      expect(names[1]).toEqual(names[0]);
      for (let i = 0; i < 4; i++) {
        const result = (await client.callTool({ name: 'everything__echo', arguments: { message: `hop ${i}` } })) as CallToolResult;
        expect(JSON.stringify(result.content)).toContain(`hop ${i}`);
      }
      const progress: number[] = [];
      await client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 3 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      expect(progress.length).toBeGreaterThan(0);
      const posts = log.filter((entry) => entry.startsWith('POST'));
      expect(new Set(posts)).toEqual(new Set(['POST 0', 'POST 1']));
    } finally {
      await client.close();
    }
  });

  it('cancels a call running on one instance from a cancellation sent to the other', async () => {
    const { client } = await roundRobinClient();
    const before = upstream.state().cancellations;
    const controller = new AbortController();
    const call = client.callTool({ name: 'test__slow', arguments: { ms: 20_000 } }, undefined, { signal: controller.signal });
    const owner = { agentId: agent.id, namespace: agent.namespace, role: 'agent' as const };
    const running = await eventually(
      async () => {
        const { rows } = await gateways[0]!.gateway.services.executions.list(owner, {
          connectionId,
          status: 'RUNNING',
          limit: 1,
          offset: 0,
        });
        return rows[0];
      },
      10_000,
      'the call to run',
    );
    controller.abort('stop');
    await expect(call).rejects.toThrow();
    await eventually(() => upstream.state().cancellations > before, 10_000, 'the upstream to see the cancellation');
    const finished = await gateways[1]!.gateway.services.executions.get(owner, running.id);
    expect(finished).toMatchObject({ status: 'CANCELLED', source: 'MCP' });
    await client.close();
  });

  it('delivers list_changed on a GET stream of one instance for a catalogue refreshed on the other', async () => {
    const { client, log } = await roundRobinClient();
    let changes = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changes += 1;
    });
    const get = await eventually(() => log.find((entry) => entry.startsWith('GET')), 10_000, 'the GET stream to open');
    const other = gateways[get === 'GET 0' ? 1 : 0]!;
    upstream.addTool('added-elsewhere');
    // A refresh on the other instance stores the new catalogue there; the event crosses over Redis.
    const refreshed = await other.request(`/api/v1/mcp/connections/${connectionId}/tools`, { token: agent.token });
    expect(refreshed.status).toBe(200);
    await eventually(() => changes > 0, 10_000, 'notifications/tools/list_changed');
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('test__added-elsewhere');
    await client.close();
  });

  it('ends a session on every instance when either receives its DELETE', async () => {
    const init = await fetch(`${gateways[0]!.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${agent.token}`,
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    const session = init.headers.get('mcp-session-id')!;
    const headers = {
      authorization: `Bearer ${agent.token}`,
      'mcp-session-id': session,
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
    };
    const ping = (gw: TestGateway) =>
      fetch(`${gw.url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) });
    expect((await ping(gateways[0]!)).status).toBe(200);
    expect((await ping(gateways[1]!)).status).toBe(200);
    const ended = await fetch(`${gateways[1]!.url}/mcp`, {
      method: 'DELETE',
      headers: { authorization: headers.authorization, 'mcp-session-id': session },
    });
    expect(ended.status).toBe(200);
    await eventually(async () => (await ping(gateways[0]!)).status === 404, 10_000, 'instance A to forget the session');
  });
  it('passes a connection through with requests alternating between instances, sampling answers included', async () => {
    const { client, log } = await roundRobinClient(`/mcp/connections/${everyConnectionId}`, { sampling: {} });
    client.setRequestHandler(CreateMessageRequestSchema, () => ({
      model: 'test-model',
      role: 'assistant',
      content: { type: 'text', text: 'from the client' },
    }));
    try {
      for (let i = 0; i < 3; i++) {
        // The sampling request comes on the call's stream from one instance; the answer is POSTed to the other.
        const result = (await client.callTool({ name: 'test_sampling', arguments: { prompt: `hop ${i}` } })) as CallToolResult;
        expect(result.content).toEqual([{ type: 'text', text: 'LLM response: from the client' }]);
      }
      const prompt = await client.getPrompt({ name: 'test_simple_prompt' });
      expect(prompt.messages[0]?.content).toEqual({ type: 'text', text: 'This is a simple prompt for testing.' });
      expect(log.filter((entry) => entry === 'POST 0').length).toBeGreaterThan(1);
      expect(log.filter((entry) => entry === 'POST 1').length).toBeGreaterThan(1);
    } finally {
      await client.close();
    }
  });
});
