/**
 * The fields the dashboard's overview and rate-limit pages read:
 * `gatewayStatus` (any signed-in agent) and `rateLimitStatistics` (admins, own
 * namespace only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { codes, data, graphql } from './client.js';

const STATUS = '{ gatewayStatus { ready database redis chroma rateLimiter degraded } }';
const STATISTICS =
  '{ rateLimitStatistics { namespace enabled store degraded countingSince buckets { name limit burst agentWindow allowed blocked errors blockedKeys } } }';

let gw: TestGateway;
let agent: TestAgent;
let admin: TestAgent;
let otherAdmin: TestAgent;

beforeAll(async () => {
  // Production: the limiter is on and counts (it is off in the test environment).
  gw = await startGateway({ TMWS_ENVIRONMENT: 'production' });
  [agent, admin, otherAdmin] = await Promise.all([
    gw.agent('status-agent', 'status-ns'),
    gw.agent('status-admin', 'status-ns', 'admin'),
    gw.agent('status-other-admin', 'status-other-ns', 'admin'),
  ]);
});
afterAll(async () => {
  await gw?.close();
});

describe('gatewayStatus', () => {
  it('reports the readiness of every dependency to any signed-in agent', async () => {
    const result = await data(gw, STATUS, {}, agent.token);
    expect(result).toEqual({
      gatewayStatus: { ready: true, database: 'OK', redis: 'NOT_CONFIGURED', chroma: 'OK', rateLimiter: 'OK', degraded: false },
    });
  });

  it('is refused without a token', async () => {
    const result = await graphql(gw, STATUS);
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    expect(result.body.data ?? null).toBeNull();
  });
});

describe('rateLimitStatistics', () => {
  it('is refused to an agent that is not an admin', async () => {
    const result = await graphql(gw, STATISTICS, {}, agent.token);
    expect(codes(result)).toEqual(['AUTHORIZATION_ERROR']);
    expect((result.body.data as { rateLimitStatistics: unknown } | null)?.rateLimitStatistics ?? null).toBeNull();
  });

  it('counts the decisions of the admin’s own namespace only', async () => {
    // Two draws from mcp_disconnect by an agent of the admin's namespace (the ids do not exist: the draw comes first).
    for (const id of ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002']) {
      await graphql(gw, 'mutation($id: ID!) { disconnect(id: $id) { id } }', { id }, agent.token);
    }
    const mine = (await data(gw, STATISTICS, {}, admin.token)) as any;
    expect(mine.rateLimitStatistics).toMatchObject({ namespace: 'status-ns', enabled: true, store: 'memory', degraded: false });
    expect(new Date(mine.rateLimitStatistics.countingSince).getTime()).toBeLessThanOrEqual(Date.now());
    const byName = Object.fromEntries(mine.rateLimitStatistics.buckets.map((b: { name: string }) => [b.name, b]));
    expect(Object.keys(byName)).toEqual(['mcp_create_connection', 'mcp_discover_tools', 'mcp_execute_tool', 'mcp_disconnect']);
    expect(byName.mcp_disconnect).toEqual({
      name: 'mcp_disconnect',
      limit: 20,
      burst: 5,
      agentWindow: 25,
      allowed: 2,
      blocked: 0,
      errors: 0,
      blockedKeys: 0,
    });

    const theirs = (await data(gw, STATISTICS, {}, otherAdmin.token)) as any;
    expect(theirs.rateLimitStatistics.namespace).toBe('status-other-ns');
    expect(theirs.rateLimitStatistics.buckets.map((b: { allowed: number }) => b.allowed)).toEqual([0, 0, 0, 0]);
  });
});
