import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { HEALTH_BUDGET_MS, probeHealthWhile } from '../helpers/responsiveness.js';
import { spawnTestUpstream, startTestUpstream, type SpawnedTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';

const BASE = '/api/v1/mcp';
/**
 * A create answers after one upstream round trip and a few database writes. Before
 * indexing left the request path, another namespace's create waited for the whole
 * 800-tool catalogue to be embedded (12.5 s in the report that found it).
 */
const CREATE_BUDGET_MS = 3_000;

let gw: TestGateway;
let big: SpawnedTestUpstream; // 800 tools, in its own process like a real remote server
let small: TestUpstream;
let alice: TestAgent; // namespace fair-a
let bob: TestAgent; // namespace fair-b

beforeAll(async () => {
  [gw, big, small] = await Promise.all([startGateway(), spawnTestUpstream({ bulkTools: 800 }), startTestUpstream()]);
  alice = await gw.agent('fair-alice', 'fair-a');
  bob = await gw.agent('fair-bob', 'fair-b');
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([big?.stop(), small?.stop()]);
});

async function create(agent: TestAgent, serverName: string, url: string): Promise<{ id: string; ms: number }> {
  const started = performance.now();
  const response = await gw.request(`${BASE}/connections`, { method: 'POST', token: agent.token, body: { server_name: serverName, url } });
  const ms = performance.now() - started;
  expect(response.status).toBe(201);
  return { id: (await response.json()).id, ms };
}

/** Polls until the agent has an active connection: its catalogue is stored and its indexing has begun. */
async function activeConnection(agent: TestAgent): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    const { connections = [] } = (await (await gw.request(`${BASE}/connections`, { token: agent.token })).json()) as {
      connections?: { status: string }[];
    };
    if (connections.some((c) => c.status === 'active')) return;
  }
  throw new Error(`${agent.id} has no active connection`);
}

/** Polls search until `toolName` of `connectionId` is among the matches; returns when (performance.now()). */
async function searchable(agent: TestAgent, q: string, connectionId: string, toolName: string, intervalMs: number): Promise<number> {
  const found = async () => {
    const response = await gw.request(`${BASE}/tools/search?${new URLSearchParams({ q, limit: '10' })}`, { token: agent.token });
    const { results = [] } = (await response.json()) as { results?: { connection_id: string; tool_name: string }[] };
    return results.some((r) => r.connection_id === connectionId && r.tool_name === toolName);
  };
  for (const deadline = Date.now() + 150_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, intervalMs))) {
    if (await found()) return performance.now();
  }
  throw new Error(`${toolName} of ${connectionId} never became searchable`);
}

describe('indexing a large catalogue', () => {
  it("does not delay another namespace's create or /health, is fair to the other namespace, and completes", async () => {
    const { result, worstHealthMs, probes } = await probeHealthWhile(gw.url, async () => {
      const bigCreate = create(alice, 'catalogue-800', big.url);
      await activeConnection(alice);
      // The 800 tools are being indexed now; another namespace creates a connection meanwhile.
      const smallConnection = await create(bob, 'small', small.url);
      const bigConnection = await bigCreate;
      const smallSearchableAt = searchable(bob, 'echo a message back', smallConnection.id, 'echo', 200);
      const bigSearchableAt = searchable(alice, 'Generated tool number 799', bigConnection.id, 'bulk-799', 1_000);
      return { bigConnection, smallConnection, smallAt: await smallSearchableAt, bigAt: await bigSearchableAt };
    });
    console.info(
      `800-tool indexing: worst /health ${worstHealthMs.toFixed(0)} ms over ${probes} probes; ` +
        `creates ${result.bigConnection.ms.toFixed(0)} ms (800 tools) and ${result.smallConnection.ms.toFixed(0)} ms (other namespace); ` +
        `other namespace searchable ${((result.bigAt - result.smallAt) / 1000).toFixed(1)} s before the 800th tool`,
    );
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
    expect(result.smallConnection.ms).toBeLessThan(CREATE_BUDGET_MS);
    expect(result.bigConnection.ms).toBeLessThan(CREATE_BUDGET_MS);
    // Fair: the other namespace's tools were indexed while the 800 were still in progress, not after them.
    expect(result.smallAt).toBeLessThan(result.bigAt);
  }, 240_000);
});
