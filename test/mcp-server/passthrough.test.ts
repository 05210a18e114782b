import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverythingUpstream, type EverythingUpstream } from '../fixtures/everything-upstream.js';
import { createConnection } from '../helpers/connections.js';
import { eventually } from '../helpers/eventually.js';
import { startGateway, TEST_SECRET, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { SessionIds } from '../../src/mcp-server/session-id.js';
import { mcpClient, rawMcpSession } from './support.js';

let gw: TestGateway;
let upstream: EverythingUpstream;
let agent: TestAgent;
let connectionId: string;
const clients: Client[] = [];

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), startEverythingUpstream()]);
  agent = await gw.agent('pass-agent', 'pass-ns');
  connectionId = await createConnection(gw, agent, 'every', upstream.url);
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  await gw?.close();
  await upstream?.stop();
});

/** An SDK client on `/mcp/connections/{id}` declaring `capabilities`, with the agent's token. */
async function passthroughClient(
  capabilities: ClientOptions['capabilities'] = {},
  token = agent.token,
  id = connectionId,
): Promise<Client> {
  const client = new Client({ name: 'passthrough-test-client', version: '1.0.0' }, { capabilities });
  const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp/connections/${id}`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  clients.push(client);
  await client.connect(transport);
  return client;
}

function textOf(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

describe('/mcp/connections/{id} passthrough', () => {
  it('answers as the upstream itself: its server info, capabilities and tools under their original names', async () => {
    const client = await passthroughClient();
    expect(client.getServerVersion()).toEqual({ name: 'everything-upstream', version: '1.0.0' });
    expect(client.getServerCapabilities()).toMatchObject({ prompts: {}, resources: { subscribe: true }, completions: {}, logging: {} });
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toContain('test_simple_text');
    expect(tools.find((tool) => tool.name === 'json_schema_2020_12_tool')?.inputSchema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $defs: { address: { type: 'object' } },
      additionalProperties: false,
    });
  });

  it('relays structuredContent, _meta and isError untouched, and records each call as an MCP execution', async () => {
    const client = await passthroughClient();
    const added = (await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } })) as CallToolResult;
    expect(added).toEqual({
      content: [{ type: 'text', text: '{"sum":42}' }],
      structuredContent: { sum: 42 },
      _meta: { 'example.com/trace': 'abc' },
    });
    await expect(client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/^MCP error -32602: [^M]*no_such_tool/);
    const failed = (await client.callTool({ name: 'test_error_handling', arguments: {} })) as CallToolResult;
    expect(failed).toMatchObject({
      isError: true,
      content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
    });
    const { rows } = await gw.gateway.services.executions.list(
      { agentId: agent.id, namespace: agent.namespace, role: 'agent' },
      { connectionId, limit: 10, offset: 0 },
    );
    const add = rows.find((row) => row.toolName === 'add');
    expect(add).toMatchObject({ source: 'MCP', status: 'COMPLETED', isError: false });
    expect(rows.find((row) => row.toolName === 'test_error_handling')).toMatchObject({ source: 'MCP', isError: true });
  });

  it('passes prompts and completions through', async () => {
    const client = await passthroughClient();
    const { prompts } = await client.listPrompts();
    expect(prompts.map((prompt) => prompt.name)).toEqual([
      'test_simple_prompt',
      'test_prompt_with_arguments',
      'test_prompt_with_embedded_resource',
      'test_prompt_with_image',
    ]);
    const prompt = await client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'x', arg2: 'y' } });
    expect(prompt.messages).toEqual([{ role: 'user', content: { type: 'text', text: "Prompt with arguments: arg1='x', arg2='y'" } }]);
    const completed = await client.complete({
      ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
      argument: { name: 'arg1', value: 'al' },
    });
    expect(completed.completion).toEqual({ values: ['alpha', 'alpine'], total: 2, hasMore: false });
  });

  it('passes resources through: list, read, templates, and subscribe with updates on the GET stream', async () => {
    const client = await passthroughClient();
    const { resources } = await client.listResources();
    expect(resources.map((resource) => resource.uri)).toEqual(['test://static-text', 'test://static-binary', 'test://watched-resource']);
    const binary = await client.readResource({ uri: 'test://static-binary' });
    expect(binary.contents[0]).toMatchObject({ uri: 'test://static-binary', mimeType: 'image/png', blob: expect.any(String) });
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates[0]?.uriTemplate).toBe('test://template/{id}/data');
    const templated = await client.readResource({ uri: 'test://template/7/data' });
    expect(JSON.parse((templated.contents[0] as { text: string }).text)).toEqual({ id: '7', templateTest: true, data: 'Data for ID: 7' });

    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void updated.push(notification.params.uri));
    await client.subscribeResource({ uri: 'test://watched-resource' });
    // The update travels on the upstream's GET stream, relayed on this client's: poke until that stream is up.
    await eventually(
      async () => {
        await client.callTool({ name: 'touch_resource', arguments: { uri: 'test://watched-resource' } });
        return updated.length > 0;
      },
      15_000,
      'notifications/resources/updated',
    );
    expect(updated[0]).toBe('test://watched-resource');
  });

  it('relays progress and log messages of a call to the client', async () => {
    const client = await passthroughClient();
    const progress: number[] = [];
    const result = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
      onprogress: (p) => void progress.push(p.progress),
    });
    expect(progress).toEqual([0, 50, 100]);
    expect(Number(textOf(result))).toBeGreaterThanOrEqual(0);
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => void logs.push(notification.params.data));
    await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    expect(logs).toEqual(['Tool execution started', 'Tool processing data', 'Tool execution completed']);
  });

  it("relays the upstream's sampling, elicitation and roots requests to a client that declared them", async () => {
    const client = await passthroughClient({ sampling: {}, elicitation: {}, roots: {} });
    client.setRequestHandler(CreateMessageRequestSchema, (request) => ({
      model: 'test-model',
      role: 'assistant',
      content: { type: 'text', text: `echo of ${(request.params.messages[0]?.content as { text: string }).text}` },
    }));
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { response: 'yes' } }));
    client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: 'file:///work', name: 'work' }] }));
    expect(textOf(await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hi' } }))).toBe('LLM response: echo of hi');
    expect(textOf(await client.callTool({ name: 'test_elicitation', arguments: { message: 'ok?' } }))).toBe(
      'User response: action=accept, content={"response":"yes"}',
    );
    expect(textOf(await client.callTool({ name: 'list_roots', arguments: {} }))).toBe('Roots: file:///work');
  });

  it('resumes an upstream answer stream closed before the answer (SEP-1699), so the call still completes', async () => {
    const client = await passthroughClient();
    const result = await client.callTool({ name: 'test_reconnection', arguments: {} });
    expect(textOf(result)).toMatch(/^Reconnection test completed successfully/);
  });

  it('answers the upstream with an MCP error when the client did not declare the capability', async () => {
    const client = await passthroughClient();
    expect(textOf(await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hi' } }))).toMatch(
      /^Sampling not supported or error: .*did not declare the sampling capability/,
    );
  });

  it('cancels the upstream call and the execution when the client cancels', async () => {
    const client = await passthroughClient();
    const before = upstream.cancelled.length;
    const controller = new AbortController();
    const call = client.callTool({ name: 'wait_for_cancel', arguments: {} }, undefined, { signal: controller.signal });
    const principal = { agentId: agent.id, namespace: agent.namespace, role: 'agent' as const };
    const running = async () => {
      const { rows } = await gw.gateway.services.executions.list(principal, { connectionId, limit: 1, offset: 0 });
      return rows[0]?.toolName === 'wait_for_cancel' && rows[0].status === 'RUNNING' ? rows[0] : undefined;
    };
    const execution = await eventually(running, 10_000, 'the execution to run');
    controller.abort('user pressed stop');
    await expect(call).rejects.toThrow();
    await eventually(() => upstream.cancelled.length > before, 10_000, 'the upstream to see the cancellation');
    await eventually(
      async () => (await gw.gateway.services.executions.get(principal, execution.id)).status === 'CANCELLED',
      10_000,
      'the execution to be CANCELLED',
    );
  });

  it('cancels the call, not the connection, when the client drops its request', async () => {
    const url = `${gw.url}/mcp/connections/${connectionId}`;
    const session = await rawMcpSession(url, agent.token);
    const before = upstream.cancelled.length;
    const dropped = new AbortController();
    const call = fetch(url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'wait_for_cancel', arguments: {} } }),
      signal: dropped.signal,
    });
    const principal = { agentId: agent.id, namespace: agent.namespace, role: 'agent' as const };
    const execution = await eventually(
      async () => {
        const { rows } = await gw.gateway.services.executions.list(principal, { connectionId, limit: 1, offset: 0 });
        return rows[0]?.toolName === 'wait_for_cancel' && rows[0].status === 'RUNNING' ? rows[0] : undefined;
      },
      10_000,
      'the execution to run',
    );
    dropped.abort();
    await call.then((response) => response.body?.cancel()).catch(() => undefined);
    await eventually(() => upstream.cancelled.length > before, 10_000, 'the upstream to see the cancellation');
    await eventually(
      async () => (await gw.gateway.services.executions.get(principal, execution.id)).status === 'CANCELLED',
      10_000,
      'the execution to be CANCELLED',
    );
    expect((await gw.gateway.services.connections.read(principal, connectionId)).status).toBe('active');
  });

  it('ends the session, here and upstream, with DELETE', async () => {
    const client = await passthroughClient();
    await client.listTools();
    const transport = client.transport as StreamableHTTPClientTransport;
    const sessionId = transport.sessionId!;
    const upstreamSessionId = new SessionIds(TEST_SECRET).open(sessionId)?.link?.upstreamSessionId;
    expect(upstream.hasSession(upstreamSessionId!)).toBe(true);
    await transport.terminateSession();
    expect(upstream.hasSession(upstreamSessionId!)).toBe(false);
    const again = await gw.request(`/mcp/connections/${connectionId}`, {
      method: 'POST',
      token: agent.token,
      body: { jsonrpc: '2.0', id: 9, method: 'tools/list' },
      headers: { accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
    });
    expect(again.status).toBe(404);
  });

  it("refuses another agent's connection, an unknown one, and a session of another endpoint", async () => {
    const other = await gw.agent('pass-other', 'pass-ns');
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    };
    const post = (path: string, token: string, headers: Record<string, string> = {}) =>
      gw.request(path, { method: 'POST', token, body: initialize, headers: { accept: 'application/json, text/event-stream', ...headers } });
    expect((await post(`/mcp/connections/${connectionId}`, other.token)).status).toBe(403);
    expect((await post('/mcp/connections/00000000-0000-4000-8000-000000000000', agent.token)).status).toBe(404);
    const aggregated = await mcpClient(gw.url, agent.token);
    clients.push(aggregated);
    const sessionId = (aggregated.transport as StreamableHTTPClientTransport).sessionId!;
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    const crossed = await gw.request(`/mcp/connections/${connectionId}`, {
      method: 'POST',
      token: agent.token,
      body: list,
      headers: { accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
    });
    expect(crossed.status).toBe(404);
  });
});
