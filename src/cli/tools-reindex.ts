/** `npm run tools:reindex`: rebuilds the semantic tool index from the stored catalogues. */
import { ConnectionOwnerLookup } from '../db/repositories/connection.repository.js';
import { migrateUp, openOrm } from '../db/orm.js';
import { createLogger } from '../observability/logger.js';
import { startLocalChroma } from '../vectors/chroma-server.js';
import { createEmbeddingProvider } from '../vectors/embeddings.js';
import { createToolIndex } from '../vectors/tool-index.js';
import { cliConfig, runCli } from './shared.js';

runCli(async () => {
  const config = cliConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const orm = await openOrm(config.database);
  const chroma = config.chromaUrl ? undefined : await startLocalChroma({ path: config.chromaPath, logger });
  const index = createToolIndex({
    chromaUrl: config.chromaUrl ?? chroma!.url,
    embeddings: createEmbeddingProvider(config.embeddingProvider),
    logger,
  });
  try {
    await migrateUp(orm);
    const owners = new ConnectionOwnerLookup(orm.em);
    const catalogue = (async function* () {
      for await (const { connection, tools } of owners.liveCatalogues()) {
        yield {
          connection: { id: connection.id, serverName: connection.serverName, namespace: connection.namespace, agentId: connection.agentId },
          tools: tools.map((t) => ({ name: t.name, title: t.title ?? undefined, description: t.description ?? null, inputSchema: t.inputSchema })),
        };
      }
    })();
    const counts = await index.rebuild(catalogue);
    console.log(JSON.stringify({ reindexed_connections: counts.connections, reindexed_tools: counts.tools }));
  } finally {
    await index.close();
    await chroma?.stop();
    await orm.close(true);
  }
});
