/**
 * A graceful stop (SIGTERM → gateway.close(), see src/main.ts) lets running
 * executions finish within the drain bound and cancels the rest: a call that
 * finishes in time answers 200 with a COMPLETED row; one that would not is
 * cancelled upstream (notifications/cancelled) and recorded CANCELLED.
 * (test/main.test.ts covers the signal itself.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';
import { eventually } from '../helpers/eventually.js';

const BASE = '/api/v1/mcp';
const DRAIN_MS = 1_500;
let upstream: TestUpstream;
let database: TestDatabase;

beforeAll(async () => {
  [upstream, database] = await Promise.all([startTestUpstream(), createTestDatabase()]);
});
afterAll(async () => {
  await upstream?.stop();
  await database?.drop();
});

describe('graceful stop', () => {
  it('finishes what ends within the drain bound, cancels the rest, and records both', async () => {
    const gw: TestGateway = await startGateway({ TMWS_DATABASE_URL: database.url }, { drainMs: DRAIN_MS });
    const agent = await gw.agent('draining', 'drain');
    const created = await gw.request(`${BASE}/connections`, {
      method: 'POST',
      token: agent.token,
      body: { server_name: 'slow', url: upstream.url },
    });
    const { id } = (await created.json()) as { id: string };
    const execute = (ms: number) =>
      gw.request(`${BASE}/connections/${id}/tools/slow/execute`, { method: 'POST', token: agent.token, body: { arguments: { ms } } });

    const cancellationsBefore = upstream.state().cancellations;
    const callsBefore = upstream.state().calls.slow ?? 0;
    const quick = execute(300);
    const endless = execute(60_000);
    await eventually(() => (upstream.state().calls.slow ?? 0) >= callsBefore + 2, 10_000, 'both calls reached the upstream');

    const stopped = gw.gateway.close();
    const quickResponse = await quick;
    expect(quickResponse.status).toBe(200);
    const quickBody = (await quickResponse.json()) as { execution_id: string };
    const endlessResponse = await endless;
    await stopped;
    await eventually(() => upstream.state().cancellations > cancellationsBefore, 10_000, 'the upstream heard the cancellation');

    // A fresh gateway on the same database reads what the stopped one recorded.
    const after = await startGateway({ TMWS_DATABASE_URL: database.url });
    try {
      const reader = await after.agent('draining', 'drain');
      const result = await fetch(`${after.url}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${reader.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ executions(connectionId: "${id}", first: 10) { edges { node { id status } } } }` }),
      });
      const rows = (
        (await result.json()) as { data: { executions: { edges: { node: { id: string; status: string } }[] } } }
      ).data.executions.edges.map((e) => e.node);
      expect(rows.find((r) => r.id === quickBody.execution_id)?.status).toBe('COMPLETED');
      expect(rows.filter((r) => r.status === 'CANCELLED')).toHaveLength(1);
      expect(rows.filter((r) => r.status === 'RUNNING')).toEqual([]);
      // The cancelled call was answered, not left hanging (its outcome is the recorded execution or an error body).
      expect([200, 502, 503]).toContain(endlessResponse.status);
    } finally {
      await after.close();
    }
  });
});
