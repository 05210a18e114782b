import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedEverythingUrl } from '../helpers/everything-server.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';

const BASE = '/api/v1/mcp';
let gw: TestGateway;
const upstream = { url: sharedEverythingUrl() };
let owner: TestAgent; // namespace alpha, owns the connection
let peer: TestAgent; // namespace alpha, another agent
let admin: TestAgent; // namespace alpha, admin
let outsider: TestAgent; // namespace beta
let outsiderAdmin: TestAgent; // namespace beta, admin
let connectionId: string;

beforeAll(async () => {
  gw = await startGateway();
  owner = await gw.agent('alpha-owner', 'alpha');
  peer = await gw.agent('alpha-peer', 'alpha');
  admin = await gw.agent('alpha-admin', 'alpha', 'admin');
  outsider = await gw.agent('beta-agent', 'beta');
  outsiderAdmin = await gw.agent('beta-admin', 'beta', 'admin');
  const response = await gw.request(`${BASE}/connections`, {
    method: 'POST',
    token: owner.token,
    body: { server_name: 'shared-name', url: upstream.url },
  });
  connectionId = (await response.json()).id;
});
afterAll(async () => {
  await gw?.close();
});

const routes = () =>
  [
    ['GET', `${BASE}/connections/${connectionId}`, undefined],
    ['GET', `${BASE}/connections/${connectionId}/tools`, undefined],
    ['POST', `${BASE}/connections/${connectionId}/tools/echo/execute`, { arguments: { message: 'x' } }],
    ['DELETE', `${BASE}/connections/${connectionId}`, undefined],
  ] as const;

async function status(method: string, path: string, token: string, body?: unknown) {
  const response = await gw.request(path, { method, token, body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

describe('namespace isolation and ownership (P0-1)', () => {
  it('refuses every route to agents of another namespace with 403, admins included', async () => {
    for (const agent of [outsider, outsiderAdmin]) {
      for (const [method, path, body] of routes()) {
        const result = await status(method, path, agent.token, body);
        expect(result.status, `${agent.id} ${method} ${path}`).toBe(403);
        expect(result.body.error_code).toBe('AUTHORIZATION_ERROR');
      }
    }
  });

  it('refuses every route to another agent of the same namespace with 403', async () => {
    for (const [method, path, body] of routes()) {
      expect((await status(method, path, peer.token, body)).status, `${method} ${path}`).toBe(403);
    }
  });

  it('keeps foreign connections out of lists', async () => {
    for (const agent of [peer, outsider, outsiderAdmin]) {
      const list = (await status('GET', `${BASE}/connections`, agent.token)).body;
      expect(list).toEqual({ connections: [], total: 0 });
    }
  });

  it('lets an admin read and re-discover any connection of its namespace, but not execute on it', async () => {
    const list = (await status('GET', `${BASE}/connections`, admin.token)).body;
    expect(list.connections.map((c: { id: string }) => c.id)).toEqual([connectionId]);
    expect((await status('GET', `${BASE}/connections/${connectionId}`, admin.token)).status).toBe(200);
    expect((await status('GET', `${BASE}/connections/${connectionId}/tools`, admin.token)).status).toBe(200);
    const execute = await status('POST', `${BASE}/connections/${connectionId}/tools/echo/execute`, admin.token, {
      arguments: { message: 'x' },
    });
    expect(execute.status).toBe(403);
  });

  it('lets the owner execute', async () => {
    const result = await status('POST', `${BASE}/connections/${connectionId}/tools/echo/execute`, owner.token, {
      arguments: { message: 'mine' },
    });
    expect(result.status).toBe(200);
  });

  it('refuses a body whose namespace or agent_id differs from the verified ones', async () => {
    const wrongNamespace = await status('POST', `${BASE}/connections`, owner.token, {
      server_name: 'n1',
      url: upstream.url,
      namespace: 'beta',
    });
    expect(wrongNamespace.status).toBe(403);
    expect(wrongNamespace.body.error_code).toBe('AUTHORIZATION_ERROR');
    const wrongAgent = await status('POST', `${BASE}/connections`, owner.token, {
      server_name: 'n2',
      url: upstream.url,
      agent_id: 'alpha-peer',
    });
    expect(wrongAgent.status).toBe(403);
    const matching = await status('POST', `${BASE}/connections`, owner.token, {
      server_name: 'n3',
      url: upstream.url,
      namespace: 'alpha',
      agent_id: 'alpha-owner',
    });
    expect(matching.status).toBe(201);
  });

  it('scopes server_name uniqueness to the agent', async () => {
    const result = await status('POST', `${BASE}/connections`, outsider.token, { server_name: 'shared-name', url: upstream.url });
    expect(result.status).toBe(201);
    expect(result.body.namespace).toBe('beta');
  });

  it('lets an admin disconnect a connection of its namespace', async () => {
    expect((await status('DELETE', `${BASE}/connections/${connectionId}`, admin.token)).status).toBe(204);
    expect((await status('GET', `${BASE}/connections/${connectionId}`, owner.token)).body.status).toBe('disconnected');
  });

  it('keeps the admin statistics route to admins, scoped to their namespace', async () => {
    expect((await status('GET', '/api/v1/admin/rate-limits/statistics', owner.token)).status).toBe(403);
    const stats = await status('GET', '/api/v1/admin/rate-limits/statistics', admin.token);
    expect(stats.status).toBe(200);
    expect(stats.body.namespace).toBe('alpha');
  });
});
