/**
 * What the gateway logs at INFO: one line per request (method, route, status,
 * duration, request id) and every failed upstream connection attempt with its
 * reason — never a token, a header value or tool arguments.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

const BASE = '/api/v1/mcp';
const ARGUMENT_MARKER = 'argument-marker-7f3a9c';
const UPSTREAM_SECRET = 'upstream-header-secret-51c2';
const URL_PASSWORD = 'url-password-0d9e';

let gw: TestGateway;
let agent: TestAgent;
let upstream: TestUpstream;
const lines: string[] = [];

/** Captures every log line as the gateway writes it. */
const capture = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});
const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

beforeAll(async () => {
  upstream = await startTestUpstream({ requiredHeaders: { 'x-upstream-key': UPSTREAM_SECRET } });
  gw = await startGateway({ TMWS_LOG_LEVEL: 'info' }, { logDestination: capture });
  agent = await gw.agent('log-agent', 'log-ns');
});
afterAll(async () => {
  await Promise.all([gw?.close(), upstream?.stop()]);
});

describe('request and upstream logging', () => {
  it('logs each request at INFO with method, route, status, duration and request id, and never a secret or an argument', async () => {
    const created = await gw.request(`${BASE}/connections`, {
      method: 'POST',
      token: agent.token,
      body: { server_name: 'logged', url: upstream.url, headers: { 'X-Upstream-Key': UPSTREAM_SECRET } },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const executed = await gw.request(`${BASE}/connections/${id}/tools/echo/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: { message: ARGUMENT_MARKER } },
      headers: { 'x-request-id': 'trace-me-1' },
    });
    expect(executed.status).toBe(200);
    const graphql = await gw.request('/graphql', {
      method: 'POST',
      token: agent.token,
      body: {
        query: 'mutation($input: ExecuteToolInput!) { executeTool(input: $input) { status } }',
        variables: { input: { connectionId: id, toolName: 'echo', arguments: { message: ARGUMENT_MARKER } } },
      },
    });
    expect(graphql.status).toBe(200);
    const search = await gw.request(`${BASE}/tools/search?q=${ARGUMENT_MARKER}`, { token: agent.token });
    expect(search.status).toBe(200);
    const refused = await gw.request(`${BASE}/connections`, { token: `${agent.token}x` });
    expect(refused.status).toBe(401);

    const requests = entries().filter((e) => e.msg === 'request');
    expect(requests.find((e) => e.requestId === 'trace-me-1')).toMatchObject({
      level: 30,
      method: 'POST',
      route: `${BASE}/connections/:id/tools/:tool_name/execute`,
      status: 200,
      durationMs: expect.any(Number),
    });
    expect(requests).toContainEqual(expect.objectContaining({ method: 'POST', route: '/graphql', status: 200 }));
    expect(requests).toContainEqual(expect.objectContaining({ method: 'GET', route: `${BASE}/connections`, status: 401 }));
    expect(requests).toContainEqual(expect.objectContaining({ method: 'GET', route: `${BASE}/tools/search`, status: 200 }));

    const everything = lines.join('\n');
    expect(everything).not.toContain(agent.token.split('.')[2]!);
    expect(everything).not.toContain(ARGUMENT_MARKER);
    expect(everything).not.toContain(UPSTREAM_SECRET);
  });

  it('logs a failed upstream connection attempt with its reason, without credentials from the URL', async () => {
    const port = await freePort(); // nothing listens there
    const response = await gw.request(`${BASE}/connections`, {
      method: 'POST',
      token: agent.token,
      body: { server_name: 'unreachable', url: `http://user:${URL_PASSWORD}@127.0.0.1:${port}/mcp?key=${URL_PASSWORD}`, timeout: 5 },
    });
    expect(response.status).toBe(502);
    const failure = entries().find((e) => e.msg === 'upstream connection attempt failed');
    expect(failure).toMatchObject({
      level: 40,
      url: `http://127.0.0.1:${port}/mcp`,
      attempt: 'connect',
      errorCode: 'EXTERNAL_SERVICE_ERROR',
      reason: expect.any(String),
    });
    expect(lines.join('\n')).not.toContain(URL_PASSWORD);
  });
});
