/**
 * SPEC §13: a real nginx running deploy/nginx/tmws.conf (loopback ports, a test certificate) in
 * front of two gateway instances sharing one database and Redis. Create → execute → subscribe
 * through it over TLS; HTTP redirects to HTTPS; /graphql upgrades to WebSocket.
 *
 * What an instance kill guarantees (and this test shows): a subscription held by a surviving
 * instance stays open and sees the execution to its end; a subscription held by the killed one
 * ends (nginx closes it), and subscribing again through nginx lands on a survivor, whose first
 * event is the execution's current state — so a client that re-subscribes misses nothing
 * that matters. New requests go to the survivor only.
 */
import { print } from 'graphql';
import { Agent, fetch as undiciFetch, type RequestInit } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { secretKeyBytes, signAgentToken } from '../../src/auth/jwt.js';
import { migrateUp, openOrm } from '../../src/db/orm.js';
import { AgentRepository } from '../../src/db/repositories/agent.repository.js';
import { ExecutionProgressDocument, StartExecutionDocument, type ExecutionProgressSubscription } from '../gql/graphql.js';
import { EventReader, readSse, type GraphQLPayload } from '../graphql/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_SECRET } from '../helpers/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { prepareNginx, type TestNginx } from '../helpers/nginx.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';

const AGENT = { id: 'nginx-agent', namespace: 'nginx-ns' };
let redis: RedisTestServer;
let database: TestDatabase;
let gateways: GatewayProcess[];
let nginx: TestNginx;
let token: string;
let tls: Agent;

beforeAll(async () => {
  [redis, database] = await Promise.all([startRedis(), createTestDatabase('sqlite')]);
  const orm = await openOrm(database.target);
  await migrateUp(orm);
  await new AgentRepository(orm.em).upsert({ ...AGENT, name: 'nginx', role: 'agent', status: 'active' });
  await orm.close(true);
  token = await signAgentToken(AGENT.id, secretKeyBytes(TEST_SECRET), 3600);
  const env = {
    TMWS_SECRET_KEY: TEST_SECRET,
    TMWS_DATABASE_URL: database.url,
    TMWS_REDIS_URL: redis.url,
    TMWS_CHROMA_URL: inject('chromaUrl'),
    TMWS_TRUSTED_PROXIES: '127.0.0.1',
  };
  gateways = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
  // The only test-only line: which instance answered, so the test can tell where a stream lives.
  nginx = await prepareNginx(
    gateways.map((gw) => new URL(gw.url).host),
    ['add_header X-Upstream $upstream_addr always;'],
  );
  await nginx.start();
  tls = new Agent({ connect: { ca: nginx.certificate.pem } });
}, 120_000);
afterAll(async () => {
  await nginx?.stop();
  await tls?.close();
  for (const gw of gateways ?? []) await gw.kill();
  await redis?.stop();
  await database?.drop();
});

function request(path: string, init: RequestInit = {}) {
  return undiciFetch(`https://127.0.0.1:${nginx.ports.https}${path}`, {
    ...init,
    dispatcher: tls,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
  });
}

const post = (path: string, body: unknown) => request(path, { method: 'POST', body: JSON.stringify(body) });

interface Stream {
  upstream: string;
  reader: EventReader<GraphQLPayload<ExecutionProgressSubscription>>;
}

async function subscribe(executionId: string): Promise<Stream> {
  const response = await request('/graphql', {
    method: 'POST',
    headers: { accept: 'text/event-stream' },
    body: JSON.stringify({ query: print(ExecutionProgressDocument), variables: { executionId } }),
  });
  expect(response.status).toBe(200);
  const events = readSse<ExecutionProgressSubscription>(response as unknown as Response);
  return { upstream: answeredBy(response.headers), reader: new EventReader(events) };
}

/** The instance that answered: after a failed attempt nginx lists every one it tried, the last answered. */
function answeredBy(headers: { get(name: string): string | null }): string {
  return (headers.get('x-upstream') ?? '').split(', ').at(-1)!;
}

const typeOf = (e: GraphQLPayload<ExecutionProgressSubscription>) => e.data?.executionProgress.type;

describe('nginx (deploy/nginx/tmws.conf) in front of two instances', () => {
  it('redirects HTTP to HTTPS and sends the security headers', async () => {
    const plain = await fetch(`http://127.0.0.1:${nginx.ports.http}/health`, { redirect: 'manual' });
    expect(plain.status).toBe(301);
    expect(plain.headers.get('location')).toMatch(/^https:\/\/127\.0\.0\.1\/health$/);
    const health = await request('/health');
    expect(await health.json()).toEqual({ status: 'healthy' });
    expect(health.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect(health.headers.get('x-frame-options')).toBe('DENY');
    expect((await request('/metrics')).status).toBe(404);
  });

  it('hands MCP clients the https URL they reached, not the instance’s plain http', async () => {
    // nginx passes the Host the client sent (with its port) and sets X-Forwarded-Proto; the instances trust it.
    const origin = `https://127.0.0.1:${nginx.ports.https}`;
    const refused = await request('/mcp', { method: 'POST', headers: { authorization: '' }, body: '{}' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource"`);
    const document = await request('/.well-known/oauth-protected-resource/mcp');
    expect(((await document.json()) as { resource: string }).resource).toBe(`${origin}/mcp`);
  });

  it('upgrades /graphql to WebSocket (graphql-ws)', async () => {
    const socket = new WebSocket(`wss://127.0.0.1:${nginx.ports.https}/graphql`, 'graphql-transport-ws', { ca: nginx.certificate.pem });
    const protocol = await new Promise<string>((resolve, reject) => {
      socket.once('open', () => resolve(socket.protocol));
      socket.once('error', reject);
    });
    socket.close();
    expect(protocol).toBe('graphql-transport-ws');
  });

  it('creates, executes and subscribes through it; a subscription survives the kill of the other instance', async () => {
    const created = await post('/api/v1/mcp/connections', { server_name: 'everything', url: inject('everythingUrl') });
    expect(created.status).toBe(201);
    const connectionId = ((await created.json()) as { id: string }).id;
    const executed = await post(`/api/v1/mcp/connections/${connectionId}/tools/echo/execute`, { arguments: { message: 'via nginx' } });
    expect(executed.status).toBe(200);
    expect(JSON.stringify(await executed.json())).toContain('via nginx');

    const started = await post('/graphql', {
      query: print(StartExecutionDocument),
      variables: { input: { connectionId, toolName: 'trigger-long-running-operation', arguments: { duration: 8, steps: 8 } } },
    });
    const runsOn = answeredBy(started.headers);
    const executionId = ((await started.json()) as { data: { startExecution: { id: string } } }).data.startExecution.id;

    // One subscription on each instance (nginx alternates between them).
    const streams = new Map<string, Stream>();
    for (let i = 0; i < 6 && streams.size < 2; i++) {
      const stream = await subscribe(executionId);
      if (streams.has(stream.upstream)) await stream.reader.close();
      else streams.set(stream.upstream, stream);
    }
    expect([...streams.keys()].sort()).toEqual(gateways.map((gw) => new URL(gw.url).host).sort());
    for (const stream of streams.values()) expect((await stream.reader.until(() => true)).map(typeOf)).toEqual(['STATE']);

    // Kill the instance that does not run the execution.
    const victim = gateways.find((gw) => new URL(gw.url).host !== runsOn)!;
    await victim.kill();
    const onVictim = streams.get(new URL(victim.url).host)!;
    const onSurvivor = streams.get(runsOn)!;
    const victimEvents = await onVictim.reader.until(() => false, 30_000).catch(() => []);
    expect(victimEvents.map(typeOf)).not.toContain('COMPLETED');
    const survivorEvents = await onSurvivor.reader.until((e) => typeOf(e) === 'COMPLETED', 60_000);
    expect(survivorEvents.map(typeOf)).toContain('PROGRESS');
    expect(survivorEvents.at(-1)?.data?.executionProgress.execution.status).toBe('COMPLETED');

    // Subscribing again lands on the survivor: the current state first.
    const again = await subscribe(executionId);
    expect(again.upstream).toBe(runsOn);
    const [state] = await again.reader.until(() => true);
    expect(state?.data?.executionProgress).toMatchObject({ type: 'STATE', execution: { id: executionId, status: 'COMPLETED' } });
    await again.reader.close();

    // New requests go to the survivor only.
    for (let i = 0; i < 4; i++) {
      const response = await post(`/api/v1/mcp/connections/${connectionId}/tools/echo/execute`, { arguments: { message: `after ${i}` } });
      expect(response.status).toBe(200);
      expect(answeredBy(response.headers)).toBe(runsOn);
    }
  }, 120_000);
});
