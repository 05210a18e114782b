import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CancelExecutionDocument,
  ConnectionStatusChangedDocument,
  DisconnectDocument,
  ExecuteToolDocument,
  ExecutionDocument,
  ExecutionProgressDocument,
  ExecutionsDocument,
  ExecutionUpdatesDocument,
  SearchToolsDocument,
  StartExecutionDocument,
  type ExecutionProgressSubscription,
} from '../gql/graphql.js';
import { sharedEverythingUrl } from '../helpers/everything-server.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';
import { codes, collect, data, graphql, sse, wsClient, type GraphQLPayload } from './client.js';
import { createConnection } from './fixtures.js';

let gw: TestGateway;
const everything = { url: sharedEverythingUrl() };
let upstream: TestUpstream;
let agent: TestAgent;
let everythingId: string;
let testId: string;

const LONG_RUN = { duration: 2, steps: 4 };

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), startTestUpstream()]);
  agent = await gw.agent('gql-exec-agent', 'gql-exec-ns');
  everythingId = await createConnection(gw, agent, 'everything', everything.url);
  testId = await createConnection(gw, agent, 'test-upstream', upstream.url);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

const execute = (toolName: string, args: unknown, connectionId = everythingId) =>
  graphql(gw, ExecuteToolDocument, { input: { connectionId, toolName, arguments: args } }, agent.token);

const start = async (toolName: string, args: unknown, connectionId = everythingId) =>
  (await data(gw, StartExecutionDocument, { input: { connectionId, toolName, arguments: args } }, agent.token)).startExecution!;

type Event = ExecutionProgressSubscription['executionProgress'];
const eventsOf = (payloads: GraphQLPayload<ExecutionProgressSubscription>[]): Event[] =>
  payloads.map((p) => {
    if (p.errors?.length || !p.data) throw new Error(`subscription error: ${JSON.stringify(p.errors)}`);
    return p.data.executionProgress;
  });

/** ≥4 PROGRESS events with increasing progress out of 4, then exactly one terminal event, last. */
function expectLongRunStream(events: Event[], firstStatus = 'RUNNING') {
  expect(events[0]).toMatchObject({ type: 'STATE', execution: { status: firstStatus } });
  const progress = events.filter((e) => e.type === 'PROGRESS');
  expect(progress.length).toBeGreaterThanOrEqual(4);
  const values = progress.map((e) => e.progress!);
  expect(values).toEqual([...values].sort((a, b) => a - b));
  expect(progress.at(-1)).toMatchObject({ progress: 4, total: 4 });
  // Each event shows the execution as of that event: the last PROGRESS one is still RUNNING.
  expect(progress.map((e) => e.execution.status)).toEqual(progress.map(() => 'RUNNING'));
  expect(events.at(-1)).toMatchObject({ type: 'COMPLETED', execution: { status: 'COMPLETED', isError: false } });
  expect(events.filter((e) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(e.type))).toHaveLength(1);
}

describe('executeTool', () => {
  it('waits and returns the finished execution with the relayed result', async () => {
    const result = await execute('echo', { message: 'hello graphql' });
    expect(result.body.errors).toBeUndefined();
    const execution = result.body.data!.executeTool!;
    expect(execution).toMatchObject({
      connectionId: everythingId,
      agentId: agent.id,
      toolName: 'echo',
      source: 'GRAPHQL',
      status: 'COMPLETED',
      isError: false,
      arguments: { message: 'hello graphql' },
      errorCode: null,
      resultTruncated: false,
    });
    expect(execution.content).toEqual([{ type: 'text', text: 'Echo: hello graphql' }]);
    expect(execution.result).toBe('Echo: hello graphql');
    expect(execution.durationMs).toBeGreaterThanOrEqual(0);
    expect(execution.finishedAt).toBeTruthy();
  });

  it('relays structuredContent as the primary result', async () => {
    const execution = (await execute('add', { a: 2, b: 40 }, testId)).body.data!.executeTool!;
    expect(execution.structuredContent).toEqual({ sum: 42 });
    expect(execution.result).toEqual({ sum: 42 });
  });

  it('reports an upstream tool error as COMPLETED with isError', async () => {
    const execution = (await execute('fail', { message: 'nope' }, testId)).body.data!.executeTool!;
    expect(execution).toMatchObject({ status: 'COMPLETED', isError: true, content: [{ type: 'text', text: 'nope' }] });
  });

  it('refuses an unknown tool: TOOL_NOT_FOUND', async () => {
    expect(codes(await execute('no-such-tool', {}))).toEqual(['TOOL_NOT_FOUND']);
  });

  it('checks arguments against the input schema before calling upstream: VALIDATION_ERROR', async () => {
    const calls = upstream.state().calls.add ?? 0;
    const result = await execute('add', { a: 'two' }, testId);
    expect(codes(result)).toEqual(['VALIDATION_ERROR']);
    expect(String(result.body.errors![0]!.extensions!.details!.field)).toMatch(/^input\.arguments/);
    expect(upstream.state().calls.add ?? 0).toBe(calls);
    expect(codes(await execute('echo', [1, 2]))).toEqual(['VALIDATION_ERROR']);
  });

  it('refuses unknown connections: CONNECTION_NOT_FOUND', async () => {
    expect(codes(await execute('echo', { message: 'x' }, '6f0e4a8e-0000-4000-8000-000000000002'))).toEqual(['CONNECTION_NOT_FOUND']);
  });

  it('refuses a disconnected connection: CONNECTION_NOT_ACTIVE', async () => {
    const temp = await createConnection(gw, agent, 'closing', upstream.url);
    await data(gw, DisconnectDocument, { id: temp }, agent.token);
    expect(codes(await execute('echo', { message: 'x' }, temp))).toEqual(['CONNECTION_NOT_ACTIVE']);
  });
});

describe('executions and execution(id)', () => {
  it('lists executions with filters, totalCount and one batched connection lookup', async () => {
    const spy = vi.spyOn(gw.gateway.services.connections, 'readMany');
    try {
      const all = await data(gw, ExecutionsDocument, { first: 50 }, agent.token);
      expect(all.executions!.totalCount).toBeGreaterThanOrEqual(3);
      expect(all.executions!.edges.every((e) => e.node.connection.id === e.node.connectionId)).toBe(true);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
    const onTest = await data(gw, ExecutionsDocument, { connectionId: testId }, agent.token);
    expect(onTest.executions!.edges.every((e) => e.node.connectionId === testId)).toBe(true);
    expect(onTest.executions!.totalCount).toBeGreaterThanOrEqual(2);
    const completed = await data(gw, ExecutionsDocument, { status: 'COMPLETED', first: 1 }, agent.token);
    expect(completed.executions!.edges).toHaveLength(1);
    expect(completed.executions!.pageInfo.hasNextPage).toBe(true);
  });

  it('pages by cursor: calls made between two pages neither repeat nor shift a row', async () => {
    const caller = await gw.agent('gql-exec-pager', 'gql-exec-pager-ns');
    const connectionId = await createConnection(gw, caller, 'pager', upstream.url);
    const echo = (message: string) =>
      data(gw, ExecuteToolDocument, { input: { connectionId, toolName: 'echo', arguments: { message } } }, caller.token);
    const messages = (page: { executions: { edges: { node: { arguments: unknown } }[] } | null }) =>
      page.executions!.edges.map((e) => (e.node.arguments as { message: string }).message);
    for (const message of ['a', 'b', 'c', 'd']) await echo(message);

    const first = await data(gw, ExecutionsDocument, { first: 2 }, caller.token);
    expect(messages(first)).toEqual(['d', 'c']);
    await echo('e');
    await echo('f');
    const second = await data(gw, ExecutionsDocument, { first: 2, after: first.executions!.pageInfo.endCursor }, caller.token);
    expect(messages(second)).toEqual(['b', 'a']);
    expect(second.executions!.pageInfo.hasNextPage).toBe(false);
    expect(second.executions!.totalCount).toBe(6);

    // A cursor of another list names another field: refused, not read as a position here.
    const connections = await data(gw, 'query { connections(first: 1) { pageInfo { endCursor } } }', {}, caller.token);
    const foreign = (connections as { connections: { pageInfo: { endCursor: string } } }).connections.pageInfo.endCursor;
    expect(codes(await graphql(gw, ExecutionsDocument, { first: 2, after: foreign }, caller.token))).toEqual(['VALIDATION_ERROR']);
  });

  it('keeps the X-Request-ID of the call that started an execution, so an answer can be traced to its audit row', async () => {
    const response = await gw.request(`/api/v1/mcp/connections/${testId}/tools/echo/execute`, {
      method: 'POST',
      token: agent.token,
      headers: { 'x-request-id': 'trace-7f3a.echo_1' },
      body: { arguments: { message: 'traced' } },
    });
    expect(response.headers.get('x-request-id')).toBe('trace-7f3a.echo_1');
    const { execution_id: id } = (await response.json()) as { execution_id: string };
    const read = await data(gw, 'query($id: ID!) { execution(id: $id) { requestId } }', { id }, agent.token);
    expect((read as { execution: { requestId: string | null } }).execution.requestId).toBe('trace-7f3a.echo_1');
  });

  it('reads one execution; unknown ids are EXECUTION_NOT_FOUND, unknown connection filters CONNECTION_NOT_FOUND', async () => {
    const list = await data(gw, ExecutionsDocument, { first: 1 }, agent.token);
    const id = list.executions!.edges[0]!.node.id;
    expect((await data(gw, ExecutionDocument, { id }, agent.token)).execution!.id).toBe(id);
    expect(codes(await graphql(gw, ExecutionDocument, { id: '6f0e4a8e-0000-4000-8000-000000000003' }, agent.token))).toEqual([
      'EXECUTION_NOT_FOUND',
    ]);
    expect(codes(await graphql(gw, ExecutionsDocument, { connectionId: '6f0e4a8e-0000-4000-8000-000000000004' }, agent.token))).toEqual([
      'CONNECTION_NOT_FOUND',
    ]);
  });
});

describe('startExecution and executionProgress', () => {
  it('returns at once with RUNNING', async () => {
    // A 60 s operation: had the mutation waited for it, the test would time out instead of reading RUNNING.
    const execution = await start('trigger-long-running-operation', { duration: 60, steps: 2 });
    expect(execution.status).toBe('RUNNING');
    const cancelled = await graphql(gw, 'mutation($id: ID!) { cancelExecution(id: $id) { status } }', { id: execution.id }, agent.token);
    expect(cancelled.body.errors).toBeUndefined();
  });

  it('streams state, ≥4 progress events in order and COMPLETED over SSE, then completes', async () => {
    const execution = await start('trigger-long-running-operation', LONG_RUN);
    const subscription = await sse(gw, ExecutionProgressDocument, { executionId: execution.id }, agent.token);
    expect(subscription.status).toBe(200);
    expect(subscription.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = eventsOf(await collect(subscription.events));
    expectLongRunStream(events);
  });

  it('streams the same over graphql-ws', async () => {
    const client = wsClient(gw, `Bearer ${agent.token}`);
    try {
      const execution = await start('trigger-long-running-operation', LONG_RUN);
      const events = eventsOf(await collect(client.subscribe(ExecutionProgressDocument, { executionId: execution.id })));
      expectLongRunStream(events);
    } finally {
      await client.dispose();
    }
  });

  it('gives a late subscriber the current state first, then the rest', async () => {
    const execution = await start('trigger-long-running-operation', LONG_RUN);
    await new Promise((r) => setTimeout(r, 1_100));
    const subscription = await sse(gw, ExecutionProgressDocument, { executionId: execution.id }, agent.token);
    const events = eventsOf(await collect(subscription.events));
    expect(events[0]).toMatchObject({ type: 'STATE', execution: { status: 'RUNNING' } });
    expect(events[0]!.progress).toBeGreaterThanOrEqual(1);
    expect(events.filter((e) => e.type === 'PROGRESS').length).toBeLessThan(4);
    expect(events.at(-1)).toMatchObject({ type: 'COMPLETED', execution: { status: 'COMPLETED' } });
  });

  it('gives a subscriber of a finished execution its state and terminal event, then completes', async () => {
    const execution = (await execute('echo', { message: 'done already' })).body.data!.executeTool!;
    const subscription = await sse(gw, ExecutionProgressDocument, { executionId: execution.id }, agent.token);
    const events = eventsOf(await collect(subscription.events));
    expect(events.map((e) => e.type)).toEqual(['STATE', 'COMPLETED']);
    expect(events[0]!.execution.status).toBe('COMPLETED');
  });

  it('refuses an unknown execution: EXECUTION_NOT_FOUND', async () => {
    const subscription = await sse(gw, ExecutionProgressDocument, { executionId: '6f0e4a8e-0000-4000-8000-000000000005' }, agent.token);
    const [first] = await collect(subscription.events);
    expect(codes(first!)).toEqual(['EXECUTION_NOT_FOUND']);
  });
});

describe('cancelExecution', () => {
  it('ends a long run as CANCELLED and forwards the cancellation upstream', async () => {
    const before = upstream.state().cancellations;
    const execution = await start('slow', { ms: 20_000, steps: 20 }, testId);
    const subscription = await sse(gw, ExecutionProgressDocument, { executionId: execution.id }, agent.token);
    const iterator = subscription.events[Symbol.asyncIterator]();
    const seen: Event[] = [];
    // Wait until the upstream is really working on it (first progress), then cancel.
    while (!seen.some((e) => e.type === 'PROGRESS')) seen.push(...eventsOf([(await iterator.next()).value!]));
    const cancelled = await data(gw, CancelExecutionDocument, { id: execution.id }, agent.token);
    expect(cancelled.cancelExecution!).toMatchObject({ id: execution.id, status: 'CANCELLED', errorCode: 'CANCELLED' });
    const rest = eventsOf(await collect({ [Symbol.asyncIterator]: () => iterator }));
    expect(rest.at(-1)).toMatchObject({ type: 'CANCELLED', execution: { status: 'CANCELLED' } });
    await expect.poll(() => upstream.state().cancellations, { timeout: 5_000 }).toBe(before + 1);
    expect((await data(gw, ExecutionDocument, { id: execution.id }, agent.token)).execution!.status).toBe('CANCELLED');
  });

  it('ends a REST execute waiting on it with 200 and status "cancelled"', async () => {
    const call = gw.request(`/api/v1/mcp/connections/${testId}/tools/slow/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: { ms: 20_000, steps: 20 } },
    });
    const running = async () => {
      const { executions } = await data<{ executions: { edges: { node: { id: string } }[] } }>(
        gw,
        'query($c: ID) { executions(status: RUNNING, connectionId: $c, first: 1) { edges { node { id } } } }',
        { c: testId },
        agent.token,
      );
      return executions.edges[0]?.node.id;
    };
    await expect.poll(running, { timeout: 10_000 }).toBeDefined();
    await data(gw, CancelExecutionDocument, { id: (await running())! }, agent.token);
    const answer = await call;
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { result: { status: string; is_error: boolean } };
    expect(body.result).toMatchObject({ status: 'cancelled', is_error: false, result: null, content: [] });
  });

  it('returns a finished execution unchanged', async () => {
    const done = (await execute('echo', { message: 'finished' })).body.data!.executeTool!;
    const again = await data(gw, CancelExecutionDocument, { id: done.id }, agent.token);
    expect(again.cancelExecution!).toMatchObject({ status: 'COMPLETED', errorCode: null });
  });

  it('refuses unknown ids: EXECUTION_NOT_FOUND', async () => {
    expect(codes(await graphql(gw, CancelExecutionDocument, { id: '6f0e4a8e-0000-4000-8000-000000000006' }, agent.token))).toEqual([
      'EXECUTION_NOT_FOUND',
    ]);
  });
});

describe('namespace subscriptions', () => {
  it('executionUpdates delivers the caller’s executions', async () => {
    const subscription = await sse(gw, ExecutionUpdatesDocument, {}, agent.token);
    const execution = (await execute('echo', { message: 'update me' })).body.data!.executeTool!;
    const events = await collect(subscription.events, (e) => e.data?.executionUpdates.type === 'COMPLETED');
    subscription.close();
    const mine = events.map((e) => e.data!.executionUpdates).filter((e) => e.execution.id === execution.id);
    expect(mine.map((e) => e.type)).toEqual(['STATE', 'COMPLETED']);
  });

  it('shows an event’s execution as of that event, even when it is delivered after the call finished', async () => {
    const subscription = await sse(gw, ExecutionUpdatesDocument, {}, agent.token);
    const done = (await execute('echo', { message: 'as of the event' })).body.data!.executeTool!;
    // What a subscriber slower than the call sees: the call's PROGRESS event arrives once its row is COMPLETED.
    gw.gateway.services.events.pubsub.publish('namespace-executions', agent.namespace, {
      type: 'PROGRESS',
      executionId: done.id,
      namespace: agent.namespace,
      agentId: agent.id,
      connectionId: everythingId,
      toolName: 'echo',
      status: 'RUNNING',
      progress: 1,
      total: 2,
      message: 'halfway',
      at: new Date().toISOString(),
    });
    const events = await collect(subscription.events, (e) => e.data?.executionUpdates.type === 'PROGRESS');
    subscription.close();
    const mine = events.map((e) => e.data!.executionUpdates).filter((e) => e.execution.id === done.id);
    expect(mine.map((e) => [e.type, e.execution.status])).toEqual([
      ['STATE', 'RUNNING'],
      ['COMPLETED', 'COMPLETED'],
      ['PROGRESS', 'RUNNING'],
    ]);
    expect(mine.at(-1)).toMatchObject({ progress: 1, total: 2, message: 'halfway', execution: { isError: false } });
  });

  it('connectionStatusChanged reports create and disconnect', async () => {
    const subscription = await sse(gw, ConnectionStatusChangedDocument, {}, agent.token);
    const created = await createConnection(gw, agent, 'watched', everything.url);
    await data(gw, DisconnectDocument, { id: created }, agent.token);
    const events = await collect(subscription.events, (e) => e.data?.connectionStatusChanged.status === 'DISCONNECTED');
    subscription.close();
    const watched = events.map((e) => e.data!.connectionStatusChanged).filter((e) => e.id === created);
    expect(watched.map((e) => e.status)).toEqual(['ACTIVE', 'DISCONNECTED']);
    expect(watched[0]).toMatchObject({ serverName: 'watched', agentId: agent.id });
  });
});

describe('searchTools', () => {
  it('ranks the caller’s live tools', async () => {
    let matches: {
      toolName: string;
      score: number;
      connectionId: string;
      connection: { id: string };
      tool?: { name: string; inputSchema: unknown } | null;
    }[] = [];
    await expect
      .poll(
        async () => {
          matches = (await data(gw, SearchToolsDocument, { query: 'echo back a message', limit: 5 }, agent.token)).searchTools!;
          return matches.map((m) => m.toolName);
        },
        { timeout: 15_000 },
      )
      .toContain('echo');
    expect(matches.length).toBeLessThanOrEqual(5);
    for (const match of matches) {
      expect(match.score).toBeGreaterThanOrEqual(0);
      expect(match.score).toBeLessThanOrEqual(1);
      expect(match.connection.id).toBe(match.connectionId);
      expect(match.tool?.name).toBe(match.toolName);
      expect(match.tool?.inputSchema).toMatchObject({ type: 'object' });
    }
    const scores = matches.map((m) => m.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it.each([
    [{ query: '' }, 'query'],
    [{ query: 'echo', limit: 0 }, 'limit'],
    [{ query: 'echo', limit: 51 }, 'limit'],
  ])('refuses %j with VALIDATION_ERROR on %s', async (args, field) => {
    const result = await graphql(gw, SearchToolsDocument, args, agent.token);
    expect(codes(result)).toEqual(['VALIDATION_ERROR']);
    expect(result.body.errors![0]!.extensions!.details!.field).toBe(field);
  });

  it('answers SERVICE_UNAVAILABLE with retryAfter while the vector store is down', async () => {
    const withoutChroma = await startGateway({ TMWS_CHROMA_URL: `http://127.0.0.1:${await freePort()}` });
    try {
      const caller = await withoutChroma.agent('gql-nochroma', 'gql-nochroma-ns');
      const result = await graphql(withoutChroma, SearchToolsDocument, { query: 'echo' }, caller.token);
      expect(codes(result)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(result.body.errors![0]!.extensions!.retryAfter).toBeGreaterThan(0);
    } finally {
      await withoutChroma.close();
    }
  });
});
