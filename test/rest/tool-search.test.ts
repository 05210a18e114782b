import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { startLocalChroma, type ChromaEndpoint } from '../../src/vectors/chroma-server.js';
import { sharedEverythingUrl } from '../helpers/everything-server.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

const BASE = '/api/v1/mcp';
const chromaPath = mkdtempSync(join(tmpdir(), 'tmws-search-chroma-'));
let chroma: ChromaEndpoint;
let chromaPort: number;
let gw: TestGateway;
const everything = { url: sharedEverythingUrl() };
let testUpstream: TestUpstream;
let alice: TestAgent; // namespace north
let alfred: TestAgent; // namespace north, another agent
let northAdmin: TestAgent;
let bob: TestAgent; // namespace south
const created: { agent: TestAgent; id: string }[] = [];

// A private Chroma: this file stops and restarts it.
const startChroma = (port?: number) =>
  startLocalChroma({ path: chromaPath, logger: createLogger('silent'), restartOnExit: false, ...(port ? { port } : {}) });

beforeAll(async () => {
  chroma = await startChroma();
  chromaPort = Number(new URL(chroma.url).port);
  [gw, testUpstream] = await Promise.all([startGateway({ TMWS_CHROMA_URL: chroma.url }), startTestUpstream()]);
  alice = await gw.agent('alice', 'north');
  alfred = await gw.agent('alfred', 'north');
  northAdmin = await gw.agent('north-admin', 'north', 'admin');
  bob = await gw.agent('bob', 'south');
  // Overlapping tool names (`echo`) across namespaces and agents.
  for (const [agent, name, url] of [
    [alice, 'everything', everything.url],
    [alfred, 'tester', testUpstream.url],
    [bob, 'everything', everything.url],
  ] as const) {
    const response = await gw.request(`${BASE}/connections`, { method: 'POST', token: agent.token, body: { server_name: name, url } });
    expect(response.status).toBe(201);
    created.push({ agent, id: (await response.json()).id });
  }
  // Indexing runs off the request path (SPEC §14): the index catches up shortly after create.
  for (const { agent, id } of created) await searchableSoon(agent, 'echo a message back', id);
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([testUpstream?.stop(), chroma?.stop()]);
});

async function search(agent: TestAgent, q: string, limit?: number) {
  const query = new URLSearchParams({ q, ...(limit ? { limit: String(limit) } : {}) });
  const response = await gw.request(`${BASE}/tools/search?${query}`, { token: agent.token });
  return { status: response.status, body: await response.json() };
}

async function searchableSoon(agent: TestAgent, q: string, connectionId: string): Promise<void> {
  const found = async () =>
    ((await search(agent, q, 50)).body.results ?? []).some((r: { connection_id: string }) => r.connection_id === connectionId);
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    if (await found()) return;
  }
  throw new Error(`connection ${connectionId} did not become searchable`);
}

describe('tool search through the REST bridge', () => {
  it('finds the right tool first, with scores in [0, 1] sorted descending', async () => {
    const { status, body } = await search(alice, 'add two numbers together', 5);
    expect(status).toBe(200);
    expect(body.results[0]).toMatchObject({ tool_name: 'get-sum', server_name: 'everything' });
    const scores = body.results.map((r: { score: number }) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    for (const score of scores) expect(score >= 0 && score <= 1).toBe(true);
    expect(Object.keys(body.results[0]).sort()).toEqual(['connection_id', 'description', 'score', 'server_name', 'tool_name']);
  });

  it("never shows another namespace's or another agent's tools", async () => {
    const own = await search(alice, 'echo a message back', 50);
    const aliceConnections = new Set(own.body.results.map((r: { connection_id: string }) => r.connection_id));
    expect(aliceConnections.size).toBe(1);
    const bobs = await search(bob, 'echo a message back', 50);
    const bobConnections = new Set(bobs.body.results.map((r: { connection_id: string }) => r.connection_id));
    expect([...bobConnections].some((id) => aliceConnections.has(id))).toBe(false);
    const alfreds = await search(alfred, 'echo a message back', 50);
    expect(alfreds.body.results.every((r: { server_name: string }) => r.server_name === 'tester')).toBe(true);
  });

  it('shows an admin every tool of its namespace, and only of its namespace', async () => {
    const { body } = await search(northAdmin, 'echo a message back', 50);
    const servers = new Set(body.results.map((r: { server_name: string }) => r.server_name));
    expect(servers).toEqual(new Set(['everything', 'tester']));
    const ids = new Set(body.results.map((r: { connection_id: string }) => r.connection_id));
    expect(ids.size).toBe(2);
  });

  it('validates q and limit', async () => {
    expect((await search(alice, '')).status).toBe(400);
    expect((await search(alice, '   ')).body.details.field).toBe('q');
    expect((await search(alice, 'x', 51)).status).toBe(400);
    const missing = await gw.request(`${BASE}/tools/search`, { token: alice.token });
    expect(missing.status).toBe(400);
    const bad = await gw.request(`${BASE}/tools/search?q=x&limit=ten`, { token: alice.token });
    expect((await bad.json()).details.field).toBe('limit');
  });

  it('drops tools from search on disconnect', async () => {
    const list = await (await gw.request(`${BASE}/connections`, { token: alfred.token })).json();
    const id = list.connections[0].id;
    expect((await gw.request(`${BASE}/connections/${id}`, { method: 'DELETE', token: alfred.token })).status).toBe(204);
    const { body } = await search(northAdmin, 'echo a message back', 50);
    expect(body.results.some((r: { connection_id: string }) => r.connection_id === id)).toBe(false);
  });

  it('answers 503 while Chroma is down, keeps the rest working, and catches up when it is back', async () => {
    await chroma.stop();
    const down = await search(alice, 'add two numbers');
    expect(down.status).toBe(503);
    expect(down.body.error_code).toBe('SERVICE_UNAVAILABLE');
    // A stable reason, not the Chroma client's message.
    expect(down.body.details).toEqual({ component: 'chroma', reason: 'unreachable' });
    const ready = await gw.request('/health/ready');
    expect(ready.status).toBe(503);
    expect((await ready.json()).components.chroma).toBe('down');

    // Creating a connection still works; its tools are indexed once Chroma returns.
    const created = await gw.request(`${BASE}/connections`, {
      method: 'POST',
      token: alice.token,
      body: { server_name: 'tester-late', url: testUpstream.url },
    });
    expect(created.status).toBe(201);
    const lateId = (await created.json()).id;

    chroma = await startChroma(chromaPort);
    await expect
      .poll(
        async () =>
          (await search(alice, 'How many calls were cancelled so far', 10)).body.results?.map(
            (r: { connection_id: string }) => r.connection_id,
          ) ?? [],
        {
          timeout: 20_000,
          interval: 500,
        },
      )
      .toContain(lateId);
    expect((await gw.request('/health/ready')).status).toBe(200);
  });
});
