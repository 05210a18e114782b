import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Gateway } from '../../src/app.js';
import { signAgentToken, secretKeyBytes } from '../../src/auth/jwt.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';
import { pino } from 'pino';

const BASE = '/api/v1/mcp';
const BASIC = `Basic ${Buffer.from('svc user:p@ss:w0rd', 'utf8').toString('base64')}`;

let gw: TestGateway;
let agent: TestAgent;
let keyed: TestUpstream;
let basic: TestUpstream;
const logLines: string[] = [];

beforeAll(async () => {
  [gw, keyed, basic] = await Promise.all([
    startGateway(),
    startTestUpstream({ requiredHeaders: { 'x-api-key': 'k-123', authorization: 'Bearer upstream-secret' } }),
    startTestUpstream({ requiredHeaders: { authorization: BASIC } }),
  ]);
  agent = await gw.agent('cred-agent', 'cred-ns');
});
afterAll(async () => {
  await Promise.all([gw?.close(), keyed?.stop(), basic?.stop()]);
});

async function create(body: Record<string, unknown>) {
  const response = await gw.request(`${BASE}/connections`, { method: 'POST', token: agent.token, body });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('upstream headers an agent may set', () => {
  it.each([
    ['Host', 'evil.example'],
    ['host', 'evil.example'],
    ['Content-Length', '0'],
    ['Transfer-Encoding', 'chunked'],
    ['Connection', 'close'],
    ['Content-Type', 'text/plain'],
    ['Accept', 'text/html'],
    ['Mcp-Session-Id', 'someone-elses-session'],
    ['Mcp-Protocol-Version', '1999-01-01'],
    ['Last-Event-ID', '7'],
    ['X-Forwarded-For', '10.0.0.1'],
    ['X-Real-IP', '10.0.0.1'],
    ['Proxy-Authorization', 'Basic x'],
    ['Upgrade', 'websocket'],
  ])('refuses %s with 400 naming the header', async (name, value) => {
    const { status, body } = await create({ server_name: 'refused', url: keyed.url, headers: { [name]: value } });
    expect(status).toBe(400);
    expect(body).toMatchObject({ error_code: 'VALIDATION_ERROR', details: { field: `headers.${name}` } });
  });

  it.each([
    ['a line break', 'a\r\nX-Injected: 1'],
    ['a control character', 'a\u0007'],
    ['a character outside Latin-1', '€'],
  ])('refuses a header value with %s with 400, not a failed handshake', async (_label, value) => {
    const { status, body } = await create({ server_name: 'bad-value', url: keyed.url, headers: { 'X-Api-Key': value } });
    expect(status).toBe(400);
    expect(body.details.field).toBe('headers.X-Api-Key');
  });

  it('refuses one header given twice in different letter case', async () => {
    const { status, body } = await create({ server_name: 'twice', url: keyed.url, headers: { 'X-Api-Key': 'a', 'x-api-key': 'b' } });
    expect(status).toBe(400);
    expect(body.details.field).toBe('headers.x-api-key');
  });

  it('sends Authorization and custom X- headers upstream', async () => {
    const { status, body } = await create({
      server_name: 'keyed',
      url: keyed.url,
      headers: { Authorization: 'Bearer upstream-secret', 'X-API-Key': 'k-123' },
    });
    expect(status).toBe(201);
    expect(body.status).toBe('active');
    expect(JSON.stringify(body)).not.toContain('k-123');
  });

  it('refuses the same through GraphQL, naming the input field', async () => {
    const response = await gw.request('/graphql', {
      method: 'POST',
      token: agent.token,
      body: {
        query: 'mutation($input: CreateConnectionInput!) { createConnection(input: $input) { id } }',
        variables: { input: { serverName: 'gql-host', url: keyed.url, headers: { Host: 'evil.example' } } },
      },
    });
    const result = (await response.json()) as { errors?: Array<{ extensions?: Record<string, any> }> };
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'input.headers.Host' } });
  });
});

describe('credentials in a connection URL', () => {
  const withCredentials = () => basic.url.replace('http://', 'http://svc%20user:p%40ss%3Aw0rd@');

  it('uses them upstream, stores and returns the URL without them', async () => {
    const { status, body } = await create({ server_name: 'basic', url: withCredentials() });
    expect(status).toBe(201);
    expect(body.url).toBe(basic.url);
    expect(body.config.url).toBe(basic.url);
    const raw = JSON.stringify(body);
    expect(raw).not.toContain('p%40ss');
    expect(raw).not.toContain('svc%20user');

    const id = body.id as string;
    const read = await (await gw.request(`${BASE}/connections/${id}`, { token: agent.token })).text();
    const listed = await (await gw.request(`${BASE}/connections`, { token: agent.token })).text();
    const discovered = await gw.request(`${BASE}/connections/${id}/tools`, { token: agent.token });
    expect(discovered.status).toBe(200);
    for (const text of [read, listed, await discovered.text()]) expect(text).not.toContain('p%40ss');

    const gql = await gw.request('/graphql', {
      method: 'POST',
      token: agent.token,
      body: { query: `{ connection(id: "${id}") { url } }` },
    });
    expect((await gql.json()).data.connection.url).toBe(basic.url);

    const row = await gw.gateway.services.connectionRepository.findReadable(
      { agentId: agent.id, namespace: agent.namespace, role: 'agent' },
      id,
    );
    expect(row.url).toBe(basic.url);
    expect(row.headersSealed).not.toContain('Basic');
  });

  it('refuses credentials in the URL together with an Authorization header', async () => {
    const { status, body } = await create({ server_name: 'both', url: withCredentials(), headers: { authorization: 'Bearer x' } });
    expect(status).toBe(400);
    expect(body.details.field).toBe('url');
  });
});

describe('logs', () => {
  let logged: Gateway;
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    logged = await createApp(
      { ...gw.config, http: { ...gw.config.http, port: 0 }, logLevel: 'debug' },
      { logger: pino({ level: 'debug' }, sink) },
    );
    await logged.listen();
  });
  afterAll(async () => logged?.close());

  it('never carry URL credentials or header values', async () => {
    await logged.services.agents.upsert({ id: 'log-agent', namespace: 'cred-ns', name: 'log-agent', role: 'agent', status: 'active' });
    const token = await signAgentToken('log-agent', secretKeyBytes(gw.config.auth.secretKey), 600);
    const response = await logged.http.inject({
      method: 'POST',
      url: `${BASE}/connections`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: { server_name: 'logged', url: basic.url.replace('http://', 'http://svc%20user:p%40ss%3Aw0rd@') },
    });
    expect(response.statusCode).toBe(201);
    const all = logLines.join('');
    expect(all).not.toContain('p%40ss');
    expect(all).not.toContain(BASIC.slice(6));
  });
});
