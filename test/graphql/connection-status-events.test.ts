/**
 * `status` reflects reality and dashboards hear about it (SPEC §6, §7):
 * an upstream that dies turns its connection ERROR, one that comes back turns
 * it ACTIVE again, each change is a `connectionStatusChanged` event, and a new
 * tool announced with `notifications/tools/list_changed` becomes searchable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { spawnTestUpstream, type SpawnedTestUpstream } from '../helpers/upstreams/spawn-upstream.js';
import { sse } from './client.js';

const BASE = '/api/v1/mcp';
let gw: TestGateway;
let upstream: SpawnedTestUpstream;
let agent: TestAgent;

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), spawnTestUpstream()]);
  agent = await gw.agent('status-watcher', 'status-events');
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

async function connect(name: string): Promise<string> {
  const response = await gw.request(`${BASE}/connections`, {
    method: 'POST',
    token: agent.token,
    body: { server_name: name, url: upstream.url },
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

const execute = (id: string) =>
  gw.request(`${BASE}/connections/${id}/tools/echo/execute`, {
    method: 'POST',
    token: agent.token,
    body: { arguments: { message: 'ping' } },
  });

const statusOf = async (id: string) =>
  ((await (await gw.request(`${BASE}/connections/${id}`, { token: agent.token })).json()) as { status: string }).status;

describe('connection status follows the upstream', () => {
  it('goes ERROR when the upstream dies and ACTIVE when it is back, with an event for each', async () => {
    const id = await connect('mortal');
    const subscription = await sse<{ connectionStatusChanged: { id: string; status: string } }>(
      gw,
      'subscription { connectionStatusChanged { id status } }',
      {},
      agent.token,
    );
    try {
      await upstream.kill();
      expect((await execute(id)).status).toBe(502);
      expect(await statusOf(id)).toBe('error');

      await upstream.restart();
      expect((await execute(id)).status).toBe(200);
      expect(await statusOf(id)).toBe('active');

      const seen: string[] = [];
      const collect = (async () => {
        for await (const event of subscription.events) {
          const change = event.data?.connectionStatusChanged;
          if (change?.id === id) seen.push(change.status);
          if (seen.includes('ACTIVE')) return;
        }
      })();
      const lost = new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`status events missing: saw ${JSON.stringify(seen)}`)), 5_000).unref(),
      );
      await Promise.race([collect, lost]);
      expect(seen).toEqual(['ERROR', 'ACTIVE']);
    } finally {
      subscription.close();
    }
  });

  it('indexes a tool announced with tools/list_changed so that search finds it', async () => {
    const id = await connect('growing');
    await upstream.addTool('flux-capacitor-calibrate');
    await eventually(
      async () => {
        const response = await gw.request(`${BASE}/tools/search?q=flux%20capacitor%20calibrate&limit=5`, { token: agent.token });
        const { results } = (await response.json()) as { results: { connection_id: string; tool_name: string }[] };
        return results.some((r) => r.connection_id === id && r.tool_name === 'flux-capacitor-calibrate');
      },
      15_000,
      'the announced tool to be searchable',
    );
  });
});
