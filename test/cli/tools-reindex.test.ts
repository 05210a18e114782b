/**
 * `npm run tools:reindex` rebuilds the search index from the stored catalogues:
 * pointed at a Chroma prefix that holds nothing, it makes every live tool
 * searchable there again, and only live ones.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { createEmbeddingProvider } from '../../src/vectors/embeddings.js';
import { createToolIndex } from '../../src/vectors/tool-index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startGateway, TEST_SECRET } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

const root = process.cwd();
const tsxLoader = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const PREFIX = `reindex${Date.now().toString(36)}`;
let upstream: TestUpstream;
let database: TestDatabase;
let live = '';
let gone = '';

beforeAll(async () => {
  [upstream, database] = await Promise.all([startTestUpstream(), createTestDatabase()]);
  const gw = await startGateway({ TMWS_DATABASE_URL: database.url });
  try {
    const agent = await gw.agent('reindexer', 'reindex');
    const create = async (name: string) => {
      const response = await gw.request('/api/v1/mcp/connections', {
        method: 'POST',
        token: agent.token,
        body: { server_name: name, url: upstream.url },
      });
      return ((await response.json()) as { id: string }).id;
    };
    live = await create('kept');
    gone = await create('dropped');
    expect((await gw.request(`/api/v1/mcp/connections/${gone}`, { method: 'DELETE', token: agent.token })).status).toBe(204);
  } finally {
    await gw.close();
  }
});
afterAll(async () => {
  await upstream?.stop();
  await database?.drop();
});

describe('tools:reindex', () => {
  it('rebuilds the index of every live connection from the database', async () => {
    const result = spawnSync(process.execPath, ['--import', tsxLoader, join(root, 'src/cli/tools-reindex.ts')], {
      env: {
        PATH: process.env.PATH ?? '',
        TMWS_ENVIRONMENT: 'test',
        TMWS_SECRET_KEY: TEST_SECRET,
        TMWS_DATABASE_URL: database.url,
        TMWS_CHROMA_URL: inject('chromaUrl'),
        TMWS_CHROMA_PREFIX: PREFIX,
        TMWS_LOG_LEVEL: 'silent',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(0);

    const index = createToolIndex({
      chromaUrl: inject('chromaUrl'),
      embeddings: createEmbeddingProvider('use-lite'),
      logger: createLogger('silent'),
      collectionPrefix: PREFIX,
    });
    try {
      const matches = await index.search({ agentId: 'reindexer', namespace: 'reindex', role: 'agent' }, 'echo the message back', 10);
      const connections = new Set(matches.map((m) => m.connectionId));
      expect(matches.some((m) => m.toolName === 'echo')).toBe(true);
      expect([...connections]).toEqual([live]);
    } finally {
      await index.close();
    }
  });
});
