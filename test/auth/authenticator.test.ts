/**
 * The Authenticator in process, on a real agent table (SQLite): what it
 * accepts, what it refuses and with which message, and that neither of its
 * caches lets a token outlive its `exp` or an agent act after deactivation.
 */
import type { MikroORM } from '@mikro-orm/core';
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ANONYMOUS_PRINCIPAL, AGENT_CACHE_TTL_MS, Authenticator } from '../../src/auth/authenticate.js';
import { CLOCK_SKEW_SECONDS, secretKeyBytes, signAgentToken } from '../../src/auth/jwt.js';
import { migrateUp, openOrm } from '../../src/db/orm.js';
import { AgentRepository } from '../../src/db/repositories/agent.repository.js';
import { AuthenticationError } from '../../src/errors/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const SECRET = 'authenticator-test-secret-at-least-32-characters';
const key = secretKeyBytes(SECRET);
const nowSeconds = () => Math.floor(Date.now() / 1000);

let database: TestDatabase;
let orm: MikroORM;
let agents: AgentRepository;

beforeAll(async () => {
  database = await createTestDatabase('sqlite');
  orm = await openOrm(database.target);
  await migrateUp(orm);
  agents = new AgentRepository(orm.em);
  await agents.upsert({ id: 'alice', namespace: 'team-a', name: 'Alice', role: 'admin', status: 'active' });
  await agents.upsert({ id: 'sleeper', namespace: 'team-a', name: 'Sleeper', role: 'agent', status: 'inactive' });
});
afterAll(async () => {
  await orm?.close(true);
  await database?.drop();
});
afterEach(() => vi.useRealTimers());

const authenticator = (maxTokenTtlSeconds?: number) =>
  new Authenticator(agents, { secretKey: SECRET, authEnabled: true, maxTokenTtlSeconds });
const bearer = (token: string) => `Bearer ${token}`;
const signWith = (alg: string, claims: JWTPayload, secret: Uint8Array = key) =>
  new SignJWT(claims).setProtectedHeader({ alg }).sign(secret);

/** The message of the AuthenticationError `attempt` rejects with (anything else fails the test). */
async function refusal(attempt: Promise<unknown>): Promise<string> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthenticationError);
  expect((error as AuthenticationError).httpStatus).toBe(401);
  return (error as AuthenticationError).message;
}

describe('Authenticator', () => {
  it('takes namespace and role from the agent table, never from the token', async () => {
    const token = await signWith('HS256', { sub: 'alice', exp: nowSeconds() + 600, namespace: 'team-b', role: 'agent' });
    const caller = await authenticator().authenticateCaller(bearer(token));
    expect(caller.principal).toEqual({ agentId: 'alice', namespace: 'team-a', role: 'admin' });
    expect(caller.expiresAt).toBe((nowSeconds() + 600 + CLOCK_SKEW_SECONDS) * 1000);
  });

  it('refuses a missing, malformed or foreign-signed token', async () => {
    const auth = authenticator();
    expect(await refusal(auth.authenticate(undefined))).toBe('Missing bearer token');
    expect(await refusal(auth.authenticate('Basic YWxpY2U6eA=='))).toBe('Missing bearer token');
    expect(await refusal(auth.authenticate(bearer('not.a.jwt')))).toBe('Invalid token');
    const foreign = await signWith(
      'HS256',
      { sub: 'alice', exp: nowSeconds() + 600 },
      secretKeyBytes('another-secret-another-secret-another'),
    );
    expect(await refusal(auth.authenticate(bearer(foreign)))).toBe('Invalid token');
  });

  it('refuses an expired token', async () => {
    const token = await signWith('HS256', { sub: 'alice', exp: nowSeconds() - CLOCK_SKEW_SECONDS - 5 });
    expect(await refusal(authenticator().authenticate(bearer(token)))).toBe('Token has expired');
  });

  it('refuses a token signed with HS512 and an unsigned (alg none) token', async () => {
    const hs512 = await signWith('HS512', { sub: 'alice', exp: nowSeconds() + 600 });
    expect(await refusal(authenticator().authenticate(bearer(hs512)))).toBe('Token algorithm not allowed (HS256 only)');
    const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'alice', exp: nowSeconds() + 600 })}.`;
    expect(await refusal(authenticator().authenticate(bearer(unsigned)))).toBe('Token algorithm not allowed (HS256 only)');
  });

  it('refuses a token of an unknown or inactive agent', async () => {
    const auth = authenticator();
    for (const sub of ['nobody', 'sleeper']) {
      const token = await signAgentToken(sub, key, 600);
      expect(await refusal(auth.authenticate(bearer(token)))).toBe('Agent is unknown or inactive');
    }
  });

  it('does not trust a cached verification past the token expiry', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const auth = authenticator();
    const token = await signAgentToken('alice', key, 10);
    await expect(auth.authenticate(bearer(token))).resolves.toMatchObject({ agentId: 'alice' });
    vi.setSystemTime(Date.now() + (10 + CLOCK_SKEW_SECONDS + 1) * 1000);
    expect(await refusal(auth.authenticate(bearer(token)))).toBe('Token has expired');
  });

  it('refuses a cached caller once the agent is deactivated, within the agent cache TTL', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    await agents.upsert({ id: 'bob', namespace: 'team-b', name: 'Bob', role: 'agent', status: 'active' });
    const auth = authenticator();
    const caller = await auth.authenticateCaller(bearer(await signAgentToken('bob', key, 600)));
    await agents.upsert({ id: 'bob', namespace: 'team-b', name: 'Bob', role: 'agent', status: 'inactive' });
    vi.setSystemTime(Date.now() + AGENT_CACHE_TTL_MS + 1);
    expect(await refusal(auth.revalidate(caller))).toBe('Agent is unknown or inactive');
  });

  it('refuses a token whose lifetime exceeds the configured maximum, and accepts one at it', async () => {
    const auth = authenticator(3_600);
    const long = await signAgentToken('alice', key, 7_200);
    expect(await refusal(auth.authenticate(bearer(long)))).toBe('Token lifetime exceeds the maximum of 1h; ask for a shorter-lived token');
    await expect(auth.authenticate(bearer(await signAgentToken('alice', key, 3_600)))).resolves.toMatchObject({ agentId: 'alice' });
  });

  it('answers the anonymous development principal when authentication is off', async () => {
    const open = new Authenticator(agents, { secretKey: SECRET, authEnabled: false });
    await expect(open.authenticateCaller(undefined)).resolves.toEqual({ principal: ANONYMOUS_PRINCIPAL, expiresAt: null });
  });
});
