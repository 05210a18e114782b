import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverythingServer } from '../helpers/everything-server.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

const BASE = '/api/v1/mcp';
let gw: TestGateway;
let agent: TestAgent;
let upstream: TestUpstream;

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), startTestUpstream({ bulkTools: 230, pageSize: 100 })]);
  agent = await gw.agent('edge-agent', 'edge-ns');
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

async function connect(name: string, url: string, timeout = 10) {
  const response = await gw.request(`${BASE}/connections`, {
    method: 'POST',
    token: agent.token,
    body: { server_name: name, url, timeout },
  });
  expect(response.status).toBe(201);
  return response.json();
}

async function execute(id: string, tool: string, args: Record<string, unknown>) {
  const response = await gw.request(`${BASE}/connections/${id}/tools/${tool}/execute`, {
    method: 'POST',
    token: agent.token,
    body: { arguments: args },
  });
  return { status: response.status, body: await response.json() };
}

describe('upstream behaviour through the REST bridge', () => {
  let id: string;

  it('follows tools/list pagination into the catalogue', async () => {
    const connection = await connect('edge', upstream.url);
    id = connection.id;
    const names: string[] = connection.tools.map((t: { name: string }) => t.name);
    expect(names.filter((n) => n.startsWith('bulk-'))).toHaveLength(230);
    expect(names).toContain('echo');
  });

  it('relays structuredContent as result.result', async () => {
    const { status, body } = await execute(id, 'add', { a: 2, b: 3 });
    expect(status).toBe(200);
    expect(body.result.result).toEqual({ sum: 5 });
  });

  it('answers 200 with is_error for an upstream tool error', async () => {
    const { status, body } = await execute(id, 'fail', { message: 'nope' });
    expect(status).toBe(200);
    expect(body.result).toMatchObject({ status: 'error', is_error: true });
    expect(JSON.stringify(body.result.content)).toContain('nope');
  });

  it('relays content blocks faithfully and keeps _meta in the audit trail', async () => {
    const { status, body } = await execute(id, 'meta', {});
    expect(status).toBe(200);
    expect(body.result.content).toEqual([
      { type: 'text', text: 'hello', annotations: { audience: ['user'] } },
      { type: 'resource_link', uri: 'file:///report.txt', name: 'report' },
    ]);
    const record = await gw.gateway.services.executionRepository.findReadable(
      { agentId: 'edge-agent', namespace: 'edge-ns', role: 'agent' },
      body.execution_id,
    );
    expect(record.result).toMatchObject({ _meta: { 'example.com/trace': 'abc' } });
  });

  it('picks up a changed tool list on discover', async () => {
    upstream.addTool('fresh-tool', 'Appeared later');
    const response = await gw.request(`${BASE}/connections/${id}/tools`, { token: agent.token });
    const body = await response.json();
    expect(body.tools.map((t: { name: string }) => t.name)).toContain('fresh-tool');
    expect((await execute(id, 'fresh-tool', {})).status).toBe(200);
  });

  it('recovers transparently when the upstream forgets the session', async () => {
    await upstream.expireSessions();
    const { status, body } = await execute(id, 'echo', { message: 'after expiry' });
    expect(status).toBe(200);
    expect(body.result.result).toBe('after expiry');
  });

  it('answers 502 and records TIMED_OUT when the upstream exceeds the connection timeout', async () => {
    const slow = await connect('slow-edge', upstream.url, 5);
    const started = Date.now();
    const { status, body } = await execute(slow.id, 'slow', { ms: 8000 });
    expect(status).toBe(502);
    expect(body.error_code).toBe('EXTERNAL_SERVICE_ERROR');
    expect(Date.now() - started).toBeLessThan(7500);
    const { rows } = await gw.gateway.services.executionRepository.list(
      { agentId: 'edge-agent', namespace: 'edge-ns', role: 'agent' },
      { connectionId: slow.id, limit: 5, offset: 0 },
    );
    expect(rows[0]).toMatchObject({ status: 'TIMED_OUT', toolName: 'slow' });
  });
});

describe('upstream restart', () => {
  it('re-establishes the session after the everything server restarts', async () => {
    const everything = await startEverythingServer({ mode: 'streamableHttp' });
    try {
      const connection = await connect('restartable', everything.url);
      expect((await execute(connection.id, 'echo', { message: 'before' })).status).toBe(200);
      await everything.restart();
      const after = await execute(connection.id, 'echo', { message: 'after' });
      expect(after.status).toBe(200);
      expect(after.body.result.result).toBe('Echo: after');
      const status = await (await gw.request(`${BASE}/connections/${connection.id}`, { token: agent.token })).json();
      expect(status.status).toBe('active');
    } finally {
      await everything.stop();
    }
  });

  it('falls back to legacy SSE', async () => {
    const sse = await startEverythingServer({ mode: 'sse' });
    try {
      const connection = await connect('legacy-sse', sse.url);
      const { status, body } = await execute(connection.id, 'echo', { message: 'over sse' });
      expect(status).toBe(200);
      expect(body.result.result).toBe('Echo: over sse');
    } finally {
      await sse.stop();
    }
  });
});
