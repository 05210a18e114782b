/**
 * SPEC §10: a subscription opened on one instance receives the events of an
 * execution started on another (event bus on Redis, shared database — SQLite file or PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateConnectionDocument,
  ExecutionProgressDocument,
  ExecutionUpdatesDocument,
  StartExecutionDocument,
  type ExecutionProgressSubscription,
} from '../gql/graphql.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { sharedEverythingUrl } from '../helpers/everything-server.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';
import { collect, data, sse } from './client.js';

let redis: RedisTestServer;
const everything = { url: sharedEverythingUrl() };
let first: TestGateway;
let second: TestGateway;
let agent: TestAgent;
let database: TestDatabase;

beforeAll(async () => {
  redis = await startRedis();
  database = await createTestDatabase();
  const shared = { TMWS_REDIS_URL: redis.url, TMWS_DATABASE_URL: database.url };
  first = await startGateway(shared);
  second = await startGateway(shared);
  agent = await first.agent('gql-scale-agent', 'gql-scale-ns');
});
afterAll(async () => {
  await first?.close();
  await second?.close();
  await redis?.stop();
  await database?.drop();
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
});
