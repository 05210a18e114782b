/**
 * Every limited entry point of every door draws from its bucket (SPEC §5).
 *
 * The limiter itself is tested elsewhere; this file proves the wiring: remove
 * the limit from any one route or field and its row here goes red. Limits are
 * scaled down (development × 0.01: create 1, discover 1, execute 2, disconnect 1
 * per agent and window), each case has its own agent and its own client IP
 * (X-Forwarded-For from a trusted loopback proxy), so the cases never share a key.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketRules, windowCapacity, type BucketName } from '../../src/ratelimit/buckets.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';
import { codes, graphql } from '../graphql/client.js';

const SCALE = 0.01;
const BASE = '/api/v1/mcp';
const RULES = bucketRules('development', SCALE);

let gw: TestGateway;
let upstream: TestUpstream;
let nextIp = 1;

beforeAll(async () => {
  upstream = await startTestUpstream();
  gw = await startGateway({
    TMWS_ENVIRONMENT: 'development',
    TMWS_RATE_LIMIT_SCALE: String(SCALE),
    TMWS_TRUSTED_PROXIES: '127.0.0.1,::1',
  });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

interface Caller {
  agent: TestAgent;
  headers: Record<string, string>;
}

async function freshCaller(label: string): Promise<Caller> {
  const agent = await gw.agent(`wiring-${label}-${randomUUID().slice(0, 8)}`, 'wiring');
  return { agent, headers: { 'x-forwarded-for': `10.77.0.${nextIp++}` } };
}

/** A connection owned by the caller, created over REST (its one create of the window). */
async function ownConnection(caller: Caller): Promise<string> {
  const response = await gw.request(`${BASE}/connections`, {
    method: 'POST',
    token: caller.agent.token,
    headers: caller.headers,
    body: { server_name: 'wired', url: upstream.url },
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

/** What one call looked like to its caller: the REST error code, or the GraphQL codes. */
type Outcome = { limited: boolean; seen: string };

async function rest(caller: Caller, method: string, path: string, body?: unknown): Promise<Outcome> {
  const response = await gw.request(path, { method, token: caller.agent.token, headers: caller.headers, body });
  const text = await response.text();
  const code = response.status === 429 ? (JSON.parse(text) as { error_code: string }).error_code : '';
  return { limited: response.status === 429 && code === 'RATE_LIMIT_EXCEEDED', seen: `${response.status} ${code}`.trim() };
}

async function gql(caller: Caller, query: string, variables: Record<string, unknown>): Promise<Outcome> {
  const result = await graphql(gw, query, variables, caller.agent.token, caller.headers);
  const seen = codes(result);
  return { limited: seen.includes('RATE_LIMIT_EXCEEDED'), seen: seen.join(',') || 'ok' };
}

interface WiringCase {
  door: 'REST' | 'GraphQL';
  entry: string;
  bucket: BucketName;
  /** Prepares what the calls need (the setup's own creates are not counted by the case). */
  setup?: (caller: Caller) => Promise<string>;
  call: (caller: Caller, target: string) => Promise<Outcome>;
}

const cases: WiringCase[] = [
  {
    door: 'REST',
    entry: 'POST /connections',
    bucket: 'mcp_create_connection',
    call: (c) => rest(c, 'POST', `${BASE}/connections`, { server_name: `n${randomUUID().slice(0, 6)}`, url: upstream.url }),
  },
  {
    door: 'REST',
    entry: 'GET /connections/{id}/tools',
    bucket: 'mcp_discover_tools',
    setup: ownConnection,
    call: (c, id) => rest(c, 'GET', `${BASE}/connections/${id}/tools`),
  },
  {
    door: 'REST',
    entry: 'GET /tools/search',
    bucket: 'mcp_discover_tools',
    call: (c) => rest(c, 'GET', `${BASE}/tools/search?q=echo`),
  },
  {
    door: 'REST',
    entry: 'POST /connections/{id}/tools/{name}/execute',
    bucket: 'mcp_execute_tool',
    setup: ownConnection,
    call: (c, id) => rest(c, 'POST', `${BASE}/connections/${id}/tools/echo/execute`, { arguments: { message: 'hi' } }),
  },
  {
    door: 'REST',
    entry: 'DELETE /connections/{id}',
    bucket: 'mcp_disconnect',
    setup: ownConnection,
    call: (c, id) => rest(c, 'DELETE', `${BASE}/connections/${id}`),
  },
  {
    door: 'GraphQL',
    entry: 'createConnection',
    bucket: 'mcp_create_connection',
    call: (c) =>
      gql(c, 'mutation($input: CreateConnectionInput!) { createConnection(input: $input) { id } }', {
        input: { serverName: `g${randomUUID().slice(0, 6)}`, url: upstream.url },
      }),
  },
  {
    door: 'GraphQL',
    entry: 'refreshTools',
    bucket: 'mcp_discover_tools',
    setup: ownConnection,
    call: (c, id) => gql(c, 'mutation($id: ID!) { refreshTools(id: $id) { id } }', { id }),
  },
  {
    door: 'GraphQL',
    entry: 'searchTools',
    bucket: 'mcp_discover_tools',
    call: (c) => gql(c, 'query { searchTools(query: "echo", limit: 3) { score } }', {}),
  },
  {
    door: 'GraphQL',
    entry: 'executeTool',
    bucket: 'mcp_execute_tool',
    setup: ownConnection,
    call: (c, id) =>
      gql(c, 'mutation($input: ExecuteToolInput!) { executeTool(input: $input) { id status } }', {
        input: { connectionId: id, toolName: 'echo', arguments: { message: 'hi' } },
      }),
  },
  {
    door: 'GraphQL',
    entry: 'startExecution',
    bucket: 'mcp_execute_tool',
    setup: ownConnection,
    call: (c, id) =>
      gql(c, 'mutation($input: ExecuteToolInput!) { startExecution(input: $input) { id } }', {
        input: { connectionId: id, toolName: 'echo', arguments: { message: 'hi' } },
      }),
  },
  {
    door: 'GraphQL',
    entry: 'disconnect',
    bucket: 'mcp_disconnect',
    setup: ownConnection,
    call: (c, id) => gql(c, 'mutation($id: ID!) { disconnect(id: $id) { id } }', { id }),
  },
  {
    door: 'GraphQL',
    entry: 'cancelExecution',
    bucket: 'mcp_disconnect',
    // An unknown execution: the limit is drawn before the lookup, so the outcome does not matter.
    call: (c) => gql(c, 'mutation($id: ID!) { cancelExecution(id: $id) { id } }', { id: randomUUID() }),
  },
];

describe('every limited entry point draws from its bucket', () => {
  it.each(cases)('$door $entry ($bucket)', async ({ entry, bucket, setup, call }) => {
    const caller = await freshCaller(bucket);
    const target = setup ? await setup(caller) : '';
    const capacity = windowCapacity(RULES[bucket], 'agent');
    const outcomes: Outcome[] = [];
    for (let i = 0; i <= capacity; i += 1) outcomes.push(await call(caller, target));

    const allowed = outcomes.slice(0, capacity);
    expect(
      allowed.filter((o) => o.limited),
      `${entry}: limited within its ${capacity} allowed calls`,
    ).toEqual([]);
    expect(outcomes[capacity], `${entry}: call ${capacity + 1} of a ${capacity}-call window`).toMatchObject({ limited: true });
  });
});

describe('GraphQL behind a trusted proxy', () => {
  it('counts each client under the address the proxy appended, not under the proxy', async () => {
    const perAgent = windowCapacity(RULES.mcp_discover_tools, 'agent');
    const perIp = windowCapacity(RULES.mcp_discover_tools, 'ip');
    const search = async (agent: TestAgent, forwardedFor: string) =>
      gql({ agent, headers: { 'x-forwarded-for': forwardedFor } }, 'query { searchTools(query: "echo", limit: 1) { score } }', {});
    const freshAgent = () => gw.agent(`proxied-${randomUUID().slice(0, 8)}`, 'wiring');

    // Several agents fill the window of one client address without reaching their own limits.
    for (let spent = 0; spent < perIp;) {
      const agent = await freshAgent();
      for (let i = 0; i < perAgent && spent < perIp; i += 1, spent += 1) {
        expect(await search(agent, '10.78.0.1'), `call ${spent + 1} of the address's ${perIp}`).toMatchObject({ limited: false });
      }
    }
    expect(await search(await freshAgent(), '10.78.0.1'), 'a fresh agent at the full address').toMatchObject({ limited: true });
    expect(await search(await freshAgent(), '10.78.0.2'), 'a neighbour behind the same proxy').toMatchObject({ limited: false });
  });
});
