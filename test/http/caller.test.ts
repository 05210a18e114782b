import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { callerOf, callerOfFetch } from '../../src/http/caller.js';
import { requestIdOf } from '../../src/http/request-id.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A Fastify app (ids from the same source as the gateway's) answering with what callerOf sees, from both request shapes. */
async function echoCaller(trustedProxies: string[]): Promise<FastifyInstance> {
  app = Fastify({ genReqId: requestIdOf });
  app.get('/caller', async (request) => ({
    fastifyId: request.id,
    fromFastify: callerOf(request, trustedProxies),
    fromRaw: callerOf(request.raw, trustedProxies),
  }));
  await app.ready();
  return app;
}

async function callerSeen(trustedProxies: string[], remoteAddress: string, headers: Record<string, string> = {}) {
  const server = await echoCaller(trustedProxies);
  const response = await server.inject({ method: 'GET', url: '/caller', remoteAddress, headers });
  expect(response.statusCode).toBe(200);
  const seen = response.json<{ fastifyId: string; fromFastify: Record<string, unknown>; fromRaw: Record<string, unknown> }>();
  // A Fastify request and its raw Node request (what a WebSocket upgrade has) are the same caller.
  expect(seen.fromRaw).toEqual(seen.fromFastify);
  expect(seen.fromFastify.requestId).toBe(seen.fastifyId);
  return seen.fromFastify;
}

describe('callerOf', () => {
  it('counts the TCP peer and ignores X-Forwarded-For when no proxy is trusted', async () => {
    const caller = await callerSeen([], '203.0.113.9', { 'x-forwarded-for': '198.51.100.7' });
    expect(caller.clientIp).toBe('203.0.113.9');
  });

  it('takes the right-most untrusted X-Forwarded-For hop behind a trusted proxy', async () => {
    const caller = await callerSeen(['10.0.0.0/8'], '10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.0.0.2' });
    expect(caller.clientIp).toBe('198.51.100.7');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const caller = await callerSeen(['10.0.0.0/8'], '203.0.113.9', { 'x-forwarded-for': '198.51.100.7' });
    expect(caller.clientIp).toBe('203.0.113.9');
  });

  it('reuses a well-formed X-Request-ID and carries the Authorization header unverified', async () => {
    const caller = await callerSeen([], '127.0.0.1', { 'x-request-id': 'trace.42_a-b', authorization: 'Bearer abc' });
    expect(caller).toEqual({ requestId: 'trace.42_a-b', clientIp: '127.0.0.1', authorization: 'Bearer abc' });
  });

  it('mints a UUID for a malformed X-Request-ID', async () => {
    const caller = await callerSeen([], '127.0.0.1', { 'x-request-id': 'has spaces and ;' });
    expect(caller.requestId).toMatch(UUID);
    expect(caller.authorization).toBeUndefined();
  });
});

describe('callerOfFetch', () => {
  it('names no peer and no id for an in-process request, and carries its Authorization header unverified', () => {
    const request = new Request('http://in-process/graphql', { headers: { authorization: 'Bearer abc', 'x-request-id': 'trace-1' } });
    expect(callerOfFetch(request)).toEqual({ requestId: 'unknown', clientIp: 'unknown', authorization: 'Bearer abc' });
    expect(callerOfFetch(new Request('http://in-process/graphql')).authorization).toBeUndefined();
  });
});
