/**
 * What a token may and may not decide (SPEC §3): the verified-token cache never
 * outlives `exp` (+ the documented 30 s skew), and claims other than `sub` and
 * `exp` — a forged `namespace` or `role` — change nothing.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOCK_SKEW_SECONDS, secretKeyBytes } from '../../src/auth/jwt.js';
import { startGateway, TEST_SECRET, type TestGateway } from '../helpers/gateway.js';
import { codes, graphql } from '../graphql/client.js';
import { eventually } from '../helpers/eventually.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => gw?.close());

const nowSeconds = () => Math.floor(Date.now() / 1000);

function token(sub: string, expiresAt: number, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(expiresAt - 60)
    .setExpirationTime(expiresAt)
    .sign(secretKeyBytes(TEST_SECRET));
}

describe('token claims', () => {
  it('refuses a token that was accepted once as soon as it expires (cached or not), on REST and GraphQL', async () => {
    await gw.agent('short-lived', 'claims');
    // Expired 1.5 s short of the skew: accepted now, expired for good about 1.5 s later.
    const almostExpired = await token('short-lived', nowSeconds() - CLOCK_SKEW_SECONDS + 2);
    const list = () => gw.request('/api/v1/mcp/connections', { token: almostExpired });
    expect((await list()).status).toBe(200);
    expect((await graphql(gw, '{ me { id } }', {}, almostExpired)).status).toBe(200);

    await eventually(async () => (await list()).status === 401, 5_000, 'the expired token to be refused');
    const refused = await list();
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await refused.json()).toMatchObject({ error_code: 'AUTHENTICATION_ERROR' });
    const gql = await graphql(gw, '{ me { id } }', {}, almostExpired);
    expect(gql.status).toBe(401);
    expect(codes(gql)).toEqual(['UNAUTHENTICATED']);
  });

  it('ignores namespace and role claims: both come from the database', async () => {
    await gw.agent('plain-agent', 'home-ns', 'agent');
    const forged = await token('plain-agent', nowSeconds() + 600, { namespace: 'victim-ns', role: 'admin', ns: 'victim-ns' });
    const me = await graphql<{ me: { namespace: string; role: string } }>(gw, '{ me { namespace role } }', {}, forged);
    expect(me.body.data?.me).toEqual({ namespace: 'home-ns', role: 'AGENT' });

    const stats = await gw.request('/api/v1/admin/rate-limits/statistics', { token: forged });
    expect(stats.status).toBe(403);
    const body = await gw.request('/api/v1/mcp/connections', {
      method: 'POST',
      token: forged,
      body: { server_name: 'x', url: 'http://127.0.0.1:9/mcp', namespace: 'victim-ns' },
    });
    expect(body.status).toBe(403);
    expect(await body.json()).toMatchObject({ error_code: 'AUTHORIZATION_ERROR' });
  });
});
