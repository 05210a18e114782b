import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { createLogger } from '../../src/observability/logger.js';
import { createEmbeddingProvider } from '../../src/vectors/embeddings.js';
import { createToolIndex, type IndexableTool, type ToolIndex } from '../../src/vectors/tool-index.js';

/**
 * A fixed, small slice of the evaluation set (`npm run eval:tool-search` measures the
 * whole of it): real tool lists of published MCP servers plus two hand-written
 * catalogues, and tasks phrased the way an agent asks. The right tool must be in the
 * top 3. No timing assertions: latency belongs to the eval script.
 */
const SERVERS = ['filesystem', 'github', 'slack', 'memory', 'brave-search', 'calendar', 'kubernetes', 'weather'];

const CASES: [query: string, expected: string][] = [
  ['make a new folder called backups', 'filesystem/create_directory'],
  ['find every *.test.ts file under src', 'filesystem/search_files'],
  ['rename draft.txt to final.txt', 'filesystem/move_file'],
  ['open a pull request from my feature branch into main', 'github/create_pull_request'],
  ['merge pull request 7', 'github/merge_pull_request'],
  ['search GitHub for repositories about vector databases', 'github/search_repositories'],
  ['tell the #deployments channel on Slack that the release is out', 'slack/slack_post_message'],
  ['react with a thumbs up emoji to that Slack message', 'slack/slack_add_reaction'],
  ['search the web for the latest news about the EU AI act', 'brave-search/brave_web_search'],
  ['schedule a 30 minute meeting with dana on Friday', 'calendar/create_event'],
  ['why is the checkout pod crashing, show its logs', 'kubernetes/get_pod_logs'],
  ['scale the api deployment to 5 replicas', 'kubernetes/scale_deployment'],
];

const fixtures = join(import.meta.dirname, '../../eval/tool-search/servers');
const principal: Principal = { agentId: 'quality-agent', namespace: 'quality', role: 'agent' };

describe('tool search quality (fixed queries)', () => {
  let index: ToolIndex;

  beforeAll(async () => {
    // The run's shared Chroma; a collection prefix of its own keeps the fixtures apart from every other test.
    index = createToolIndex({
      chromaUrl: inject('chromaUrl'),
      embeddings: createEmbeddingProvider(),
      logger: createLogger('silent'),
      collectionPrefix: `quality${randomUUID().slice(0, 8)}`,
    });
    for (const server of SERVERS) {
      const { tools } = JSON.parse(readFileSync(join(fixtures, `${server}.json`), 'utf8')) as { tools: IndexableTool[] };
      await index.replaceConnectionTools(
        { id: `conn-${server}`, serverName: server, namespace: principal.namespace, agentId: principal.agentId },
        tools,
      );
    }
  });

  afterAll(async () => {
    await index?.close();
  });

  it.each(CASES)('"%s" finds %s in the top 3', async (query, expected) => {
    const matches = await index.search(principal, query, 3);
    expect(matches.map((m) => `${m.serverName}/${m.toolName}`)).toContain(expected);
  });
});
