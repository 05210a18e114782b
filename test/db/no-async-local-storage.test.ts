/**
 * No request runs an AsyncLocalStorage: the first `run` (or `enterWith`) of a process switches on
 * Node's promise hooks for good, and every promise of every later request pays for them. MikroORM's
 * `findAndCount`, `flush()` and `transactional()` each run one; the repositories use none of them.
 * Every list the doors serve (REST, GraphQL, the MCP endpoint's catalogue), a create (its tools written
 * in a transaction) and a tool call go through here, on SQLite and on PostgreSQL.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createConnection } from '../helpers/connections.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

let gw: TestGateway;
let upstream: TestUpstream;
let admin: TestAgent;

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), startTestUpstream()]);
  admin = await gw.agent('als-admin', 'als-ns', 'admin');
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

async function ok(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<unknown> {
  const response = await gw.request(path, { token: admin.token, ...init });
  expect(response.status, `${init.method ?? 'GET'} ${path}`).toBeLessThan(300);
  return response.json();
}

describe('requests and AsyncLocalStorage', () => {
  it('no door runs one: lists, a create, a tool call', async () => {
    const run = vi.spyOn(AsyncLocalStorage.prototype, 'run');
    const enterWith = vi.spyOn(AsyncLocalStorage.prototype, 'enterWith');
    try {
      const id = await createConnection(gw, admin, 'als-up', upstream.url);
      await ok(`/api/v1/mcp/connections/${id}/tools/add/execute`, { method: 'POST', body: { arguments: { a: 1, b: 2 } } });
      await ok('/api/v1/mcp/connections');
      const graphql = (await ok('/graphql', {
        method: 'POST',
        body: {
          query: '{ connections { totalCount } executions { totalCount } governanceAudit { totalCount } }',
        },
      })) as { data?: unknown; errors?: unknown };
      expect(graphql.errors).toBeUndefined();
      const mcp = (await ok('/mcp', {
        method: 'POST',
        headers: { accept: 'application/json, text/event-stream' },
        body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'als-up__add', arguments: { a: 2, b: 3 } } },
      })) as { result?: { structuredContent?: unknown } };
      expect(mcp.result?.structuredContent).toEqual({ sum: 5 });
      expect(run.mock.calls.length + enterWith.mock.calls.length).toBe(0);
    } finally {
      run.mockRestore();
      enterWith.mockRestore();
    }
  });
});
