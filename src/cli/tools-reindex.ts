/**
 * `npm run tools:reindex`: rebuilds the semantic tool index from the stored
 * catalogues. Uses TMWS_CHROMA_URL, else the local Chroma of a running
 * gateway, else starts the local one itself.
 */
import { ConnectionOwnerLookup } from '../db/repositories/connection.repository.js';
import { migrateUp, openOrm } from '../db/orm.js';
import { createLogger } from '../observability/logger.js';
import { liveSearchCatalogue } from '../services/search-catalogue.js';
import { startLocalChroma } from '../vectors/chroma-server.js';
import { createEmbeddingProvider } from '../vectors/embeddings.js';
import { runningGatewayChroma } from '../vectors/local-chroma-registry.js';
import { createToolIndex } from '../vectors/tool-index.js';
import { parseCliArgs, type CliUsage } from './args.js';
import { cliConfig, runCli } from './shared.js';

const USAGE: CliUsage = {
  synopsis: 'npm run tools:reindex',
  summary:
    'Rebuilds the semantic tool index from the stored catalogues, in TMWS_CHROMA_URL, else the local Chroma\n' +
    'of a running gateway, else a local Chroma started for the run; prints the counts.',
};

runCli(async () => {
  parseCliArgs(USAGE, {});
  const config = cliConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const orm = await openOrm(config.database.target);
  const sharedUrl = config.chroma.url ?? runningGatewayChroma(config.chroma.path);
  const chroma = sharedUrl ? undefined : await startLocalChroma({ path: config.chroma.path, logger });
  const embeddings = createEmbeddingProvider(config.chroma.embeddingProvider);
  const index = createToolIndex({
    chromaUrl: sharedUrl ?? chroma!.url,
    embeddings,
    logger,
    collectionPrefix: config.chroma.collectionPrefix,
  });
  try {
    await migrateUp(orm);
    const owners = new ConnectionOwnerLookup(orm.em);
    const counts = await index.rebuild(liveSearchCatalogue(owners), { stillLive: (ids) => owners.liveIds(ids) });
    console.log(JSON.stringify({ reindexed_connections: counts.connections, reindexed_tools: counts.tools }));
  } finally {
    await index.close();
    await embeddings.close();
    await chroma?.stop();
    await orm.close(true);
  }
});
