/**
 * SPEC §14: a token whose lifetime (`exp − iat`, or `exp − now` without
 * `iat`) exceeds TMWS_MAX_TOKEN_TTL (7 days by default) is refused with 401
 * on every door: REST, GraphQL over HTTP, GraphQL over WebSocket.
 */
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretKeyBytes } from '../../src/auth/jwt.js';
import { rawHandshake } from '../graphql/client.js';
import { startGateway, TEST_SECRET, type TestGateway } from '../helpers/gateway.js';

const DAY = 86_400;
const now = () => Math.floor(Date.now() / 1000);
const sign = (claims: JWTPayload) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(secretKeyBytes(TEST_SECRET));

let gw: TestGateway;
let short: TestGateway;
const AGENT = 'lifetime-agent';

beforeAll(async () => {
  [gw, short] = await Promise.all([startGateway(), startGateway({ TMWS_MAX_TOKEN_TTL: '1h' })]);
  await gw.agent(AGENT, 'lifetime-ns');
  await short.agent(AGENT, 'lifetime-ns');
});
afterAll(async () => {
  await gw?.close();
  await short?.close();
});

/** What each door answers to `token`: REST status and message, GraphQL status and code, WebSocket close. */
async function everyDoor(gateway: TestGateway, token: string) {
  const rest = await gateway.request('/api/v1/mcp/connections', { token });
  const restBody = (await rest.json()) as { error_code?: string; message?: string };
  const graphql = await gateway.request('/graphql', { method: 'POST', token, body: { query: '{ me { id } }' } });
  const graphqlBody = (await graphql.json()) as { errors?: { extensions: { code: string } }[] };
  const handshake = await rawHandshake(gateway, { authorization: `Bearer ${token}` });
  const socket = handshake.ack ? 'accepted' : (await handshake.closed).code;
  handshake.socket.close();
  return {
    rest: rest.status,
    restCode: restBody.error_code,
    restMessage: restBody.message,
    graphql: graphql.status,
    graphqlCode: graphqlBody.errors?.[0]?.extensions.code,
    socket,
  };
}

const REFUSED = { rest: 401, restCode: 'AUTHENTICATION_ERROR', graphql: 401, graphqlCode: 'UNAUTHENTICATED', socket: 4401 };
const ACCEPTED = { rest: 200, graphql: 200, graphqlCode: undefined, socket: 'accepted' };

describe('maximum token lifetime (default 7 days)', () => {
  it('refuses an 8-day token on REST, GraphQL and WebSocket, saying why', async () => {
    const result = await everyDoor(gw, await sign({ sub: AGENT, iat: now(), exp: now() + 8 * DAY }));
    expect(result).toMatchObject(REFUSED);
    expect(result.restMessage).toBe('Token lifetime exceeds the maximum of 7d; ask for a shorter-lived token');
  });

  it('refuses a token without iat that stays valid longer than 7 days from now', async () => {
    expect(await everyDoor(gw, await sign({ sub: AGENT, exp: now() + 7 * DAY + 3_600 }))).toMatchObject(REFUSED);
  });

  it('is not fooled by an iat in the future', async () => {
    const iat = now() + 30 * DAY;
    expect(await everyDoor(gw, await sign({ sub: AGENT, iat, exp: iat + 3_600 }))).toMatchObject(REFUSED);
  });

  it('accepts a token of exactly 7 days, with or without iat', async () => {
    expect(await everyDoor(gw, await sign({ sub: AGENT, iat: now(), exp: now() + 7 * DAY }))).toMatchObject(ACCEPTED);
    expect(await everyDoor(gw, await sign({ sub: AGENT, exp: now() + 7 * DAY - 60 }))).toMatchObject(ACCEPTED);
  });
});

describe('TMWS_MAX_TOKEN_TTL', () => {
  it('sets the maximum: 1h refuses a 2-hour token and accepts a 30-minute one', async () => {
    const refused = await everyDoor(short, await sign({ sub: AGENT, iat: now(), exp: now() + 7_200 }));
    expect(refused).toMatchObject(REFUSED);
    expect(refused.restMessage).toMatch(/maximum of 1h/);
    expect(await everyDoor(short, await sign({ sub: AGENT, iat: now(), exp: now() + 1_800 }))).toMatchObject(ACCEPTED);
  });
});
