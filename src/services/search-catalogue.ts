import type { ConnectionOwnerLookup } from '../db/repositories/connection.repository.js';
import type { CatalogueEntry } from '../vectors/tool-index.js';

/** Every live connection's stored catalogue, shaped for the search index (reindex and startup catch-up). */
export async function* liveSearchCatalogue(owners: ConnectionOwnerLookup): AsyncGenerator<CatalogueEntry> {
  for await (const { connection, tools } of owners.liveCatalogues()) {
    yield {
      connection: { id: connection.id, serverName: connection.serverName, namespace: connection.namespace, agentId: connection.agentId },
      tools: tools.map((t) => ({
        name: t.name,
        ...(t.title ? { title: t.title } : {}),
        description: t.description ?? null,
        inputSchema: t.inputSchema,
      })),
    };
  }
}
