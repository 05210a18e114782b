/**
 * Namespace and ownership isolation through every GraphQL field: an agent
 * never sees another agent's data unless it is an admin of the same
 * namespace, and no role crosses namespaces (SPEC §3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CancelExecutionDocument,
  ConnectionDocument,
  ConnectionsDocument,
  ConnectionStatusChangedDocument,
  DisconnectDocument,
  ExecuteToolDocument,
  ExecutionDocument,
  ExecutionProgressDocument,
  ExecutionsDocument,
  ExecutionUpdatesDocument,
  RefreshToolsDocument,
  SearchToolsDocument,
  StartExecutionDocument,
  type ExecutionUpdatesSubscription,
} from '../gql/graphql.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';
import { codes, collect, data, EventReader, graphql, sse, wsClient, type GraphQLPayload } from './client.js';
import { createConnection } from './fixtures.js';

let gw: TestGateway;
let upstream: TestUpstream;
let owner: TestAgent;
let peer: TestAgent;
let admin: TestAgent;
let outsider: TestAgent;
let outsideAdmin: TestAgent;
/** Connection per agent (each viewer has its own, for positive controls). */
const connectionOf = new Map<string, string>();
let ownerExecution: string;

const connect = (agent: TestAgent, name: string) => createConnection(gw, agent, name, upstream.url);

async function echo(agent: TestAgent, message: string): Promise<string> {
  const input = { connectionId: connectionOf.get(agent.id)!, toolName: 'echo', arguments: { message } };
  return (await data(gw, ExecuteToolDocument, { input }, agent.token)).executeTool!.id;
}

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), startTestUpstream()]);
  owner = await gw.agent('iso-owner', 'iso-ns-1');
  peer = await gw.agent('iso-peer', 'iso-ns-1');
  admin = await gw.agent('iso-admin', 'iso-ns-1', 'admin');
  outsider = await gw.agent('iso-outsider', 'iso-ns-2');
  outsideAdmin = await gw.agent('iso-outside-admin', 'iso-ns-2', 'admin');
  for (const agent of [owner, peer, outsider, outsideAdmin]) connectionOf.set(agent.id, await connect(agent, `iso-${agent.id}`));
  ownerExecution = await echo(owner, 'secret payload');
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

const ownerConnection = () => connectionOf.get(owner.id)!;

/** What `viewer` may see of an agent's data in these tests: its own; its namespace's if admin (namespace 2 only here). */
const visibleTo = (viewer: TestAgent, agentId: string) =>
  agentId === viewer.id || (viewer.role === 'admin' && viewer.namespace === 'iso-ns-2' && agentId.startsWith('iso-outside'));

describe.each([
  ['an agent of another namespace', () => outsider],
  ['an admin of another namespace', () => outsideAdmin],
  ['another agent of the same namespace', () => peer],
])('%s', (_label, viewerOf) => {
  it('does not see the owner’s connections, executions or tools in lists and searches', async () => {
    const viewer = viewerOf();
    const visible = (agentId: string) => visibleTo(viewer, agentId);
    const connections = await data(gw, ConnectionsDocument, { first: 50 }, viewer.token);
    const connectionIds = connections.connections!.edges.map((e) => e.node.id);
    expect(connectionIds).toContain(connectionOf.get(viewer.id));
    expect(connectionIds).not.toContain(ownerConnection());
    expect(connections.connections!.edges.every((e) => e.node.namespace === viewer.namespace && visible(e.node.agentId))).toBe(true);
    expect(connections.connections!.totalCount).toBe(connectionIds.length);
    const executions = await data(gw, ExecutionsDocument, { first: 50 }, viewer.token);
    expect(executions.executions!.edges.map((e) => e.node.id)).not.toContain(ownerExecution);
    expect(executions.executions!.edges.every((e) => visible(e.node.agentId))).toBe(true);
    const matches = await data(gw, SearchToolsDocument, { query: 'echo the message back', limit: 50 }, viewer.token);
    expect(matches.searchTools!.map((m) => m.connectionId)).not.toContain(ownerConnection());
  });

  it('gets AUTHORIZATION_ERROR for the owner’s ids on every query and mutation', async () => {
    const { token } = viewerOf();
    const id = ownerConnection();
    const input = { connectionId: id, toolName: 'echo', arguments: { message: 'x' } };
    const attempts = [
      graphql(gw, ConnectionDocument, { id }, token),
      graphql(gw, ExecutionDocument, { id: ownerExecution }, token),
      graphql(gw, ExecutionsDocument, { connectionId: id }, token),
      graphql(gw, RefreshToolsDocument, { id }, token),
      graphql(gw, DisconnectDocument, { id }, token),
      graphql(gw, ExecuteToolDocument, { input }, token),
      graphql(gw, StartExecutionDocument, { input }, token),
      graphql(gw, CancelExecutionDocument, { id: ownerExecution }, token),
    ];
    for (const result of await Promise.all(attempts)) {
      expect(codes(result)).toEqual(['AUTHORIZATION_ERROR']);
      // Nothing of the owner's leaks: the field is null (lists and nullable fields alike).
      expect(Object.values(result.body.data ?? {}).every((value) => value === null)).toBe(true);
      expect(JSON.stringify(result.body)).not.toContain('secret payload');
    }
    expect((await data(gw, ConnectionDocument, { id }, owner.token)).connection!.status).toBe('ACTIVE');
  });

  it('cannot follow the owner’s execution (SSE and graphql-ws)', async () => {
    const { token } = viewerOf();
    const subscription = await sse(gw, ExecutionProgressDocument, { executionId: ownerExecution }, token);
    const events = await collect(subscription.events);
    expect(events.flatMap((e) => codes(e))).toEqual(['AUTHORIZATION_ERROR']);
    const client = wsClient(gw, token);
    try {
      const overWs = await collect(client.subscribe(ExecutionProgressDocument, { executionId: ownerExecution }));
      expect(overWs.flatMap((e) => codes(e))).toEqual(['AUTHORIZATION_ERROR']);
    } finally {
      await client.dispose();
    }
  });

  it('never receives the owner’s events on executionUpdates or connectionStatusChanged', async () => {
    const viewer = viewerOf();
    const updates = await sse(gw, ExecutionUpdatesDocument, {}, viewer.token);
    const statuses = await sse(gw, ConnectionStatusChangedDocument, {}, viewer.token);
    const ownerRun = await echo(owner, 'not for you');
    const ownerTemp = await connect(owner, `iso-temp-${viewer.id}`);
    await data(gw, DisconnectDocument, { id: ownerTemp }, owner.token);
    // Positive controls, published after the owner's events: once they arrive, the owner's would have too.
    const ownRun = await echo(viewer, 'mine');
    const ownTemp = await connect(viewer, `iso-own-${viewer.id}`);
    const seenUpdates = await collect(
      updates.events,
      (e) => e.data?.executionUpdates.execution.id === ownRun && e.data.executionUpdates.type === 'COMPLETED',
    );
    const seenStatuses = await collect(statuses.events, (e) => e.data?.connectionStatusChanged.id === ownTemp);
    updates.close();
    statuses.close();
    expect(seenUpdates.map((e) => e.data!.executionUpdates.execution.id)).not.toContain(ownerRun);
    expect(seenUpdates.every((e) => visibleTo(viewer, e.data!.executionUpdates.execution.agentId))).toBe(true);
    expect(seenStatuses.map((e) => e.data!.connectionStatusChanged.id)).not.toContain(ownerTemp);
    expect(seenStatuses.every((e) => visibleTo(viewer, e.data!.connectionStatusChanged.agentId))).toBe(true);
  });

  it('never receives the owner’s events on executionUpdates over graphql-ws', async () => {
    const viewer = viewerOf();
    const client = wsClient(gw, `Bearer ${viewer.token}`);
    try {
      const reader = new EventReader(client.subscribe(ExecutionUpdatesDocument));
      const isCompletion = (id: string) => (e: GraphQLPayload<ExecutionUpdatesSubscription>) =>
        e.data?.executionUpdates.execution.id === id && e.data.executionUpdates.type === 'COMPLETED';
      // The socket subscribes asynchronously: repeat a control run until one is seen.
      let subscribed = false;
      for (let attempt = 0; attempt < 30 && !subscribed; attempt++) {
        const probe = await echo(viewer, `probe ${attempt}`);
        subscribed = (await reader.until(isCompletion(probe), 1_000).catch(() => [])).length > 0;
      }
      expect(subscribed).toBe(true);
      const ownerRun = await echo(owner, 'not for you either');
      const ownRun = await echo(viewer, 'mine again');
      const after = await reader.until(isCompletion(ownRun));
      expect(after.map((e) => e.data!.executionUpdates.execution.id)).toContain(ownRun);
      expect(after.map((e) => e.data!.executionUpdates.execution.id)).not.toContain(ownerRun);
      expect(after.every((e) => visibleTo(viewer, e.data!.executionUpdates.execution.agentId))).toBe(true);
    } finally {
      await client.dispose();
    }
  });
});

describe('an admin of the same namespace', () => {
  it('reads the owner’s connections and executions', async () => {
    const connections = await data(gw, ConnectionsDocument, { first: 50 }, admin.token);
    expect(connections.connections!.edges.map((e) => e.node.id)).toEqual(
      expect.arrayContaining([ownerConnection(), connectionOf.get(peer.id)]),
    );
    expect(connections.connections!.edges.map((e) => e.node.id)).not.toContain(connectionOf.get(outsider.id));
    expect((await data(gw, ExecutionDocument, { id: ownerExecution }, admin.token)).execution!.agentId).toBe(owner.id);
    const executions = await data(gw, ExecutionsDocument, { connectionId: ownerConnection() }, admin.token);
    expect(executions.executions!.edges.map((e) => e.node.id)).toContain(ownerExecution);
  });

  it('may not execute tools on the owner’s connection', async () => {
    const input = { connectionId: ownerConnection(), toolName: 'echo', arguments: { message: 'x' } };
    expect(codes(await graphql(gw, ExecuteToolDocument, { input }, admin.token))).toEqual(['AUTHORIZATION_ERROR']);
    expect(codes(await graphql(gw, StartExecutionDocument, { input }, admin.token))).toEqual(['AUTHORIZATION_ERROR']);
  });

  it('may cancel the owner’s running execution and sees it on executionUpdates', async () => {
    const updates = await sse(gw, ExecutionUpdatesDocument, {}, admin.token);
    const input = { connectionId: ownerConnection(), toolName: 'slow', arguments: { ms: 20_000 } };
    const running = (await data(gw, StartExecutionDocument, { input }, owner.token)).startExecution!;
    const cancelled = await data(gw, CancelExecutionDocument, { id: running.id }, admin.token);
    expect(cancelled.cancelExecution!.status).toBe('CANCELLED');
    const events = await collect(updates.events, (e) => e.data?.executionUpdates.type === 'CANCELLED');
    updates.close();
    expect(
      events
        .map((e) => e.data!.executionUpdates)
        .filter((e) => e.execution.id === running.id)
        .map((e) => e.type),
    ).toEqual(['STATE', 'CANCELLED']);
  });

  it('may disconnect the owner’s connection', async () => {
    const temp = await connect(owner, 'iso-admin-closes');
    expect((await data(gw, DisconnectDocument, { id: temp }, admin.token)).disconnect!.status).toBe('DISCONNECTED');
  });
});
