import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { startLocalChroma, type ChromaEndpoint } from '../../src/vectors/chroma-server.js';
import { startGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

const dir = mkdtempSync(join(tmpdir(), 'tmws-catch-up-'));
const database = `sqlite:///${join(dir, 'shared.db')}`;
let chroma: ChromaEndpoint;
let upstream: TestUpstream;

const startChroma = (port?: number) =>
  startLocalChroma({ path: join(dir, 'chroma'), logger: createLogger('silent'), restartOnExit: false, ...(port ? { port } : {}) });

beforeAll(async () => {
  [chroma, upstream] = await Promise.all([startChroma(), startTestUpstream()]);
});
afterAll(async () => {
  await Promise.all([chroma?.stop(), upstream?.stop()]);
});

describe('search index catch-up at startup', () => {
  it('indexes connections created while Chroma was down once a gateway starts again', async () => {
    const port = Number(new URL(chroma.url).port);
    await chroma.stop();

    // A gateway that creates a connection while Chroma is down, then stops before Chroma returns.
    const first = await startGateway({ TMWS_DATABASE_URL: database, TMWS_CHROMA_URL: `http://127.0.0.1:${port}` });
    const agent = await first.agent('catch-up-agent', 'catch-up');
    const created = await first.request('/api/v1/mcp/connections', {
      method: 'POST',
      token: agent.token,
      body: { server_name: 'offline-indexed', url: upstream.url },
    });
    expect(created.status).toBe(201);
    const { id } = await created.json();
    await first.gateway.close();

    chroma = await startChroma(port);
    const second = await startGateway({ TMWS_DATABASE_URL: database, TMWS_CHROMA_URL: chroma.url });
    try {
      const token = (await second.agent('catch-up-agent', 'catch-up')).token;
      await expect
        .poll(
          async () => {
            const response = await second.request('/api/v1/mcp/tools/search?q=add%20two%20numbers&limit=3', { token });
            const body = await response.json();
            return body.results?.map((r: { connection_id: string; tool_name: string }) => `${r.connection_id}/${r.tool_name}`) ?? [];
          },
          { timeout: 20_000, interval: 500 },
        )
        .toContain(`${id}/add`);
    } finally {
      await second.close();
    }
  });
});
