import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ConnectionDocument,
  ConnectionsDocument,
  CreateConnectionDocument,
  DisconnectDocument,
  RefreshToolsDocument,
} from '../gql/graphql.js';
import { sharedEverythingUrl } from '../helpers/everything-server.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';
import { codes, data, graphql } from './client.js';
import { createConnection } from './fixtures.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let gw: TestGateway;
const everything = { url: sharedEverythingUrl() };
let agent: TestAgent;

beforeAll(async () => {
  gw = await startGateway();
  agent = await gw.agent('gql-conn-agent', 'gql-conn-ns');
});
afterAll(async () => {
  await gw?.close();
});

const create = (input: { serverName: string; url: string; timeout?: number | null; headers?: unknown }, token = agent.token) =>
  graphql(gw, CreateConnectionDocument, { input }, token);

describe('createConnection', () => {
  it('connects to the everything server and returns the active connection with its tools', async () => {
    const result = await create({ serverName: 'everything', url: everything.url });
    expect(result.body.errors).toBeUndefined();
    const connection = result.body.data!.createConnection!;
    expect(connection).toMatchObject({
      serverName: 'everything',
      status: 'ACTIVE',
      namespace: 'gql-conn-ns',
      agentId: agent.id,
      url: everything.url,
      timeout: 30,
      errorMessage: null,
      disconnectedAt: null,
    });
    expect(connection.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(connection.connectedAt).toMatch(ISO);
    expect(connection.createdAt).toMatch(ISO);
    const echo = connection.tools.find((t) => t.name === 'echo');
    expect(echo).toMatchObject({ name: 'echo', description: expect.any(String), inputSchema: { type: 'object' } });
  });

  it('uses the same UUID as the REST bridge', async () => {
    const list = await data(gw, ConnectionsDocument, {}, agent.token);
    const id = list.connections!.edges[0]!.node.id;
    const rest = await gw.request(`/api/v1/mcp/connections/${id}`, { token: agent.token });
    expect(rest.status).toBe(200);
    expect(((await rest.json()) as { id: string }).id).toBe(id);
  });

  it('refuses a second live connection with the same name: DUPLICATE_CONNECTION', async () => {
    expect(codes(await create({ serverName: 'everything', url: everything.url }))).toEqual(['DUPLICATE_CONNECTION']);
  });

  it.each([
    [{ serverName: 'bad name!', url: 'http://127.0.0.1:1/mcp' }, 'input.serverName'],
    [{ serverName: 'x'.repeat(101), url: 'http://127.0.0.1:1/mcp' }, 'input.serverName'],
    [{ serverName: 'ok', url: 'ftp://example.com/mcp' }, 'input.url'],
    [{ serverName: 'ok', url: 'http://127.0.0.1:1/mcp', timeout: 4 }, 'input.timeout'],
    [{ serverName: 'ok', url: 'http://127.0.0.1:1/mcp', timeout: 301 }, 'input.timeout'],
    [{ serverName: 'ok', url: 'http://127.0.0.1:1/mcp', headers: 'Bearer x' }, 'input.headers'],
    [{ serverName: 'ok', url: 'http://127.0.0.1:1/mcp', headers: { 'bad header': 'x' } }, 'input.headers'],
  ])('refuses invalid input %j with VALIDATION_ERROR naming %s', async (input, field) => {
    const result = await create(input);
    expect(codes(result)).toEqual(['VALIDATION_ERROR']);
    expect(String(result.body.errors![0]!.extensions!.details!.field)).toMatch(new RegExp(`^${field.replace('.', '\\.')}`));
  });

  it('refuses a wrongly typed input before running anything (GraphQL variable validation)', async () => {
    const result = await graphql(
      gw,
      CreateConnectionDocument,
      { input: { serverName: 'x', url: 'http://a', timeout: 'soon' } } as never,
      agent.token,
    );
    expect(codes(result)).toEqual(['VALIDATION_ERROR']);
  });

  it('reports an unreachable upstream as EXTERNAL_SERVICE_ERROR and leaves the name free', async () => {
    const port = await freePort();
    const result = await create({ serverName: 'nowhere', url: `http://127.0.0.1:${port}/mcp`, timeout: 5 });
    expect(codes(result)).toEqual(['EXTERNAL_SERVICE_ERROR']);
    const retry = await create({ serverName: 'nowhere', url: everything.url });
    expect(retry.body.data?.createConnection!.status).toBe('ACTIVE');
  });

  it('sends the stored headers upstream and never returns them', async () => {
    const guarded = await startTestUpstream({ requiredHeaders: { authorization: 'Bearer upstream-secret' } });
    try {
      const result = await create({ serverName: 'guarded', url: guarded.url, headers: { Authorization: 'Bearer upstream-secret' } });
      expect(result.body.data?.createConnection!.status).toBe('ACTIVE');
      expect(JSON.stringify(result.body)).not.toContain('upstream-secret');
      expect(guarded.state().unauthorized).toBe(0);
    } finally {
      await guarded.stop();
    }
  });
});

describe('connections and connection(id)', () => {
  it('pages with first/after and reports totalCount', async () => {
    const all = await data(gw, ConnectionsDocument, { first: 50 }, agent.token);
    const total = all.connections!.totalCount;
    expect(total).toBeGreaterThanOrEqual(3);
    expect(all.connections!.edges).toHaveLength(total);

    const first = await data(gw, ConnectionsDocument, { first: 1 }, agent.token);
    expect(first.connections!.totalCount).toBe(total);
    expect(first.connections!.edges).toHaveLength(1);
    expect(first.connections!.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await data(gw, ConnectionsDocument, { first: 1, after: first.connections!.pageInfo.endCursor }, agent.token);
    expect(second.connections!.edges[0]!.node.id).toBe(all.connections!.edges[1]!.node.id);
    expect(second.connections!.pageInfo.hasPreviousPage).toBe(true);
  });

  it('pages by cursor: a connection disconnected between two pages does not push a row off the next one', async () => {
    const owner = await gw.agent('gql-conn-pager', 'gql-conn-pager-ns');
    const ids: string[] = [];
    for (const name of ['oldest', 'older', 'newer', 'newest']) ids.push(await createConnection(gw, owner, name, everything.url));
    const names = (page: { connections: { edges: { node: { serverName: string } }[] } | null }) =>
      page.connections!.edges.map((e) => e.node.serverName);

    const first = await data(gw, ConnectionsDocument, { first: 2 }, owner.token);
    expect(names(first)).toEqual(['newest', 'newer']);
    await data(gw, DisconnectDocument, { id: ids[3]! }, owner.token);
    const second = await data(gw, ConnectionsDocument, { first: 2, after: first.connections!.pageInfo.endCursor }, owner.token);
    expect(names(second)).toEqual(['older', 'oldest']);
    expect(second.connections!.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect(second.connections!.totalCount).toBe(3);
  });

  it('filters by status', async () => {
    const active = await data(gw, ConnectionsDocument, { status: 'ACTIVE' }, agent.token);
    expect(active.connections!.edges.every((e) => e.node.status === 'ACTIVE')).toBe(true);
    const connecting = await data(gw, ConnectionsDocument, { status: 'CONNECTING' }, agent.token);
    expect(connecting.connections!.totalCount).toBe(0);
  });

  it.each([
    [{ first: 0 }],
    [{ first: 101 }],
    [{ after: 'not-a-cursor' }],
    [{ after: Buffer.from('arrayconnection:1').toString('base64') }],
    [{ after: '' }],
  ])('refuses %j with VALIDATION_ERROR', async (args) => {
    expect(codes(await graphql(gw, ConnectionsDocument, args, agent.token))).toEqual(['VALIDATION_ERROR']);
  });

  it('answers the other fields of a request whose list fails (a stale cursor voids only its own field)', async () => {
    const result = await graphql(
      gw,
      'query { me { id } gatewayStatus { degraded } connections(after: "stale") { totalCount } executions(first: 1) { totalCount } }',
      {},
      agent.token,
    );
    expect(codes(result)).toEqual(['VALIDATION_ERROR']);
    expect(result.body.errors?.[0]?.path).toEqual(['connections']);
    expect(result.body.data).toMatchObject({ me: { id: agent.id }, gatewayStatus: {}, connections: null, executions: { totalCount: 0 } });
  });

  it('loads the tools of every listed connection in one batch (no N+1)', async () => {
    const spy = vi.spyOn(gw.gateway.services.connectionRepository, 'cataloguesOf');
    try {
      const list = await data(gw, ConnectionsDocument, {}, agent.token);
      expect(list.connections!.edges.length).toBeGreaterThanOrEqual(3);
      expect(list.connections!.edges.every((e) => e.node.tools.length > 0)).toBe(true);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('reads one connection; unknown ids are CONNECTION_NOT_FOUND', async () => {
    const list = await data(gw, ConnectionsDocument, {}, agent.token);
    const id = list.connections!.edges[0]!.node.id;
    const one = await data(gw, ConnectionDocument, { id }, agent.token);
    expect(one.connection!.id).toBe(id);
    expect(codes(await graphql(gw, ConnectionDocument, { id: '6f0e4a8e-0000-4000-8000-000000000000' }, agent.token))).toEqual([
      'CONNECTION_NOT_FOUND',
    ]);
    expect(codes(await graphql(gw, ConnectionDocument, { id: 'not-a-uuid' }, agent.token))).toEqual(['CONNECTION_NOT_FOUND']);
  });
});

describe('refreshTools and disconnect', () => {
  let id: string;
  beforeAll(async () => {
    const created = await create({ serverName: 'lifecycle', url: everything.url });
    id = created.body.data!.createConnection!.id;
  });

  it('re-lists the tools from the upstream', async () => {
    const refreshed = await data(gw, RefreshToolsDocument, { id }, agent.token);
    expect(refreshed.refreshTools!.status).toBe('ACTIVE');
    expect(refreshed.refreshTools!.tools.map((t) => t.name)).toContain('trigger-long-running-operation');
  });

  it('disconnects (DISCONNECTED, out of the default list, shown with status filter), idempotently', async () => {
    const first = await data(gw, DisconnectDocument, { id }, agent.token);
    expect(first.disconnect!.status).toBe('DISCONNECTED');
    expect(first.disconnect!.disconnectedAt).toMatch(ISO);
    const again = await data(gw, DisconnectDocument, { id }, agent.token);
    expect(again.disconnect).toEqual(first.disconnect);
    const live = await data(gw, ConnectionsDocument, { first: 50 }, agent.token);
    expect(live.connections!.edges.map((e) => e.node.id)).not.toContain(id);
    const closed = await data(gw, ConnectionsDocument, { status: 'DISCONNECTED' }, agent.token);
    expect(closed.connections!.edges.map((e) => e.node.id)).toContain(id);
    expect((await data(gw, ConnectionDocument, { id }, agent.token)).connection!.status).toBe('DISCONNECTED');
  });

  it('refuses to refresh a disconnected connection: CONNECTION_NOT_ACTIVE; the name is free again', async () => {
    expect(codes(await graphql(gw, RefreshToolsDocument, { id }, agent.token))).toEqual(['CONNECTION_NOT_ACTIVE']);
    const reused = await create({ serverName: 'lifecycle', url: everything.url });
    expect(reused.body.data?.createConnection!.status).toBe('ACTIVE');
  });

  it('reports EXTERNAL_SERVICE_ERROR when the upstream is gone', async () => {
    let upstream: TestUpstream | undefined = await startTestUpstream();
    try {
      const created = await create({ serverName: 'short-lived', url: upstream.url, timeout: 5 });
      const upstreamId = created.body.data!.createConnection!.id;
      await upstream.stop();
      upstream = undefined;
      expect(codes(await graphql(gw, RefreshToolsDocument, { id: upstreamId }, agent.token))).toEqual(['EXTERNAL_SERVICE_ERROR']);
      expect((await data(gw, ConnectionDocument, { id: upstreamId }, agent.token)).connection!.status).toBe('ERROR');
    } finally {
      await upstream?.stop();
    }
  });

  it('refuses unknown ids: CONNECTION_NOT_FOUND', async () => {
    const unknown = '6f0e4a8e-0000-4000-8000-000000000001';
    expect(codes(await graphql(gw, RefreshToolsDocument, { id: unknown }, agent.token))).toEqual(['CONNECTION_NOT_FOUND']);
    expect(codes(await graphql(gw, DisconnectDocument, { id: unknown }, agent.token))).toEqual(['CONNECTION_NOT_FOUND']);
  });
});
