import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretKeyBytes } from '../../src/auth/jwt.js';
import { startGateway, TEST_SECRET, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
const key = secretKeyBytes(TEST_SECRET);
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  gw = await startGateway();
  await gw.agent('auth-agent', 'auth-ns');
  await gw.agent('sleeping-agent', 'auth-ns', 'agent', 'inactive');
});
afterAll(async () => gw?.close());

async function expect401(token: string | undefined, message: RegExp) {
  const response = await gw.request('/api/v1/mcp/connections', token ? { token } : {});
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  const body = await response.json();
  expect(body).toMatchObject({ error_code: 'AUTHENTICATION_ERROR', details: {} });
  expect(body.message).toMatch(message);
  expect(body.request_id).toBe(response.headers.get('x-request-id'));
  expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
}

const sign = (claims: { sub?: string; exp?: number }, alg = 'HS256', secret: Uint8Array = key) => {
  const jwt = new SignJWT({}).setProtectedHeader({ alg }).setIssuedAt();
  if (claims.sub) jwt.setSubject(claims.sub);
  if (claims.exp) jwt.setExpirationTime(claims.exp);
  return jwt.sign(secret);
};

describe('authentication (SPEC §3)', () => {
  it('accepts a valid HS256 token of an active agent', async () => {
    const response = await gw.request('/api/v1/mcp/connections', { token: await sign({ sub: 'auth-agent', exp: now() + 60 }) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ connections: [], total: 0 });
  });

  it('rejects a request without a token', () => expect401(undefined, /Missing bearer token/));

  it('rejects an expired token', async () => expect401(await sign({ sub: 'auth-agent', exp: now() - 120 }), /expired/));

  it('tolerates 30 seconds of clock skew on exp', async () => {
    const response = await gw.request('/api/v1/mcp/connections', { token: await sign({ sub: 'auth-agent', exp: now() - 10 }) });
    expect(response.status).toBe(200);
  });

  it('rejects a token without exp', async () => expect401(await sign({ sub: 'auth-agent' }), /exp/));

  it('rejects a token signed with HS512', async () => {
    const longKey = new Uint8Array(64).fill(7);
    await expect401(await sign({ sub: 'auth-agent', exp: now() + 60 }, 'HS512', longKey), /algorithm|Invalid/);
  });

  it('rejects alg none', async () => {
    const unsigned = new UnsecuredJWT({})
      .setSubject('auth-agent')
      .setExpirationTime(now() + 60)
      .encode();
    await expect401(unsigned, /algorithm|Invalid/);
  });

  it('rejects a token signed with another key', async () =>
    expect401(await sign({ sub: 'auth-agent', exp: now() + 60 }, 'HS256', secretKeyBytes('x'.repeat(48))), /Invalid token/));

  it('rejects an unknown agent', async () => expect401(await sign({ sub: 'ghost-agent', exp: now() + 60 }), /unknown or inactive/));

  it('rejects an inactive agent', async () => expect401(await sign({ sub: 'sleeping-agent', exp: now() + 60 }), /unknown or inactive/));

  it('refuses an agent within a second of its deactivation', async () => {
    const agent = await gw.agent('short-lived', 'auth-ns');
    expect((await gw.request('/api/v1/mcp/connections', { token: agent.token })).status).toBe(200);
    await gw.gateway.services.agents.upsert({ id: 'short-lived', namespace: 'auth-ns', name: 'x', role: 'agent', status: 'inactive' });
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect((await gw.request('/api/v1/mcp/connections', { token: agent.token })).status).toBe(401);
  });

  it('rejects a malformed Authorization header', async () => {
    const response = await gw.request('/api/v1/mcp/connections', { headers: { authorization: 'Token abc' } });
    expect(response.status).toBe(401);
  });

  it('leaves /health, /health/ready and /metrics open', async () => {
    expect((await gw.request('/health')).status).toBe(200);
    expect(await (await gw.request('/health')).json()).toEqual({ status: 'healthy' });
    expect((await gw.request('/health/ready')).status).toBe(200);
    expect((await gw.request('/metrics')).status).toBe(200);
  });
});
