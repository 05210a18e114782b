import { randomUUID } from 'node:crypto';
import { ChromaClient, ChromaNotFoundError } from 'chromadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionNameForNamespace } from '../../src/vectors/tool-document.js';
import type { ToolIndex } from '../../src/vectors/tool-index.js';
import { startChromaTestServer, type ChromaTestServer } from '../helpers/chroma-server.js';
import { eventually } from '../helpers/eventually.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

/**
 * SPEC §7a: matches come only from the caller's readable live connections. A Chroma
 * server can outlive its database (restore, replacement) or be shared by several
 * deployments; none of that may show a tool that does not exist here.
 */
const BASE = '/api/v1/mcp';
const QUERY = 'echo a message back';
let chroma: ChromaTestServer; // private: these tests look at (and prune) whole collections
let upstream: TestUpstream;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  [chroma, upstream] = await Promise.all([startChromaTestServer(), startTestUpstream()]);
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close().catch(() => undefined)));
  await Promise.all([chroma?.stop(), upstream?.stop()]);
});

async function gatewayWith(prefix: string): Promise<TestGateway> {
  const gw = await startGateway({ TMWS_CHROMA_URL: chroma.url, TMWS_CHROMA_PREFIX: prefix });
  gateways.push(gw);
  return gw;
}

async function connectionIdsFound(gw: TestGateway, agent: TestAgent): Promise<string[]> {
  const response = await search(gw, agent);
  expect(response.status).toBe(200);
  return idsOf(response);
}

/**
 * The connections of the first answer that is not a 503. Right after start-up the catch-up and its
 * prune run beside the search, and on a loaded machine a Chroma request may time out meanwhile: that
 * is a 503 (README, search only). Every answer that is given must still show no ghost.
 */
async function connectionIdsOnceAnswered(gw: TestGateway, agent: TestAgent): Promise<string[]> {
  const response = await eventually(
    async () => {
      const answer = await search(gw, agent);
      return answer.status === 503 ? undefined : answer;
    },
    20_000,
    'a search answer other than 503',
  );
  expect(response.status).toBe(200);
  return idsOf(response);
}

function search(gw: TestGateway, agent: TestAgent): Promise<Response> {
  return gw.request(`${BASE}/tools/search?${new URLSearchParams({ q: QUERY, limit: '50' })}`, { token: agent.token });
}

async function idsOf(response: Response): Promise<string[]> {
  return ((await response.json()).results as { connection_id: string }[]).map((r) => r.connection_id);
}

async function createSearchable(gw: TestGateway, agent: TestAgent): Promise<string> {
  const response = await gw.request(`${BASE}/connections`, {
    method: 'POST',
    token: agent.token,
    body: { server_name: 'tester', url: upstream.url },
  });
  expect(response.status).toBe(201);
  const { id } = await response.json();
  await expect.poll(() => connectionIdsFound(gw, agent), { timeout: 20_000, interval: 200 }).toContain(id);
  return id;
}

/** Records of `connectionId` in the namespace's collection under `prefix`, read from Chroma directly. */
async function vectorsOf(prefix: string, namespace: string, connectionId: string): Promise<number> {
  const url = new URL(chroma.url);
  const client = new ChromaClient({ host: url.hostname, port: Number(url.port) });
  try {
    const collection = await client.getCollection({ name: collectionNameForNamespace(namespace, prefix) });
    return (await collection.get({ where: { connection_id: connectionId } })).ids.length;
  } catch (error) {
    if (error instanceof ChromaNotFoundError) return 0;
    throw error;
  }
}

describe('search never returns a connection this database does not have', () => {
  it('checks every match against the database, whatever the vector store holds', async () => {
    const gw = await gatewayWith('ghost-check');
    const agent = await gw.agent('ghost-checker', 'ghost-check-ns');
    const own = await createSearchable(gw, agent);
    // Vectors written by someone else into this namespace's collection: a connection id unknown here.
    const ghost = randomUUID();
    const index = gw.gateway.services.toolIndex as ToolIndex;
    const echo = { name: 'echo', description: 'Echo a message back', inputSchema: { type: 'object' } };
    await index.replaceConnectionTools({ id: ghost, namespace: agent.namespace, agentId: agent.id, serverName: 'tester' }, [echo]);
    expect(await vectorsOf('ghost-check', agent.namespace, ghost)).toBe(1);

    const found = await connectionIdsFound(gw, agent);
    expect(found).toContain(own);
    expect(found).not.toContain(ghost);
  });

  it('a gateway on a fresh database over another one’s Chroma shows no ghost and prunes the old vectors at start-up', async () => {
    const first = await gatewayWith('restored');
    const before = await first.agent('restored-agent', 'restored-ns');
    const old = await createSearchable(first, before);
    await first.gateway.close();
    expect(await vectorsOf('restored', 'restored-ns', old)).toBeGreaterThan(0);

    // Same prefix, same Chroma, a database that never heard of `old` (restored, replaced, or a reused namespace).
    const second = await gatewayWith('restored');
    const after = await second.agent('restored-agent', 'restored-ns');
    expect(await connectionIdsOnceAnswered(second, after)).toEqual([]);
    await expect.poll(() => vectorsOf('restored', 'restored-ns', old), { timeout: 20_000, interval: 200 }).toBe(0);
    expect(await connectionIdsFound(second, after)).toEqual([]);
  });

  it('two deployments with different prefixes on one Chroma neither see nor prune each other’s vectors', async () => {
    const blue = await gatewayWith('blue');
    const blueAgent = await blue.agent('same-agent', 'same-ns');
    const blueConnection = await createSearchable(blue, blueAgent);

    const green = await gatewayWith('green');
    const greenAgent = await green.agent('same-agent', 'same-ns');
    // The most aggressive prune there is: an empty catalogue, run to its end.
    await (green.gateway.services.toolIndex as ToolIndex).rebuild([], { prune: true });
    expect(await connectionIdsFound(green, greenAgent)).toEqual([]);

    expect(await vectorsOf('blue', 'same-ns', blueConnection)).toBeGreaterThan(0);
    expect(await connectionIdsFound(blue, blueAgent)).toContain(blueConnection);
  });
});
