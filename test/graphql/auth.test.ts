import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { secretKeyBytes, signAgentToken } from '../../src/auth/jwt.js';
import { MeDocument, ExecutionUpdatesDocument } from '../gql/graphql.js';
import { startGateway, TEST_SECRET, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { codes, collect, graphql, rawHandshake, sse, wsClient } from './client.js';

let gw: TestGateway;
let agent: TestAgent;
let admin: TestAgent;

const secret = secretKeyBytes(TEST_SECRET);

/** A token accepted now (exp is within the 30 s clock skew) that expires `seconds` from now. */
async function tokenExpiringIn(agentId: string, seconds: number): Promise<string> {
  return signAgentToken(agentId, secret, seconds - 30);
}

beforeAll(async () => {
  gw = await startGateway();
  agent = await gw.agent('gql-auth-agent', 'gql-auth-ns');
  admin = await gw.agent('gql-auth-admin', 'gql-auth-ns', 'admin');
});
afterAll(async () => {
  await gw?.close();
});

async function expectUnauthenticated(headers: Record<string, string>) {
  const response = await gw.request('/graphql', { method: 'POST', headers, body: { query: '{ me { id } }' } });
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  expect(response.headers.get('x-request-id')).toBeTruthy();
  const body = (await response.json()) as { data?: unknown; errors: { message: string; extensions: { code: string } }[] };
  expect(body.data).toBeUndefined();
  expect(body.errors).toHaveLength(1);
  expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
  return body.errors[0]!.message;
}

describe('GraphQL over HTTP: authentication', () => {
  it('answers a request without a token with HTTP 401, WWW-Authenticate and UNAUTHENTICATED', async () => {
    expect(await expectUnauthenticated({})).toMatch(/missing/i);
  });

  it('refuses a non-Bearer authorization header', async () => {
    await expectUnauthenticated({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
  });

  it('refuses a token signed with another key', async () => {
    const forged = await signAgentToken(agent.id, secretKeyBytes('another-secret-that-is-long-enough-0123456789'), 3600);
    await expectUnauthenticated({ authorization: `Bearer ${forged}` });
  });

  it('refuses an expired token', async () => {
    const expired = await signAgentToken(agent.id, secret, -120);
    expect(await expectUnauthenticated({ authorization: `Bearer ${expired}` })).toMatch(/expired/i);
  });

  it('refuses alg none and HS512', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: agent.id, exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
    await expectUnauthenticated({ authorization: `Bearer ${header}.${payload}.` });
    const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject(agent.id).setExpirationTime('10m').sign(secret);
    await expectUnauthenticated({ authorization: `Bearer ${hs512}` });
  });

  it('refuses unknown and inactive agents', async () => {
    await expectUnauthenticated({ authorization: `Bearer ${await signAgentToken('nobody-here', secret, 600)}` });
    const inactive = await gw.agent('gql-auth-inactive', 'gql-auth-ns', 'agent', 'inactive');
    await expectUnauthenticated({ authorization: `Bearer ${inactive.token}` });
  });

  it('reads namespace and role from the database (me), over POST and GET', async () => {
    const post = await graphql(gw, MeDocument, {}, admin.token);
    expect(post.status).toBe(200);
    expect(post.body.data?.me).toEqual({ id: admin.id, namespace: 'gql-auth-ns', name: admin.id, role: 'ADMIN', status: 'ACTIVE' });
    const get = await gw.request(`/graphql?query=${encodeURIComponent('{ me { id role } }')}`, { token: agent.token });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { me: { id: agent.id, role: 'AGENT' } } });
  });

  it('keeps the request id and security headers of the HTTP host', async () => {
    const response = await gw.request('/graphql', {
      method: 'POST',
      token: agent.token,
      headers: { 'x-request-id': 'trace-gql-123' },
      body: { query: '{ me { id } }' },
    });
    expect(response.headers.get('x-request-id')).toBe('trace-gql-123');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses a mutation over GET', async () => {
    const query = encodeURIComponent('mutation { disconnect(id: "x") { id } }');
    const response = await gw.request(`/graphql?query=${query}`, { token: agent.token, headers: { accept: 'application/json' } });
    expect(response.status).toBe(405);
  });

  it('offers introspection and GraphiQL outside production', async () => {
    const result = await graphql(gw, '{ __schema { queryType { name } } }', {}, agent.token);
    expect(result.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const page = await gw.request('/graphql', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
  });

  it('ends an SSE subscription when the token expires, saying why', async () => {
    const token = await tokenExpiringIn(agent.id, 2);
    const subscription = await sse(gw, ExecutionUpdatesDocument, {}, token);
    expect(subscription.status).toBe(200);
    const events = await collect(subscription.events, () => false, 10_000);
    expect(events).toHaveLength(1);
    expect(codes(events[0]!)).toEqual(['UNAUTHENTICATED']);
    expect(events[0]!.errors![0]!.message).toBe('Token has expired');
  });
});

describe('GraphQL in production', () => {
  let prod: TestGateway;
  let prodAgent: TestAgent;
  beforeAll(async () => {
    prod = await startGateway({ TMWS_ENVIRONMENT: 'production' });
    prodAgent = await prod.agent('gql-prod-agent', 'gql-prod-ns');
  });
  afterAll(async () => {
    await prod?.close();
  });

  it('refuses introspection', async () => {
    const result = await graphql(prod, '{ __schema { types { name } } }', {}, prodAgent.token);
    expect(codes(result)).toContain('VALIDATION_ERROR');
    expect(result.body.errors?.[0]?.message).toMatch(/introspection/i);
  });

  it('serves no GraphiQL page (the request is just unauthenticated)', async () => {
    const page = await prod.request('/graphql', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(401);
  });

  it('does not suggest field names', async () => {
    const result = await graphql(prod, '{ me { nam } }', {}, prodAgent.token);
    expect(result.body.errors?.[0]?.message).not.toMatch(/did you mean/i);
  });
});

describe('GraphQL over WebSocket: authentication', () => {
  it('closes with 4401 and the reason in words when connection_init carries no token', async () => {
    const handshake = await rawHandshake(gw, {});
    expect(handshake.ack).toBe(false);
    expect(handshake.closeCode).toBe(4401);
    expect((await handshake.closed).reason).toBe('Unauthorized: Missing bearer token');
  });

  it('closes with 4401 for an invalid or expired token, or an inactive agent', async () => {
    const invalid = await rawHandshake(gw, { authorization: 'Bearer not.a.token' });
    expect(invalid.closeCode).toBe(4401);
    expect((await invalid.closed).reason).toBe('Unauthorized: Invalid token');
    const expired = await rawHandshake(gw, { authorization: `Bearer ${await signAgentToken(agent.id, secret, -120)}` });
    expect(expired.closeCode).toBe(4401);
    expect((await expired.closed).reason).toBe('Unauthorized: Token has expired');
    const inactive = await gw.agent('gql-auth-ws-inactive', 'gql-auth-ns', 'agent', 'inactive');
    expect((await (await rawHandshake(gw, { authorization: inactive.token })).closed).reason).toBe(
      'Unauthorized: Agent is unknown or inactive',
    );
  });

  it('makes a graphql-ws client with default retries fail at once on an expired token (4401 is not retried)', async () => {
    const expired = await signAgentToken(agent.id, secret, -120);
    let attempts = 0;
    // The README's client, with graphql-ws's default retry policy (5 attempts, exponential back-off, ~40 s for retried codes).
    const client = createClient({
      url: `${gw.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${expired}` },
      on: { connecting: () => void (attempts += 1) },
    });
    try {
      const failure = await (async () => {
        for await (const _event of client.iterate({ query: '{ me { id } }' })) return undefined;
      })().catch((error: unknown) => error as { code: number; reason: string });
      expect(failure).toMatchObject({ code: 4401, reason: 'Unauthorized: Token has expired' });
      expect(attempts).toBe(1);
    } finally {
      await client.dispose();
    }
  }, 10_000);

  it('accepts "Bearer <token>" and a bare token', async () => {
    for (const authorization of [`Bearer ${agent.token}`, agent.token]) {
      const handshake = await rawHandshake(gw, { authorization });
      expect(handshake.ack).toBe(true);
      handshake.socket.close();
    }
  });

  it('runs queries with the socket’s agent', async () => {
    const client = wsClient(gw, `Bearer ${agent.token}`);
    try {
      const [result] = await collect(client.subscribe(MeDocument));
      expect(result?.data?.me.id).toBe(agent.id);
    } finally {
      await client.dispose();
    }
  });

  it('ends the socket with 4401 when the token expires', async () => {
    const handshake = await rawHandshake(gw, { authorization: `Bearer ${await tokenExpiringIn(agent.id, 2)}` });
    expect(handshake.ack).toBe(true);
    const closed = await handshake.closed;
    expect(closed.code).toBe(4401);
  });

  it('checks the agent again for every operation: a deactivated agent’s socket is closed with 4401', async () => {
    const temp = await gw.agent('gql-auth-temp', 'gql-auth-ns');
    const client = wsClient(gw, `Bearer ${temp.token}`);
    try {
      const [first] = await collect(client.subscribe(MeDocument));
      expect(first?.data?.me.id).toBe(temp.id);
      await gw.agent('gql-auth-temp', 'gql-auth-ns', 'agent', 'inactive');
      await expect(collect(client.subscribe(MeDocument))).rejects.toBeDefined();
      expect(client.closes.map((c) => c.code)).toContain(4401);
    } finally {
      await client.dispose();
    }
  });
});
