import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedEverythingUrl } from '../helpers/everything-server.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';

const BASE = '/api/v1/mcp';
let gw: TestGateway;
const upstream = { url: sharedEverythingUrl() };
let agent: TestAgent;

beforeAll(async () => {
  gw = await startGateway();
  agent = await gw.agent('conn-agent', 'conn-ns');
});
afterAll(async () => {
  await gw?.close();
});

async function create(body: Record<string, unknown>, token = agent.token) {
  const response = await gw.request(`${BASE}/connections`, { method: 'POST', token, body });
  return { response, body: await response.json() };
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('connection lifecycle against the real everything server', () => {
  let id: string;

  it('creates a connection: 201, Location, the v2.3.0 object with tools', async () => {
    const { response, body } = await create({ server_name: 'everything', url: upstream.url, timeout: 30 });
    expect(response.status).toBe(201);
    id = body.id;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('location')).toBe(`${BASE}/connections/${id}`);
    expect(body).toMatchObject({
      server_name: 'everything',
      status: 'active',
      namespace: 'conn-ns',
      agent_id: 'conn-agent',
      url: upstream.url,
      config: { url: upstream.url, timeout: 30 },
      error_message: null,
      disconnected_at: null,
    });
    expect(body.connected_at).toMatch(ISO);
    expect(body.created_at).toMatch(ISO);
    expect(body.updated_at).toMatch(ISO);
    const echo = body.tools.find((t: { name: string }) => t.name === 'echo');
    expect(echo).toMatchObject({ name: 'echo', description: expect.any(String), input_schema: { type: 'object' } });
    expect(Object.keys(echo).sort()).toEqual(['description', 'input_schema', 'name']);
  });

  it('lists and reads it', async () => {
    const list = await (await gw.request(`${BASE}/connections`, { token: agent.token })).json();
    expect(list.total).toBe(1);
    expect(list.connections[0].id).toBe(id);
    const one = await gw.request(`${BASE}/connections/${id}`, { token: agent.token });
    expect(one.status).toBe(200);
    expect((await one.json()).tools.length).toBeGreaterThan(5);
  });

  it('re-discovers tools from the upstream', async () => {
    const response = await gw.request(`${BASE}/connections/${id}/tools`, { token: agent.token });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.tools.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['echo', 'get-sum']));
  });

  it('executes echo and relays the result the v2.3 way', async () => {
    const response = await gw.request(`${BASE}/connections/${id}/tools/echo/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: { message: 'hello gateway' } },
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ connection_id: id, tool_name: 'echo', execution_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(body.result).toMatchObject({ status: 'completed', is_error: false, result: 'Echo: hello gateway' });
    expect(body.result.content).toEqual([{ type: 'text', text: 'Echo: hello gateway' }]);
    expect(body.result.execution_time_ms).toBeGreaterThanOrEqual(0);
    const record = await gw.gateway.services.executionRepository.findReadable(
      { agentId: 'conn-agent', namespace: 'conn-ns', role: 'agent' },
      body.execution_id,
    );
    expect(record).toMatchObject({ status: 'COMPLETED', toolName: 'echo', arguments: { message: 'hello gateway' }, source: 'REST' });
    expect(record.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('executes get-sum', async () => {
    const response = await gw.request(`${BASE}/connections/${id}/tools/get-sum/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: { a: 2, b: 40 } },
    });
    expect(response.status).toBe(200);
    expect(JSON.stringify((await response.json()).result.content)).toContain('42');
  });

  it('records progress of trigger-long-running-operation on the execution', async () => {
    const response = await gw.request(`${BASE}/connections/${id}/tools/trigger-long-running-operation/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: { duration: 1, steps: 4 } },
    });
    expect(response.status).toBe(200);
    const { execution_id } = await response.json();
    const record = await gw.gateway.services.executionRepository.findReadable(
      { agentId: 'conn-agent', namespace: 'conn-ns', role: 'agent' },
      execution_id,
    );
    expect(record.status).toBe('COMPLETED');
    expect(record.progress).toBeGreaterThanOrEqual(3);
    expect(record.progressTotal).toBe(4);
  });

  it('refuses arguments that violate the input schema before calling upstream', async () => {
    const response = await gw.request(`${BASE}/connections/${id}/tools/get-sum/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: { a: 'two', b: 3 } },
    });
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error_code).toBe('VALIDATION_ERROR');
    expect(body.details.field).toBe('arguments.a');
  });

  it('answers 400 TOOL_NOT_FOUND for an unknown tool', async () => {
    const response = await gw.request(`${BASE}/connections/${id}/tools/no-such-tool/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: {} },
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error_code).toBe('TOOL_NOT_FOUND');
  });

  it('refuses unknown fields in the execute body', async () => {
    const response = await gw.request(`${BASE}/connections/${id}/tools/echo/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: { message: 'x' }, extra: true },
    });
    expect(response.status).toBe(400);
    expect((await response.json()).details.field).toBe('extra');
  });

  it('answers 409 DUPLICATE_CONNECTION for a second live connection with the same name', async () => {
    const { response, body } = await create({ server_name: 'everything', url: upstream.url });
    expect(response.status).toBe(409);
    expect(body.error_code).toBe('DUPLICATE_CONNECTION');
  });

  it('disconnects: 204, still readable as disconnected, out of the default list, 409 on use, name free, idempotent', async () => {
    const deleted = await gw.request(`${BASE}/connections/${id}`, { method: 'DELETE', token: agent.token });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');

    const one = await (await gw.request(`${BASE}/connections/${id}`, { token: agent.token })).json();
    expect(one.status).toBe('disconnected');
    expect(one.disconnected_at).toMatch(ISO);

    const live = await (await gw.request(`${BASE}/connections`, { token: agent.token })).json();
    expect(live.connections.map((c: { id: string }) => c.id)).not.toContain(id);
    const gone = await (await gw.request(`${BASE}/connections?status=disconnected`, { token: agent.token })).json();
    expect(gone.connections.map((c: { id: string }) => c.id)).toContain(id);

    for (const [path, method] of [
      [`${BASE}/connections/${id}/tools`, 'GET'],
      [`${BASE}/connections/${id}/tools/echo/execute`, 'POST'],
    ] as const) {
      const response = await gw.request(path, {
        method,
        token: agent.token,
        ...(method === 'POST' ? { body: { arguments: { message: 'x' } } } : {}),
      });
      expect(response.status).toBe(409);
      expect((await response.json()).error_code).toBe('CONNECTION_NOT_ACTIVE');
    }

    expect((await gw.request(`${BASE}/connections/${id}`, { method: 'DELETE', token: agent.token })).status).toBe(204);
    const again = await create({ server_name: 'everything', url: upstream.url });
    expect(again.response.status).toBe(201);
    expect(again.body.id).not.toBe(id);
  });

  it('answers 404 CONNECTION_NOT_FOUND for ids that exist nowhere', async () => {
    for (const missing of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const response = await gw.request(`${BASE}/connections/${missing}`, { token: agent.token });
      expect(response.status).toBe(404);
      expect((await response.json()).error_code).toBe('CONNECTION_NOT_FOUND');
    }
  });
});

describe('create validation (400 VALIDATION_ERROR, details.field)', () => {
  const valid = () => ({ server_name: 'valid_name', url: upstream.url });
  const cases: [string, Record<string, unknown>, string][] = [
    ['missing server_name', { url: 'http://example.com/mcp' }, 'server_name'],
    ['empty server_name', { server_name: '', url: 'http://example.com/mcp' }, 'server_name'],
    ['server_name with spaces', { server_name: 'bad name', url: 'http://example.com/mcp' }, 'server_name'],
    ['server_name of 101 characters', { server_name: 'a'.repeat(101), url: 'http://example.com/mcp' }, 'server_name'],
    ['ftp url', { server_name: 'x', url: 'ftp://example.com' }, 'url'],
    ['relative url', { server_name: 'x', url: '/mcp' }, 'url'],
    ['timeout below 5', { server_name: 'x', url: 'http://example.com/mcp', timeout: 4 }, 'timeout'],
    ['timeout above 300', { server_name: 'x', url: 'http://example.com/mcp', timeout: 301 }, 'timeout'],
    ['fractional timeout', { server_name: 'x', url: 'http://example.com/mcp', timeout: 5.5 }, 'timeout'],
    ['string timeout', { server_name: 'x', url: 'http://example.com/mcp', timeout: '30' }, 'timeout'],
    ['empty namespace', { server_name: 'x', url: 'http://example.com/mcp', namespace: '' }, 'namespace'],
    ['empty agent_id', { server_name: 'x', url: 'http://example.com/mcp', agent_id: '' }, 'agent_id'],
    ['unknown field', { server_name: 'x', url: 'http://example.com/mcp', colour: 'blue' }, 'colour'],
    ['non-string header', { server_name: 'x', url: 'http://example.com/mcp', headers: { 'X-Key': 1 } }, 'headers.X-Key'],
  ];
  it.each(cases)('%s', async (_label, body, field) => {
    const { response, body: error } = await create(body);
    expect(response.status).toBe(400);
    expect(error.error_code).toBe('VALIDATION_ERROR');
    expect(error.details.field).toBe(field);
  });

  it('accepts the documented minimal body', async () => {
    const { response, body } = await create(valid());
    expect(response.status).toBe(201);
    expect(body.config.timeout).toBe(30);
  });

  it('answers 400 for malformed JSON, 413 above 1 MiB, 400 for a non-object body', async () => {
    const malformed = await gw.request(`${BASE}/connections`, { method: 'POST', token: agent.token, body: '{"server_name": ' });
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).error_code).toBe('VALIDATION_ERROR');

    const huge = JSON.stringify({ server_name: 'x', url: 'http://example.com/mcp', pad: 'x'.repeat(1024 * 1024) });
    const tooLarge = await gw.request(`${BASE}/connections`, { method: 'POST', token: agent.token, body: huge });
    expect(tooLarge.status).toBe(413);
    expect((await tooLarge.json()).error_code).toBe('PAYLOAD_TOO_LARGE');

    const array = await gw.request(`${BASE}/connections`, { method: 'POST', token: agent.token, body: '[1,2]' });
    expect(array.status).toBe(400);
  });

  it('answers 502 when the upstream is unreachable, and leaves the name free', async () => {
    const { response, body } = await create({ server_name: 'nowhere', url: 'http://127.0.0.1:9/mcp', timeout: 5 });
    expect(response.status).toBe(502);
    expect(body.error_code).toBe('EXTERNAL_SERVICE_ERROR');
    const retry = await create({ server_name: 'nowhere', url: upstream.url, timeout: 5 });
    expect(retry.response.status).toBe(201);
  });

  it('stores upstream headers but never returns them', async () => {
    const { response, body } = await create({
      server_name: 'with-headers',
      url: upstream.url,
      headers: { Authorization: 'Bearer upstream-secret' },
    });
    expect(response.status).toBe(201);
    expect(JSON.stringify(body)).not.toContain('upstream-secret');
    const listed = await (await gw.request(`${BASE}/connections`, { token: agent.token })).text();
    expect(listed).not.toContain('upstream-secret');
  });

  it('validates list parameters', async () => {
    expect((await gw.request(`${BASE}/connections?limit=101`, { token: agent.token })).status).toBe(400);
    expect((await gw.request(`${BASE}/connections?limit=0`, { token: agent.token })).status).toBe(400);
    const negative = await gw.request(`${BASE}/connections?limit=-1`, { token: agent.token });
    expect(negative.status).toBe(400);
    expect(await negative.json()).toMatchObject({ message: 'limit must be between 1 and 100', details: { field: 'limit' } });
    expect((await gw.request(`${BASE}/connections?status=sleeping`, { token: agent.token })).status).toBe(400);
    // An empty value is no value, as for ?limit= and ?offset=: the live list.
    const unfiltered = await (await gw.request(`${BASE}/connections`, { token: agent.token })).json();
    expect(await (await gw.request(`${BASE}/connections?status=&limit=`, { token: agent.token })).json()).toEqual(unfiltered);
    const page = await (await gw.request(`${BASE}/connections?limit=1&offset=0`, { token: agent.token })).json();
    expect(page.connections).toHaveLength(1);
    expect(page.total).toBeGreaterThan(1);
  });
});

describe('HTTP conventions', () => {
  it('reuses a well-formed X-Request-ID and replaces a bad one', async () => {
    const kept = await gw.request('/health', { headers: { 'x-request-id': 'trace-abc.123_x' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-abc.123_x');
    const replaced = await gw.request('/health', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets security headers and no-store on API responses', async () => {
    const response = await gw.request(`${BASE}/connections`, { token: agent.token });
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('answers unknown routes with the standard error body', async () => {
    const response = await gw.request('/api/v1/mcp/nothing-here', { token: agent.token });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error_code: 'NOT_FOUND', request_id: expect.any(String) });
  });

  it('serves an OpenAPI description', async () => {
    const doc = await (await gw.request('/api/v1/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/api/v1/mcp/connections/{id}/tools/{tool_name}/execute');
  });
});
