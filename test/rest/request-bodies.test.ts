import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawHandshake } from '../graphql/client.js';
import { createConnection } from '../helpers/connections.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

const BASE = '/api/v1/mcp';
let gw: TestGateway;
let agent: TestAgent;
let upstream: TestUpstream;
let connectionId: string;

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), startTestUpstream()]);
  agent = await gw.agent('body-agent', 'body-ns');
  connectionId = await createConnection(gw, agent, 'bodies', upstream.url);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

/** `{"a":{"a":…1…}}` nested `depth` objects deep. */
const nestedObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const nestedArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const WRITE_CHUNK = 16 * 1024;

interface RawExchange {
  /** Everything the gateway sent back, as text. */
  response: string;
  /** The socket error the client saw, if any (EPIPE, ECONNRESET). */
  error?: string;
}

/**
 * Writes a whole request on a raw socket, as a client that sends its body
 * before reading does (half-open: the gateway's FIN does not stop it), and
 * collects whatever comes back until the socket closes.
 */
function exchange(head: string, body: Buffer): Promise<RawExchange> {
  const { hostname, port } = new URL(gw.url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port), allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    socket.on('close', () => resolve({ response: Buffer.concat(chunks).toString('latin1'), error }));
    socket.on('connect', () => void trickle());
    const trickle = async () => {
      socket.write(head);
      // Like an upload over a real network: the body trickles in after the headers, whatever comes back meanwhile.
      for (let offset = 0; offset < body.length && !socket.destroyed; offset += WRITE_CHUNK) {
        const ok = socket.write(body.subarray(offset, offset + WRITE_CHUNK));
        if (!ok) await new Promise((r) => socket.once('drain', r).once('close', r));
        await new Promise((r) => setTimeout(r, 1));
      }
      if (!socket.destroyed) socket.end();
    };
  });
}

/** The head of a raw `POST /connections` announcing a JSON body of `length` bytes, with the token when given. */
function postHead(length: number, token?: string): string {
  const authorization = token ? `Authorization: Bearer ${token}\r\n` : '';
  return (
    `POST ${BASE}/connections HTTP/1.1\r\nHost: gateway\r\n${authorization}` +
    `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`
  );
}

/**
 * Sends `head` and 64 KiB of the body it announces, then silence, and resolves with what the
 * gateway sent once it ended its side (this client never ends its own).
 */
function answerToStalledBody(head: string): Promise<string> {
  const { hostname, port } = new URL(gw.url);
  return new Promise<string>((resolve) => {
    const socket = connect({ host: hostname, port: Number(port), allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('connect', () => socket.write(head + 'x'.repeat(64 * 1024)));
  });
}

describe('request bodies: 1 MiB, nesting depth 64 (SPEC §14)', () => {
  const post = (path: string, body: string) => gw.request(path, { method: 'POST', token: agent.token, body });
  const execute = `${BASE}/connections/${'{id}'}/tools/echo/execute`;

  it.each([
    ['create, nested object', () => `{"server_name":"x","url":"http://127.0.0.1:1/mcp","headers":${nestedObject(100)}}`],
    ['create, nested array', () => `{"server_name":${nestedArray(5_000)}}`],
    ['execute arguments', () => `{"arguments":{"message":"x","deep":${nestedObject(10_000)}}}`],
  ])('refuses JSON nested deeper than 64 with 400 VALIDATION_ERROR: %s', async (label, body) => {
    const path = label.startsWith('execute') ? execute.replace('{id}', connectionId) : `${BASE}/connections`;
    const response = await post(path, body());
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error_code: 'VALIDATION_ERROR', details: { field: 'body', max_depth: 64 } });
  });

  it('refuses a number JSON cannot carry on (1e400) with 400 VALIDATION_ERROR, before calling upstream', async () => {
    const path = execute.replace('{id}', connectionId);
    const response = await post(path, '{"arguments":{"message":"x","n":1e400}}');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error_code: 'VALIDATION_ERROR', details: { field: 'arguments' } });
  });

  it('accepts nesting up to the limit', async () => {
    // The body object is level 1, `arguments` 2, so `deep` may hold 62 more levels.
    const response = await post(execute.replace('{id}', connectionId), `{"arguments":{"message":"x","deep":${nestedObject(61)}}}`);
    expect(response.status).toBe(200);
  });

  it('does not count brackets inside strings', async () => {
    const message = '[[[[{{{{'.repeat(100);
    const response = await post(execute.replace('{id}', connectionId), JSON.stringify({ arguments: { message } }));
    expect(response.status).toBe(200);
    expect((await response.json()).result.result).toBe(message);
  });

  it('refuses deep GraphQL variables and bodies with VALIDATION_ERROR, never 500', async () => {
    const query = 'mutation($args: JSON) { executeTool(input: {connectionId: "c", toolName: "echo", arguments: $args}) { id } }';
    const deepVariables = `{"query":${JSON.stringify(query)},"variables":{"args":${nestedObject(10_000)}}}`;
    const response = await post('/graphql', deepVariables);
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain('VALIDATION_ERROR');

    const viaGet = await gw.request(
      `/graphql?query=${encodeURIComponent('{ me { id } }')}&variables=${encodeURIComponent(`{"x":${nestedArray(1_000)}}`)}`,
      {
        token: agent.token,
      },
    );
    expect(viaGet.status).toBeLessThan(500);
    expect(JSON.stringify(await viaGet.json())).toContain('VALIDATION_ERROR');
  });

  it('refuses deep variables over WebSocket with VALIDATION_ERROR', async () => {
    const { ack, socket } = await rawHandshake(gw, { authorization: `Bearer ${agent.token}` });
    expect(ack).toBe(true);
    const query = `mutation($args: JSON) { executeTool(input: {connectionId: "${connectionId}", toolName: "echo", arguments: $args}) { id } }`;
    const answer = new Promise<string>((resolve) => socket.once('message', (raw) => resolve((raw as Buffer).toString())));
    socket.send(`{"id":"1","type":"subscribe","payload":{"query":${JSON.stringify(query)},"variables":{"args":${nestedObject(5_000)}}}}`);
    const message = JSON.parse(await answer) as { type: string; payload: Array<{ extensions: { code: string } }> };
    socket.close();
    expect(message.type).toBe('error');
    expect(message.payload[0]?.extensions.code).toBe('VALIDATION_ERROR');
  });

  it('answers 413 PAYLOAD_TOO_LARGE above 1 MiB on REST and GraphQL, each in its own error format', async () => {
    const body = JSON.stringify({ query: '{ me { id } }', pad: 'x'.repeat(1024 * 1024) });
    const rest = await post(`${BASE}/connections`, body);
    expect(rest.status).toBe(413);
    expect((await rest.json()).error_code).toBe('PAYLOAD_TOO_LARGE');
    const graphql = await post('/graphql', body);
    expect(graphql.status).toBe(413);
    expect(graphql.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const { errors } = (await graphql.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }) })]);
  });

  it('answers a /graphql body that is not JSON in the GraphQL error format, as GraphQL over HTTP asks', async () => {
    const response = await gw.request('/graphql', {
      method: 'POST',
      token: agent.token,
      headers: { accept: 'application/graphql-response+json' },
      body: '{"query": "{ me { id } }"',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/graphql-response+json; charset=utf-8');
    expect(await response.json()).toEqual({
      errors: [{ message: 'Request body is not valid JSON', extensions: { code: 'VALIDATION_ERROR', details: { field: 'body' } } }],
    });
  });

  it('does not wait for ever on a client that stops sending its oversized body', async () => {
    // 64 KiB of the announced 2 MiB, then silence: the drain gives up after its time bound.
    expect(await answerToStalledBody(postHead(2 * 1024 * 1024, agent.token))).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('answers requests Node cannot parse in the gateway error format: 431 for headers above 16 KiB, 400 for garbage', async () => {
    const huge = await exchange(`GET /health HTTP/1.1\r\nHost: g\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`, Buffer.alloc(0));
    expect(huge.response).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(huge.response.split('\r\n\r\n')[1]!)).toMatchObject({
      error_code: 'PAYLOAD_TOO_LARGE',
      details: { limit_bytes: 16384 },
    });
    const garbage = await exchange('NOT HTTP AT ALL\r\n\r\n', Buffer.alloc(0));
    expect(garbage.response).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(garbage.response.split('\r\n\r\n')[1]!)).toMatchObject({ error_code: 'VALIDATION_ERROR' });
  });

  it('lets a client that writes a whole 2 MiB body read its 413, every time', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 'x');
    const head = postHead(body.length, agent.token);
    const outcomes: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      const { response, error } = await exchange(head, body);
      const answered = response.startsWith('HTTP/1.1 413') && response.includes('PAYLOAD_TOO_LARGE');
      outcomes.push(answered && !error ? '413' : `${error ?? 'no error'}, ${answered ? '413 read' : 'no 413'}`);
      expect(response.toLowerCase()).toContain('connection: close');
    }
    expect(outcomes).toEqual(Array(30).fill('413'));
  });
});

describe('the order of checks (SPEC §4): the token and the rate limit before the body', () => {
  const create = (body: string, token?: string) =>
    gw.request(`${BASE}/connections`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
      ...(token ? { token } : {}),
    });

  it('lets a client without a token that writes a whole 2 MiB body read its 401, then closes the connection', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 'x');
    const { response, error } = await exchange(postHead(body.length), body);
    expect(error).toBeUndefined();
    expect(response).toMatch(/^HTTP\/1\.1 401 /);
    expect(response.toLowerCase()).toContain('connection: close');
  });

  it('does not keep reading for a client without a token that announces a body and stops sending', async () => {
    expect(await answerToStalledBody(postHead(2 * 1024 * 1024))).toMatch(/^HTTP\/1\.1 401 /);
  });

  it.each([
    ['not JSON', () => '{"server_name":'],
    ['nested deeper than 64', () => nestedObject(100)],
    ['above 1 MiB', () => JSON.stringify({ server_name: 'x', pad: 'x'.repeat(1024 * 1024) })],
  ])('without a token, a body %s is a 401, not a complaint about the body', async (_label, body) => {
    const response = await create(body());
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error_code: 'AUTHENTICATION_ERROR' });
  });
});

describe('requests a client labels JSON with nothing in them, and long path segments', () => {
  it('says what is wrong with a body that is valid JSON but refused, or JSON under another content type', async () => {
    const create = `${BASE}/connections`;
    const poisoned = await gw.request(create, {
      method: 'POST',
      token: agent.token,
      body: `{"server_name":"p","url":${JSON.stringify(upstream.url)},"__proto__":{"admin":true}}`,
    });
    expect(poisoned.status).toBe(400);
    expect(await poisoned.json()).toMatchObject({
      error_code: 'VALIDATION_ERROR',
      message: 'Request body must not contain a "__proto__" key, or a "constructor" key holding "prototype"',
      details: { field: 'body' },
    });

    const plain = await gw.request(create, {
      method: 'POST',
      token: agent.token,
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ server_name: 'p', url: upstream.url }),
    });
    expect(plain.status).toBe(400);
    expect(await plain.json()).toMatchObject({
      error_code: 'VALIDATION_ERROR',
      message: 'Request body must be a JSON object, sent with Content-Type: application/json',
    });
  });

  it('answers a path with an empty id segment as an unknown route, not as a connection named ""', async () => {
    for (const [method, path] of [
      ['GET', `${BASE}/connections/`],
      ['DELETE', `${BASE}/connections/`],
      ['GET', `${BASE}/connections//tools`],
      ['POST', `${BASE}/connections/${connectionId}/tools//execute`],
    ] as const) {
      const response = await gw.request(path, { method, token: agent.token, ...(method === 'POST' ? { body: { arguments: {} } } : {}) });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(await response.json(), `${method} ${path}`).toMatchObject({
        error_code: 'NOT_FOUND',
        message: `No route for ${method} ${path}`,
      });
    }
  });

  it('reads an empty body labelled application/json as no body: a DELETE disconnects', async () => {
    const doomed = await createConnection(gw, agent, 'bodies-doomed', upstream.url);
    const response = await gw.request(`${BASE}/connections/${doomed}`, {
      method: 'DELETE',
      token: agent.token,
      headers: { 'content-type': 'application/json' },
      body: '',
    });
    expect(response.status).toBe(204);
  });

  it('answers an empty body labelled application/json on /graphql and /mcp in their own error formats', async () => {
    const empty = (path: string, accept: string) =>
      gw.request(path, { method: 'POST', token: agent.token, headers: { 'content-type': 'application/json', accept }, body: '' });
    const graphql = await empty('/graphql', 'application/graphql-response+json');
    expect(graphql.status).toBe(400);
    const errors = ((await graphql.json()) as { errors: { extensions: Record<string, unknown> }[] }).errors;
    expect(errors).toHaveLength(1);
    expect(errors[0]!.extensions).toEqual({ code: 'VALIDATION_ERROR', details: { reason: 'BAD_REQUEST' } });
    const mcp = await empty('/mcp', 'application/json, text/event-stream');
    expect(mcp.status).toBe(400);
    expect(await mcp.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });

  it('routes path segments up to a 128-character tool name (SEP-986) to their own answers, not a bad-path 400', async () => {
    const longId = await gw.request(`${BASE}/connections/${'a'.repeat(128)}`, { token: agent.token });
    expect(longId.status).toBe(404);
    expect(await longId.json()).toMatchObject({ error_code: 'CONNECTION_NOT_FOUND' });
    const longTool = await gw.request(`${BASE}/connections/${connectionId}/tools/${'t'.repeat(128)}/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: {} },
    });
    // SPEC §4: an unknown tool is a 400 TOOL_NOT_FOUND (before, a 400 saying the path was not percent-encoded).
    expect(longTool.status).toBe(400);
    expect(await longTool.json()).toMatchObject({ error_code: 'TOOL_NOT_FOUND', details: { tool_name: 't'.repeat(128) } });
  });
});
