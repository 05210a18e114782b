import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../helpers/connections.js';
import { eventually } from '../helpers/eventually.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';
import { listAllTools, mcpClient, type TestMcpClient } from './support.js';

let gw: TestGateway;
let upstream: TestUpstream;
let agent: TestAgent;
let client: TestMcpClient;
let connectionId: string;

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), startTestUpstream({ bulkTools: 230, pageSize: 100 })]);
  agent = await gw.agent('mcp-agent', 'mcp-ns');
  connectionId = await createConnection(gw, agent, 'up', upstream.url);
  client = await mcpClient(gw.url, agent.token);
});
afterAll(async () => {
  await client?.close();
  await gw?.close();
  await upstream?.stop();
});

describe('/mcp aggregated catalogue', () => {
  it('lists every tool as <server_name>__<tool> over several pages, in a stable order, with the meta-tools', async () => {
    const first = await listAllTools(client);
    expect(first.pages).toBeGreaterThan(1);
    const names = first.tools.map((tool) => tool.name);
    expect(names).toContain('up__echo');
    expect(names).toContain('search_tools');
    expect(names).toContain('call_tool');
    expect(names.filter((name) => name.startsWith('up__bulk-'))).toHaveLength(230);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(names);
    expect((await listAllTools(client)).tools.map((tool) => tool.name)).toEqual(names);
  });

  it('keeps the upstream schemas and annotations verbatim', async () => {
    const { tools } = await listAllTools(client);
    const add = tools.find((tool) => tool.name === 'up__add');
    expect(add).toMatchObject({
      title: 'Add two numbers',
      description: 'Adds a and b, with structured output',
      inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
      outputSchema: { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] },
      annotations: { readOnlyHint: true },
    });
  });

  it('calls a tool and returns its structured content', async () => {
    const result = (await client.callTool({ name: 'up__add', arguments: { a: 2, b: 40 } })) as CallToolResult;
    expect(result.structuredContent).toEqual({ sum: 42 });
    expect(result.content).toEqual([{ type: 'text', text: JSON.stringify({ sum: 42 }) }]);
    expect(result.isError).toBeFalsy();
  });

  it('relays an upstream tool error as isError, and content blocks and _meta untouched', async () => {
    const failed = (await client.callTool({ name: 'up__fail', arguments: { message: 'nope' } })) as CallToolResult;
    expect(failed).toMatchObject({ isError: true, content: [{ type: 'text', text: 'nope' }] });
    const meta = (await client.callTool({ name: 'up__meta', arguments: {} })) as CallToolResult;
    expect(meta.content).toEqual([
      { type: 'text', text: 'hello', annotations: { audience: ['user'] } },
      { type: 'resource_link', uri: 'file:///report.txt', name: 'report' },
    ]);
    expect(meta._meta).toEqual({ 'example.com/trace': 'abc' });
  });

  it('answers an unknown tool with a protocol error and invalid arguments with a tool error', async () => {
    await expect(client.callTool({ name: 'up__nope', arguments: {} })).rejects.toThrow(/Unknown tool/);
    const invalid = (await client.callTool({ name: 'up__add', arguments: { a: 'x', b: 1 } })) as CallToolResult;
    expect(invalid.isError).toBe(true);
    expect(invalid.structuredContent).toMatchObject({ error_code: 'VALIDATION_ERROR' });
  });

  it('relays progress to a client that asked for it', async () => {
    const seen: number[] = [];
    const result = (await client.callTool({ name: 'up__slow', arguments: { ms: 600, steps: 3 } }, undefined, {
      onprogress: (progress) => seen.push(progress.progress),
    })) as CallToolResult;
    expect(result.content).toEqual([{ type: 'text', text: 'slept 600 ms' }]);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('cancels the execution and the upstream call when the client cancels', async () => {
    const before = upstream.state().cancellations;
    const controller = new AbortController();
    const call = client.callTool({ name: 'up__slow', arguments: { ms: 20_000 } }, undefined, { signal: controller.signal });
    await eventually(async () => (await latestExecution())?.status === 'RUNNING', 10_000, 'the execution to run');
    controller.abort('user pressed stop');
    await expect(call).rejects.toThrow();
    await eventually(() => upstream.state().cancellations > before, 10_000, 'the upstream to see the cancellation');
    const execution = await eventually(
      async () => {
        const latest = await latestExecution();
        return latest?.status === 'CANCELLED' ? latest : undefined;
      },
      10_000,
      'the execution to be CANCELLED',
    );
    expect(execution.source).toBe('MCP');
  });

  it('sends tools/list_changed on the GET stream when an upstream catalogue changes', async () => {
    let changes = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changes += 1;
    });
    // The client opens its GET stream just after initialization.
    await eventually(() => client.serverStreams > 0, 10_000, 'the GET stream to open');
    upstream.addTool('fresh');
    await eventually(() => changes > 0, 10_000, 'notifications/tools/list_changed');
    const names = (await listAllTools(client)).tools.map((tool) => tool.name);
    expect(names).toContain('up__fresh');
  });

  async function latestExecution(): Promise<{ status: string; source: string } | undefined> {
    const { rows } = await gw.gateway.services.executions.list(
      { agentId: agent.id, namespace: agent.namespace, role: 'agent' },
      { connectionId, limit: 1, offset: 0 },
    );
    return rows[0];
  }
});
