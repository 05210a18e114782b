/**
 * What `/mcp` enforces before any tool runs (SPEC §11, §3): the bearer token with
 * its RFC 9728 pointer, Origin (DNS rebinding), sessions bound to their agent,
 * and isolation — an agent's /mcp never lists, searches or calls another's tools.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, graphql, sse } from '../graphql/client.js';
import { createConnection } from '../helpers/connections.js';
import { eventually } from '../helpers/eventually.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';
import { listAllTools, mcpClient, type TestMcpClient } from './support.js';

const ALLOWED_ORIGIN = 'http://dashboard.example';
const INIT = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const MCP_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

let gw: TestGateway;
let upstream: TestUpstream;
let alice: TestAgent;
let bob: TestAgent;
let admin: TestAgent;
const clients: TestMcpClient[] = [];

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway({ TMWS_CORS_ORIGINS: JSON.stringify([ALLOWED_ORIGIN]) }), startTestUpstream()]);
  [alice, bob, admin] = await Promise.all([gw.agent('alice', 'team'), gw.agent('bob', 'team'), gw.agent('boss', 'team', 'admin')]);
  await createConnection(gw, alice, 'alpha', upstream.url);
  await createConnection(gw, bob, 'beta', upstream.url);
  await createConnection(gw, admin, 'gamma', upstream.url);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await gw?.close();
  await upstream?.stop();
});

async function client(agent: TestAgent, query = ''): Promise<TestMcpClient> {
  const c = await mcpClient(gw.url, agent.token, { query });
  clients.push(c);
  return c;
}

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gw.url}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(body) });
}

describe('authentication', () => {
  it('answers 401 with WWW-Authenticate pointing at the protected-resource metadata', async () => {
    for (const authorization of [undefined, 'Bearer not-a-jwt']) {
      const response = await post(INIT, authorization ? { authorization } : {});
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${gw.url}/.well-known/oauth-protected-resource"`);
      const body = (await response.json()) as { error: { data: { error_code: string } } };
      expect(body.error.data.error_code).toBe('AUTHENTICATION_ERROR');
    }
  });

  it('serves the RFC 9728 document without authentication, naming the resource and no authorization server', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const response = await fetch(`${gw.url}${path}`);
      expect(response.status).toBe(200);
      const document = (await response.json()) as Record<string, unknown>;
      expect(document).toEqual({
        resource: `${gw.url}/mcp`,
        bearer_methods_supported: ['header'],
        resource_name: 'TMWS Gateway MCP endpoint',
      });
    }
  });

  it('names the https URL the client used behind a trusted proxy that terminates TLS, and ignores the header from anyone else', async () => {
    const proxied = await startGateway({ TMWS_TRUSTED_PROXIES: '127.0.0.1' });
    try {
      const viaProxy = { 'x-forwarded-proto': 'https' };
      const httpsOrigin = proxied.url.replace(/^http:/, 'https:');
      const refused = await fetch(`${proxied.url}/mcp`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, ...viaProxy },
        body: JSON.stringify(INIT),
      });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="${httpsOrigin}/.well-known/oauth-protected-resource"`,
      );
      const document = await fetch(`${proxied.url}/.well-known/oauth-protected-resource/mcp`, { headers: viaProxy });
      expect(((await document.json()) as { resource: string }).resource).toBe(`${httpsOrigin}/mcp`);
    } finally {
      await proxied.close();
    }
    // A gateway that trusts a proxy, but not this peer: the header is the client's own and changes nothing.
    const elsewhere = await startGateway({ TMWS_TRUSTED_PROXIES: '10.9.8.7' });
    try {
      const refused = await fetch(`${elsewhere.url}/mcp`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, 'x-forwarded-proto': 'https' },
        body: JSON.stringify(INIT),
      });
      expect(refused.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="${elsewhere.url}/.well-known/oauth-protected-resource"`,
      );
    } finally {
      await elsewhere.close();
    }
    // This gateway trusts no proxy: a client's own X-Forwarded-Proto changes nothing.
    const direct = await post(INIT, { 'x-forwarded-proto': 'https' });
    expect(direct.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${gw.url}/.well-known/oauth-protected-resource"`);
  });

  it('refuses the SDK client without a token', async () => {
    await expect(mcpClient(gw.url, '')).rejects.toThrow();
  });
});

describe('bodies it cannot read', () => {
  const raw = (path: string, body: string, token = alice.token) => gw.request(path, { method: 'POST', token, headers: MCP_HEADERS, body });
  const deep = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}`;

  it.each([
    ['not JSON', '{"jsonrpc":"2.0","id":1,', 400, -32700, 'VALIDATION_ERROR'],
    ['nested deeper than 64', deep, 400, -32700, 'VALIDATION_ERROR'],
    [
      'above 1 MiB',
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(1024 * 1024) } }),
      413,
      -32000,
      'PAYLOAD_TOO_LARGE',
    ],
  ])(
    'answers a body %s as a JSON-RPC error whose data is the gateway error body, on /mcp and the passthrough',
    async (_label, body, status, code, errorCode) => {
      const connections = await gw.request('/api/v1/mcp/connections', { token: alice.token });
      const [first] = ((await connections.json()) as { connections: { id: string }[] }).connections;
      for (const path of ['/mcp', `/mcp/connections/${first!.id}`]) {
        const response = await raw(path, body);
        expect(response.status, path).toBe(status);
        expect(await response.json(), path).toMatchObject({ jsonrpc: '2.0', id: null, error: { code, data: { error_code: errorCode } } });
      }
    },
  );
});

describe('tools/call with params MCP does not allow', () => {
  it.each([
    ['no params', undefined, 'params must be an object naming the tool'],
    ['no tool name', {}, 'params.name must be a string: the tool to call'],
    ['arguments that are not an object', { name: 'alpha__echo', arguments: 'str' }, 'params.arguments must be an object'],
  ])('answers %s as invalid params (-32602), with a message a person can read', async (_label, params, problem) => {
    const response = await gw.request('/mcp', {
      method: 'POST',
      token: alice.token,
      headers: MCP_HEADERS,
      body: { jsonrpc: '2.0', id: 7, method: 'tools/call', ...(params === undefined ? {} : { params }) },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 7, error: { code: -32602, message: `Invalid params: ${problem}` } });
  });
});

describe('Origin (DNS rebinding)', () => {
  it('refuses an Origin not in TMWS_CORS_ORIGINS with 403, before looking at the token', async () => {
    const response = await post(INIT, { origin: 'http://evil.example', authorization: `Bearer ${alice.token}` });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { data: { error_code: string } } }).error.data.error_code).toBe('AUTHORIZATION_ERROR');
    expect((await post(INIT, { origin: 'http://evil.example' })).status).toBe(403);
  });

  it('accepts a listed Origin, and requests without one', async () => {
    const listed = await post(INIT, { origin: ALLOWED_ORIGIN, authorization: `Bearer ${alice.token}` });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('mcp-session-id')).toBeTruthy();
    expect((await post(INIT, { authorization: `Bearer ${alice.token}` })).status).toBe(200);
  });
});

describe('sessions', () => {
  async function initialize(agent: TestAgent): Promise<string> {
    const response = await post(INIT, { authorization: `Bearer ${agent.token}` });
    expect(response.status).toBe(200);
    return response.headers.get('mcp-session-id')!;
  }
  const list = (agent: TestAgent, sessionId: string) =>
    post(
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { authorization: `Bearer ${agent.token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
    );

  it('is bound to the agent that started it: another agent gets 404', async () => {
    const session = await initialize(alice);
    expect((await list(alice, session)).status).toBe(200);
    expect((await list(bob, session)).status).toBe(404);
  });

  it('refuses a session id it did not issue with 404', async () => {
    const session = await initialize(alice);
    expect((await list(alice, `${session.slice(0, -2)}xx`)).status).toBe(404);
    expect((await list(alice, 'made-up')).status).toBe(404);
  });

  it('ends with DELETE: the session id is then unknown', async () => {
    const session = await initialize(alice);
    const headers = { authorization: `Bearer ${alice.token}`, 'mcp-session-id': session };
    expect((await fetch(`${gw.url}/mcp`, { method: 'DELETE', headers })).status).toBe(200);
    const after = await list(alice, session);
    expect(after.status).toBe(404);
    expect(((await after.json()) as { error: { code: number } }).error.code).toBe(-32001);
  });
});

describe('isolation', () => {
  const names = async (c: TestMcpClient) => (await listAllTools(c)).tools.map((t) => t.name);

  it('lists only the caller’s own connections; an admin sees only its own too', async () => {
    const [a, b, boss] = await Promise.all([client(alice), client(bob), client(admin)]);
    const [aNames, bNames, bossNames] = await Promise.all([names(a), names(b), names(boss)]);
    expect(aNames).toContain('alpha__echo');
    expect(aNames.some((n) => n.startsWith('beta__') || n.startsWith('gamma__'))).toBe(false);
    expect(bNames).toContain('beta__echo');
    expect(bNames.some((n) => n.startsWith('alpha__') || n.startsWith('gamma__'))).toBe(false);
    expect(bossNames).toContain('gamma__echo');
    expect(bossNames.some((n) => n.startsWith('alpha__') || n.startsWith('beta__'))).toBe(false);
  });

  it('never calls another agent’s tool, directly or through call_tool, even for an admin', async () => {
    const [b, boss] = await Promise.all([client(bob), client(admin)]);
    for (const c of [b, boss]) {
      await expect(c.callTool({ name: 'alpha__echo', arguments: { message: 'x' } })).rejects.toThrow(/Unknown tool/);
      await expect(c.callTool({ name: 'call_tool', arguments: { name: 'alpha__echo', arguments: { message: 'x' } } })).rejects.toThrow(
        /Unknown tool/,
      );
    }
  });

  it('search_tools returns only names the caller can call here', async () => {
    const boss = await client(admin);
    // Indexing runs off the request path: wait until the admin's own tool is searchable.
    const found = await eventually(
      async () => {
        const result = (await boss.callTool({
          name: 'search_tools',
          arguments: { query: 'echo the message back', limit: 20 },
        })) as CallToolResult;
        const names = (result.structuredContent as { results: { name: string }[] }).results.map((r) => r.name);
        return names.includes('gamma__echo') && names;
      },
      15_000,
      'gamma__echo to be searchable',
    );
    expect(found.every((n) => n.startsWith('gamma__'))).toBe(true);
  });
});

describe('meta-tools', () => {
  it('?tools=search lists only search_tools and call_tool, which find and call a tool', async () => {
    const c = await client(alice, '?tools=search');
    expect((await listAllTools(c)).tools.map((t) => t.name)).toEqual(['call_tool', 'search_tools']);
    const results = await eventually(
      async () => {
        const search = (await c.callTool({ name: 'search_tools', arguments: { query: 'add two numbers', limit: 5 } })) as CallToolResult;
        const found = (search.structuredContent as { results: { name: string; score: number }[] }).results;
        return found.length > 0 && found;
      },
      15_000,
      'alpha tools to be searchable',
    );
    expect(results[0]!.name).toBe('alpha__add');
    const called = (await c.callTool({
      name: 'call_tool',
      arguments: { name: results[0]!.name, arguments: { a: 1, b: 2 } },
    })) as CallToolResult;
    expect(called.structuredContent).toEqual({ sum: 3 });
  });

  it('reports a call_tool without a name as a tool error', async () => {
    const c = await client(alice, '?tools=search');
    const result = (await c.callTool({ name: 'call_tool', arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
  });
});

describe('audit trail', () => {
  it('records each tools/call as an Execution with source MCP that GraphQL subscribers see live', async () => {
    const subscription = await sse(
      gw,
      'subscription { executionUpdates { type execution { id source toolName status } } }',
      {},
      alice.token,
    );
    const c = await client(alice);
    await c.callTool({ name: 'alpha__echo', arguments: { message: 'audited' } });
    type Update = { executionUpdates: { type: string; execution: { id: string; source: string; toolName: string; status: string } } };
    const events = await collect<Update>(subscription.events as never, (e) => e.data?.executionUpdates.type === 'COMPLETED');
    const completed = events.map((e) => e.data!.executionUpdates).find((u) => u.type === 'COMPLETED')!;
    expect(completed.execution).toMatchObject({ source: 'MCP', toolName: 'echo', status: 'COMPLETED' });
    const stored = await graphql<{ execution: { source: string; arguments: unknown } }>(
      gw,
      'query($id: ID!) { execution(id: $id) { source arguments } }',
      { id: completed.execution.id },
      alice.token,
    );
    expect(stored.body.data!.execution).toEqual({ source: 'MCP', arguments: { message: 'audited' } });
  });
});

describe('GET stream', () => {
  it('ends within seconds of its agent being deactivated', async () => {
    const temp = await gw.agent('short-lived', 'team');
    const stream = await fetch(`${gw.url}/mcp`, { headers: { authorization: `Bearer ${temp.token}`, accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    await gw.agent('short-lived', 'team', 'agent', 'inactive');
    const started = Date.now();
    const reader = stream.body!.getReader();
    while (!(await reader.read()).done);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
