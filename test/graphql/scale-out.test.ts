/**
 * SPEC §10, two instances on one database (a fresh SQLite file, or a fresh PostgreSQL database in
 * the `postgresql` project) with one private Redis and the run's one Chroma server, in production
 * (real rate limits): a subscription opened on one instance receives the events of an execution
 * started on another; a connection created on one is used on the other; cancel and disconnect
 * reach the instance running the call; both draw from one creates budget.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CancelExecutionDocument,
  CreateConnectionDocument,
  DisconnectDocument,
  ExecutionProgressDocument,
  ExecutionUpdatesDocument,
  StartExecutionDocument,
  type ExecutionProgressSubscription,
} from '../gql/graphql.js';
import { createTestDatabase, testDialect, type TestDatabase } from '../helpers/database.js';
import { sharedEverythingUrl } from '../helpers/everything-server.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { eventually } from '../helpers/eventually.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';
import { connectionNameOf } from '../../src/common/redis-client.js';
import { UpstreamPool } from '../../src/mcp/client-pool.js';
import { collect, data, sse } from './client.js';

let redis: RedisTestServer;
const everything = { url: sharedEverythingUrl() };
let first: TestGateway;
let second: TestGateway;
let agent: TestAgent;
let database: TestDatabase;
let upstream: TestUpstream;

beforeAll(async () => {
  [redis, database, upstream] = await Promise.all([startRedis(), createTestDatabase(), startTestUpstream()]);
  const shared = {
    TMWS_REDIS_URL: redis.url,
    TMWS_DATABASE_URL: database.url,
    TMWS_ENVIRONMENT: 'production',
    TMWS_MCP_ALLOWED_HOSTS: '127.0.0.1',
  };
  // One after the other: two gateways migrating one fresh database at once collide (README "Running several instances").
  first = await startGateway(shared);
  second = await startGateway(shared);
  agent = await first.agent('gql-scale-agent', 'gql-scale-ns');
});
afterAll(async () => {
  await first?.close();
  await second?.close();
  await Promise.all([redis?.stop(), upstream?.stop()]);
  await database?.drop();
});

async function connectTest(gw: TestGateway): Promise<string> {
  const created = await gw.request('/api/v1/mcp/connections', {
    method: 'POST',
    token: agent.token,
    body: { server_name: `test-${Math.random().toString(36).slice(2, 8)}`, url: upstream.url },
  });
  expect(created.status).toBe(201);
  return ((await created.json()) as { id: string }).id;
}

/** Starts a 30 s call on `gw` and resolves once the upstream is running it. */
async function startSlowCall(gw: TestGateway, connectionId: string): Promise<string> {
  const calls = upstream.state().calls['slow'] ?? 0;
  const input = { connectionId, toolName: 'slow', arguments: { ms: 30_000 } };
  const execution = (await data(gw, StartExecutionDocument, { input }, agent.token)).startExecution!;
  await eventually(() => (upstream.state().calls['slow'] ?? 0) > calls, 15_000, 'the upstream to run the call');
  return execution.id;
}

async function statusOn(gw: TestGateway, id: string): Promise<string | undefined> {
  const response = await gw.request('/graphql', {
    method: 'POST',
    token: agent.token,
    body: { query: 'query($id: ID!) { execution(id: $id) { status } }', variables: { id } },
  });
  return ((await response.json()) as { data?: { execution?: { status: string } } }).data?.execution?.status;
}

interface Heard {
  since: number;
  /** When `gw`'s event bus delivered `connection-closed` for the connection (what its pool closes the session on). */
  at: number | undefined;
  /** When a client subscribed on Redis itself saw it: whether the other instance published it at all. */
  onRedis: number | undefined;
  /** How many subscribers Redis counts on the channel, read when the call did not end. */
  subscribers: () => Promise<string>;
  close: () => void;
}

async function heardOn(gw: TestGateway, connectionId: string): Promise<Heard> {
  const observer = new Redis(redis.url);
  await observer.subscribe('connection-closed');
  const heard: Heard = {
    since: Date.now(),
    at: undefined,
    onRedis: undefined,
    subscribers: async () => {
      // A subscribed client cannot ask: another connection, only when the call did not end.
      const counter = new Redis(redis.url);
      try {
        const [, count] = (await counter.call('PUBSUB', 'NUMSUB', 'connection-closed')) as [string, number];
        // Which gateway connection lacks it: each instance's subscribe connection, its age and channel count.
        const clients = ((await counter.call('CLIENT', 'LIST')) as string)
          .split('\n')
          .filter((line) => line.includes(`name=${connectionNameOf('event bus subscribe')}`))
          .map((line) => ['id', 'age', 'sub'].map((field) => new RegExp(`\\b${field}=(\\S*)`).exec(line)?.[0]).join(' '));
        return `${count} (this observer included; the instances' subscribe connections: ${clients.join(', ') || 'none'})`;
      } finally {
        counter.disconnect();
      }
    },
    close: () => observer.disconnect(),
  };
  observer.on('message', (_channel: string, message: string) => {
    if (message.includes(connectionId)) heard.onRedis ??= Date.now();
  });
  const iterator = gw.gateway.services.events.pubsub.subscribe('connection-closed')[Symbol.asyncIterator]();
  void (async () => {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      if (next.value.connectionId !== connectionId) continue;
      heard.at = Date.now();
      await iterator.return?.();
    }
  })();
  return heard;
}

/**
 * Waits for the execution to leave RUNNING on `gw`; when it does not, says what `gw` last read, whether its
 * event bus delivered the disconnect, whether its pool still holds a session, and what the upstream saw.
 */
async function callEnds(gw: TestGateway, executionId: string, connectionId: string, heard: Heard): Promise<string> {
  let last: string | undefined;
  try {
    return await eventually(
      async () => {
        last = await statusOn(gw, executionId);
        return last !== 'RUNNING' && last;
      },
      15_000,
      'the call to end',
    );
  } catch (error) {
    const pool = gw.gateway.services.upstream;
    const session = pool instanceof UpstreamPool ? (pool.isOpen(connectionId) ? 'still open' : 'closed') : 'unknown';
    const { activeSessions, sessionsDeleted, cancellations } = upstream.state();
    throw new Error(
      `the call did not end within 15 s of the disconnect: the execution read ${last ?? 'nothing (no data in the answer)'}; ` +
        `connection-closed ${heard.at === undefined ? 'never reached its instance' : `reached its instance ${heard.at - heard.since} ms after the disconnect was sent`} ` +
        `(${heard.onRedis === undefined ? 'nor a client subscribed on Redis: it was not published' : `a client subscribed on Redis saw it ${heard.onRedis - heard.since} ms after`}; ` +
        `Redis counts ${await heard.subscribers().catch((e: unknown) => String(e))} subscribers on the channel); ` +
        `its upstream session there is ${session}; the upstream has ${activeSessions} sessions open, ` +
        `${sessionsDeleted} deleted, ${cancellations} calls cancelled`,
      { cause: error },
    );
  } finally {
    heard.close();
  }
}

describe('commands across instances', () => {
  it('executes on B a connection created on A', async () => {
    const connectionId = await connectTest(first);
    const executed = await second.request(`/api/v1/mcp/connections/${connectionId}/tools/echo/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: { message: 'created on A, run on B' } },
    });
    expect(executed.status).toBe(200);
    expect(JSON.stringify(await executed.json())).toContain('created on A, run on B');
  });

  it('a cancel sent to A reaches the call running on B', async () => {
    const connectionId = await connectTest(first);
    const executionId = await startSlowCall(second, connectionId);
    const before = upstream.state().cancellations;
    const cancelled = (await data(first, CancelExecutionDocument, { id: executionId }, agent.token)).cancelExecution!;
    expect(cancelled.status).toBe('CANCELLED');
    // B aborted its upstream call (notifications/cancelled), long before the call's 30 s.
    await eventually(() => upstream.state().cancellations > before, 15_000, 'the upstream to see the cancellation');
    expect(await statusOn(second, executionId)).toBe('CANCELLED');
  });

  // PostgreSQL reads a uuid in any letter case, so this cancel succeeds there; B knows its call by the stored id.
  it.runIf(testDialect() === 'postgresql')('a cancel sent to A naming the id in capitals reaches the call on B too', async () => {
    const connectionId = await connectTest(first);
    const executionId = await startSlowCall(second, connectionId);
    const before = upstream.state().cancellations;
    const cancelled = (await data(first, CancelExecutionDocument, { id: executionId.toUpperCase() }, agent.token)).cancelExecution!;
    expect(cancelled).toMatchObject({ id: executionId, status: 'CANCELLED' });
    await eventually(() => upstream.state().cancellations > before, 15_000, 'the upstream to see the cancellation');
  });

  it('a disconnect on B stops the call running on A', async () => {
    const connectionId = await connectTest(first);
    const executionId = await startSlowCall(first, connectionId);
    const heard = await heardOn(first, connectionId);
    const disconnected = (await data(second, DisconnectDocument, { id: connectionId }, agent.token)).disconnect!;
    expect(disconnected.status).toBe('DISCONNECTED');
    expect(await callEnds(first, executionId, connectionId, heard)).not.toBe('COMPLETED');
  });

  // PostgreSQL reads a uuid in any letter case, so this disconnect succeeds there; every pool knows the stored id.
  it.runIf(testDialect() === 'postgresql')('a disconnect on B naming the id in capitals stops the call on A too', async () => {
    const connectionId = await connectTest(first);
    const executionId = await startSlowCall(first, connectionId);
    const heard = await heardOn(first, connectionId);
    const disconnected = (await data(second, DisconnectDocument, { id: connectionId.toUpperCase() }, agent.token)).disconnect!;
    expect(disconnected).toMatchObject({ id: connectionId, status: 'DISCONNECTED' });
    expect(await callEnds(first, executionId, connectionId, heard)).not.toBe('COMPLETED');
  });

  it('both instances draw from one creates budget: 12 a minute per agent in production', async () => {
    const budgetAgent = await first.agent('gql-budget-agent', 'gql-budget-ns');
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) {
      const gw = i % 2 === 0 ? first : second;
      const created = await gw.request('/api/v1/mcp/connections', {
        method: 'POST',
        token: budgetAgent.token,
        body: { server_name: `budget-${i}`, url: upstream.url },
      });
      statuses.push(created.status);
    }
    expect(statuses.slice(0, 12)).toEqual(Array(12).fill(201));
    expect(statuses[12]).toBe(429);
  });
});

describe('subscriptions across instances', () => {
  it('follows on instance B an execution started on instance A', async () => {
    const created = await data(first, CreateConnectionDocument, { input: { serverName: 'everything', url: everything.url } }, agent.token);
    const updates = await sse(second, ExecutionUpdatesDocument, {}, agent.token);
    const input = {
      connectionId: created.createConnection!.id,
      toolName: 'trigger-long-running-operation',
      arguments: { duration: 2, steps: 4 },
    };
    const execution = (await data(first, StartExecutionDocument, { input }, agent.token)).startExecution!;

    const progress = await sse(second, ExecutionProgressDocument, { executionId: execution.id }, agent.token);
    const events = (await collect<ExecutionProgressSubscription>(progress.events)).map((e) => e.data!.executionProgress);
    expect(events[0]).toMatchObject({ type: 'STATE', execution: { id: execution.id } });
    expect(
      events
        .filter((e) => e.type === 'PROGRESS')
        .map((e) => e.progress)
        .at(-1),
    ).toBe(4);
    expect(events.at(-1)).toMatchObject({ type: 'COMPLETED', execution: { status: 'COMPLETED' } });

    const seen = await collect(updates.events, (e) => e.data?.executionUpdates.type === 'COMPLETED');
    updates.close();
    expect(seen.flatMap((e) => e.errors ?? [])).toEqual([]);
    expect(
      seen
        .map((e) => e.data!.executionUpdates)
        .filter((e) => e.execution.id === execution.id)
        .map((e) => e.type),
    ).toContain('COMPLETED');
  });

  // PostgreSQL reads a uuid in any letter case, so this subscription opens there; it must hear the stored id's events.
  it.runIf(testDialect() === 'postgresql')('follows on B, by the id in capitals, an execution started on A', async () => {
    const connectionId = await connectTest(first);
    const input = { connectionId, toolName: 'slow', arguments: { ms: 600, steps: 3 } };
    const execution = (await data(first, StartExecutionDocument, { input }, agent.token)).startExecution!;
    const progress = await sse(second, ExecutionProgressDocument, { executionId: execution.id.toUpperCase() }, agent.token);
    const events = (await collect<ExecutionProgressSubscription>(progress.events)).map((e) => e.data!.executionProgress);
    expect(events.map((e) => e.type)).toContain('PROGRESS');
    expect(events.at(-1)).toMatchObject({ type: 'COMPLETED', execution: { id: execution.id, status: 'COMPLETED' } });
  });
});
