import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { ServiceUnavailableError } from '../../src/errors/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { createEmbeddingProvider } from '../../src/vectors/embeddings.js';
import { createToolIndex, type IndexableTool, type IndexedConnection, type ToolIndex } from '../../src/vectors/tool-index.js';
import { startChromaTestServer, type ChromaTestServer } from '../helpers/chroma-server.js';

const logger = createLogger('silent');
const fixtures = join(import.meta.dirname, '../../eval/tool-search/servers');
const fixtureTools = (server: string) =>
  (JSON.parse(readFileSync(join(fixtures, `${server}.json`), 'utf8')) as { tools: IndexableTool[] }).tools;
const embeddings = createEmbeddingProvider('use-lite');

function tool(name: string, description: string, properties: Record<string, string> = {}): IndexableTool {
  return {
    name,
    description,
    inputSchema: {
      type: 'object',
      properties: Object.fromEntries(Object.entries(properties).map(([k, d]) => [k, { type: 'string', description: d }])),
    },
  };
}

const readFile = tool('read_file', 'Read the complete contents of a text file from disk', { path: 'File path' });
const sendMessage = tool('send_message', 'Post a chat message to a channel', { channel: 'Channel id', text: 'Message text' });
const forecast = tool('get_forecast', 'Get the weather forecast for a city for the next days', { city: 'City name' });
const createIssue = tool('create_issue', 'Open a new issue in a GitHub repository', { title: 'Issue title' });

function connection(id: string, namespace: string, agentId: string, serverName = 'srv'): IndexedConnection {
  return { id, namespace, agentId, serverName };
}

const agent = (agentId: string, namespace: string): Principal => ({ agentId, namespace, role: 'agent' });
const admin = (agentId: string, namespace: string): Principal => ({ agentId, namespace, role: 'admin' });

async function connectionsFound(index: ToolIndex, who: Principal, query: string): Promise<Set<string>> {
  return new Set((await index.search(who, query, 50)).map((m) => m.connectionId));
}

describe('tool index on a live Chroma', () => {
  let chroma: ChromaTestServer;
  let index: ToolIndex;

  beforeAll(async () => {
    chroma = await startChromaTestServer();
    index = createToolIndex({ chromaUrl: chroma.url, embeddings, logger });
  });

  afterAll(async () => {
    await index?.close();
    await chroma?.stop();
  });

  it('keeps namespaces apart even when their tool names are identical', async () => {
    await index.replaceConnectionTools(connection('conn-a', 'team-a', 'alice'), [readFile, sendMessage]);
    await index.replaceConnectionTools(connection('conn-b', 'team b/with spaces', 'bob'), [readFile, sendMessage]);

    expect(await connectionsFound(index, agent('alice', 'team-a'), 'read a file')).toEqual(new Set(['conn-a']));
    expect(await connectionsFound(index, agent('bob', 'team b/with spaces'), 'read a file')).toEqual(new Set(['conn-b']));
    // No role crosses namespaces, and an agent id that also exists elsewhere does not help.
    expect(await connectionsFound(index, admin('root', 'team-a'), 'post a message')).toEqual(new Set(['conn-a']));
    expect(await connectionsFound(index, agent('bob', 'team-a'), 'read a file')).toEqual(new Set());
  });

  it('shows an agent only its own connections and an admin the whole namespace', async () => {
    await index.replaceConnectionTools(connection('conn-x', 'shared', 'xavier'), [forecast, readFile]);
    await index.replaceConnectionTools(connection('conn-y', 'shared', 'yvonne'), [forecast, createIssue]);

    expect(await connectionsFound(index, agent('xavier', 'shared'), 'weather tomorrow')).toEqual(new Set(['conn-x']));
    expect(await connectionsFound(index, agent('yvonne', 'shared'), 'weather tomorrow')).toEqual(new Set(['conn-y']));
    expect(await connectionsFound(index, agent('zoe', 'shared'), 'weather tomorrow')).toEqual(new Set());
    expect(await connectionsFound(index, admin('boss', 'shared'), 'weather tomorrow')).toEqual(new Set(['conn-x', 'conn-y']));
  });

  it('returns matches sorted by a similarity score in [0, 1] with the stored fields', async () => {
    await index.replaceConnectionTools(connection('conn-s', 'scores', 'sam', 'weather-srv'), [forecast, readFile, sendMessage]);
    const matches = await index.search(agent('sam', 'scores'), 'will it rain in Paris tomorrow', 10);

    expect(matches[0]).toMatchObject({
      connectionId: 'conn-s',
      serverName: 'weather-srv',
      toolName: 'get_forecast',
      description: forecast.description,
    });
    for (const m of matches) expect(m.score).toBeGreaterThanOrEqual(0);
    for (const m of matches) expect(m.score).toBeLessThanOrEqual(1);
    expect(matches.map((m) => m.score)).toEqual([...matches.map((m) => m.score)].sort((a, b) => b - a));
    expect(await index.search(agent('sam', 'scores'), 'weather', 1)).toHaveLength(1);
  });

  it('replacing a connection drops the tools it no longer lists and updates changed ones', async () => {
    const conn = connection('conn-r', 'replace', 'rita');
    await index.replaceConnectionTools(conn, [readFile, sendMessage, forecast]);
    await index.replaceConnectionTools(conn, [readFile, { ...forecast, description: 'Look up tide tables for a harbour' }]);

    const matches = await index.search(agent('rita', 'replace'), 'send a chat message', 10);
    expect(matches.map((m) => m.toolName).sort()).toEqual(['get_forecast', 'read_file']);
    const tides = await index.search(agent('rita', 'replace'), 'tide tables for the harbour', 1);
    expect(tides[0]).toMatchObject({ toolName: 'get_forecast', description: 'Look up tide tables for a harbour' });
  });

  it('removeConnection deletes every tool of that connection and nothing else', async () => {
    await index.replaceConnectionTools(connection('conn-keep', 'remove', 'rob'), [readFile]);
    await index.replaceConnectionTools(connection('conn-gone', 'remove', 'rob'), [readFile, sendMessage]);
    await index.removeConnection({ id: 'conn-gone', namespace: 'remove' });

    expect(await connectionsFound(index, agent('rob', 'remove'), 'read a file')).toEqual(new Set(['conn-keep']));
    await index.removeConnection({ id: 'conn-never-indexed', namespace: 'nowhere' });
  });

  it('ranks the same when lexical candidates are scored by Chroma instead of the local snapshot', async () => {
    const remote = createToolIndex({ chromaUrl: chroma.url, embeddings, logger, snapshotVectorLimit: 0 });
    try {
      // More tools than the dense candidate pool, so some candidates come from BM25 alone.
      for (const server of ['github', 'filesystem', 'slack', 'everything', 'memory']) {
        await index.replaceConnectionTools(connection(`conn-${server}`, 'modes', 'mia', server), fixtureTools(server));
      }
      for (const query of ['post to the team channel', 'open a bug report', 'make a new folder', 'show file contents']) {
        const local = await index.search(agent('mia', 'modes'), query, 10);
        const viaChroma = await remote.search(agent('mia', 'modes'), query, 10);
        expect(viaChroma.map((m) => m.toolName)).toEqual(local.map((m) => m.toolName));
        viaChroma.forEach((m, i) => expect(m.score).toBeCloseTo(local[i]!.score, 4));
      }
    } finally {
      await remote.close();
    }
  });

  it("scores an agent's matches the same whatever another agent of the namespace has indexed", async () => {
    const listChannels = tool('list_channels', 'List the channels of the workspace');
    await index.replaceConnectionTools(connection('conn-ana', 'bm25-scope', 'ana'), [sendMessage, listChannels, forecast, readFile]);
    const ranking = async () =>
      (await index.search(agent('ana', 'bm25-scope'), 'send a message to a channel', 10)).map((m) => [m.toolName, m.score] as const);
    const alone = await ranking();
    expect(alone.map(([name]) => name)).toContain('list_channels');

    // Another agent's catalogue full of "channel" (document frequencies, document lengths) in the same namespace.
    const channelTools = ['archive', 'rename', 'join', 'leave', 'mute', 'pin', 'topic', 'invite'].map((verb) =>
      tool(`${verb}_channel`, `${verb} a channel of the workspace and everything posted in that channel`, { channel: 'Channel id' }),
    );
    await index.replaceConnectionTools(connection('conn-ben', 'bm25-scope', 'ben'), channelTools);
    const withNeighbour = await ranking();
    expect(withNeighbour.map(([name]) => name)).toEqual(alone.map(([name]) => name));
    withNeighbour.forEach(([, score], i) => expect(score).toBeCloseTo(alone[i]![1], 6));
  });

  it('answers an empty list for a namespace that has nothing indexed or a blank query', async () => {
    expect(await index.search(agent('nobody', 'empty-namespace'), 'read a file', 10)).toEqual([]);
    expect(await index.search(agent('alice', 'team-a'), '   ', 10)).toEqual([]);
  });

  it('a rebuild takes turns with the namespaces, and a newer write of a listed connection wins over the listing', async () => {
    const stepped = createToolIndex({ chromaUrl: chroma.url, embeddings, logger, stepTools: 2 });
    try {
      const many = Array.from({ length: 16 }, (_, i) => tool(`tool_${i}`, `Generated helper number ${i} for the fairness test`));
      const finished: string[] = [];
      const rebuilt = stepped
        .rebuild(
          [
            { connection: connection('conn-many', 'turns-a', 'tina'), tools: many },
            { connection: connection('conn-late', 'turns-c', 'tom'), tools: [readFile] },
          ],
          { prune: false },
        )
        .then(() => finished.push('rebuild'));
      const other = stepped
        .replaceConnectionTools(connection('conn-other', 'turns-b', 'ulla'), [sendMessage])
        .then(() => finished.push('other'));
      const newer = stepped
        .replaceConnectionTools(connection('conn-late', 'turns-c', 'tom'), [forecast])
        .then(() => finished.push('newer'));
      await Promise.all([rebuilt, other, newer]);

      expect(finished.indexOf('other')).toBeLessThan(finished.indexOf('rebuild'));
      const late = await stepped.search(agent('tom', 'turns-c'), 'read a file or the weather', 10);
      expect(late.map((m) => m.toolName)).toEqual(['get_forecast']);
      expect(await stepped.search(agent('tina', 'turns-a'), 'generated helper', 50)).toHaveLength(16);
    } finally {
      await stepped.close();
    }
  });

  it('rebuild rewrites the index from the catalogue and drops what it no longer lists', async () => {
    const rebuilt = await index.rebuild([
      { connection: connection('conn-a', 'team-a', 'alice'), tools: [readFile] },
      { connection: connection('conn-new', 'fresh', 'fred'), tools: [forecast, createIssue] },
    ]);

    expect(rebuilt).toEqual({ connections: 2, tools: 3 });
    expect((await index.search(agent('alice', 'team-a'), 'post a chat message', 10)).map((m) => m.toolName)).toEqual(['read_file']);
    expect(await connectionsFound(index, agent('fred', 'fresh'), 'open a GitHub issue')).toEqual(new Set(['conn-new']));
    expect(await index.search(agent('xavier', 'shared'), 'weather tomorrow', 10)).toEqual([]);
    expect(await index.search(agent('bob', 'team b/with spaces'), 'read a file', 10)).toEqual([]);
  });
});

interface OwnChroma {
  chroma: ChromaTestServer;
  index: ToolIndex;
}

/** Registers hooks giving the calling `describe` a private Chroma (its tests kill and restart it) and an index that catches up quickly. */
function ownChromaWithFastCatchUp(): OwnChroma {
  const suite = {} as OwnChroma;

  beforeAll(async () => {
    suite.chroma = await startChromaTestServer();
    suite.index = createToolIndex({ chromaUrl: suite.chroma.url, embeddings, logger, catchUpBackoffMs: { initial: 100, max: 500 } });
  });

  afterAll(async () => {
    await suite.index?.close();
    await suite.chroma?.stop();
  });

  return suite;
}

describe('tool index while Chroma is down', () => {
  const suite = ownChromaWithFastCatchUp();

  it('search fails with 503, writes are queued without throwing, and the index catches up after a restart', async () => {
    const { chroma, index } = suite;
    const owner = agent('olga', 'outage');
    await index.replaceConnectionTools(connection('conn-1', 'outage', 'olga'), [readFile, sendMessage]);
    await index.replaceConnectionTools(connection('conn-2', 'outage', 'olga'), [createIssue]);
    expect(await index.health()).toBe('ok');

    await chroma.kill();

    await expect(index.search(owner, 'read a file', 5)).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(index.search(owner, 'read a file', 5)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', httpStatus: 503 });
    await expect(index.replaceConnectionTools(connection('conn-1', 'outage', 'olga'), [forecast])).resolves.toBeUndefined();
    await expect(index.removeConnection({ id: 'conn-2', namespace: 'outage' })).resolves.toBeUndefined();
    expect(index.pendingWrites()).toBe(2);
    expect(await index.health()).toBe('down');

    await chroma.restart();
    await waitFor(() => index.pendingWrites() === 0, 15_000);

    const matches = await index.search(owner, 'weather forecast for a city', 10);
    expect(matches.map((m) => `${m.connectionId}/${m.toolName}`)).toEqual(['conn-1/get_forecast']);
    expect(await index.health()).toBe('ok');
  });
});

describe('rebuild while Chroma is down', () => {
  const suite = ownChromaWithFastCatchUp();

  it('reports 503 to the caller and applies the rebuild once Chroma is back', async () => {
    const { chroma, index } = suite;
    await index.replaceConnectionTools(connection('conn-old', 'rebuild-outage', 'rex'), [readFile]);
    await chroma.kill();

    await expect(
      index.rebuild([{ connection: connection('conn-new', 'rebuild-outage', 'rex'), tools: [forecast] }]),
    ).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(index.pendingWrites()).toBe(1);

    await chroma.restart();
    await waitFor(() => index.pendingWrites() === 0, 15_000);
    const matches = await index.search(agent('rex', 'rebuild-outage'), 'read a file', 10);
    expect(matches.map((m) => `${m.connectionId}/${m.toolName}`)).toEqual(['conn-new/get_forecast']);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
