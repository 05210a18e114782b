import type { Collection } from 'chromadb';
import type { Logger } from '../observability/logger.js';
import { isChromaNotFound, type ChromaToolStore, type ToolRecord, type ToolRecordMetadata } from './chroma-store.js';
import type { EmbeddingProvider } from './embeddings.js';
import { toolDocument, toolEmbeddingText, toolRecordId, type IndexableTool } from './tool-document.js';

export interface IndexedConnection {
  id: string;
  serverName: string;
  namespace: string;
  agentId: string;
}

export type CatalogueEntry = { connection: IndexedConnection; tools: IndexableTool[] };
export type Catalogue = AsyncIterable<CatalogueEntry> | Iterable<CatalogueEntry>;

/**
 * Tool texts whose vectors are kept in memory. Many connections (other agents, other
 * namespaces, reconnects) expose the very same server, so the same descriptions come
 * back again and again; embedding is the slow part of indexing (~10–40 ms per tool).
 * Queries are never cached here.
 * @default 10_000 (about 20 MB of 512-dimension vectors)
 */
export const TOOL_VECTOR_CACHE_SIZE = 10_000;

/** Last write wins for a tool name listed twice. */
function uniqueByName(tools: IndexableTool[]): IndexableTool[] {
  return [...new Map(tools.map((t) => [t.name, t])).values()];
}

function recordFor(connection: IndexedConnection, tool: IndexableTool): ToolRecord {
  return {
    id: toolRecordId(connection.id, tool.name),
    document: toolDocument(tool),
    metadata: {
      namespace: connection.namespace,
      agent_id: connection.agentId,
      connection_id: connection.id,
      server_name: connection.serverName,
      tool_name: tool.name,
      ...(tool.description ? { description: tool.description } : {}),
    },
  };
}

function sameRecord(a: ToolRecord, b: ToolRecord): boolean {
  const keys = new Set([...Object.keys(a.metadata), ...Object.keys(b.metadata)]) as Set<keyof ToolRecordMetadata>;
  return a.document === b.document && [...keys].every((k) => a.metadata[k] === b.metadata[k]);
}

/**
 * The write side of the tool index: turns tool lists into Chroma records, embeds
 * only what changed, and deletes what vanished. Every method throws on failure;
 * the caller's write queue decides whether to retry.
 */
export class IndexWriter {
  private readonly toolVectors = new Map<string, number[]>();

  constructor(
    private readonly store: ChromaToolStore,
    private readonly embeddings: EmbeddingProvider,
    private readonly logger: Logger,
  ) {}

  async replaceConnection(connection: IndexedConnection, tools: IndexableTool[]): Promise<void> {
    await this.withCollectionRetry(connection.namespace, (c) => this.writeConnection(c, connection, tools, true));
  }

  async removeConnection(connection: Pick<IndexedConnection, 'id' | 'namespace'>): Promise<void> {
    await this.withCollectionRetry(connection.namespace, (c) => this.deleteConnection(c, connection));
  }

  /** Runs `write` on the namespace's collection; once more on a fresh handle if it was dropped meanwhile. */
  private async withCollectionRetry(namespace: string, write: (c: Collection) => Promise<boolean>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const collection = await this.store.writable(namespace);
        if (await write(collection)) await this.store.touch(collection, namespace);
        return;
      } catch (error) {
        if (!isChromaNotFound(error) || attempt > 0) throw error;
        this.store.forget(namespace);
      }
    }
  }

  /** Upserts changed tools and deletes vanished ones; returns whether anything changed. */
  private async writeConnection(
    collection: Collection,
    connection: IndexedConnection,
    tools: IndexableTool[],
    reuseEmbeddings: boolean,
  ): Promise<boolean> {
    const unique = uniqueByName(tools);
    const wanted = unique.map((tool) => ({ tool, record: recordFor(connection, tool) }));
    const existing = await this.store.records(collection, { connection_id: connection.id });
    const existingById = new Map(existing.map((r) => [r.id, r]));
    const changed = wanted.filter(({ record }) => {
      const old = existingById.get(record.id);
      return !reuseEmbeddings || !old || !sameRecord(old, record);
    });
    if (changed.length > 0) {
      const vectors = await this.embedTools(changed.map(({ tool }) => toolEmbeddingText(tool)));
      await this.store.upsert(collection, changed.map(({ record }) => record), vectors);
    }
    const keep = new Set(wanted.map(({ record }) => record.id));
    const stale = existing.filter((r) => !keep.has(r.id)).map((r) => r.id);
    await this.store.deleteIds(collection, stale);
    return changed.length > 0 || stale.length > 0;
  }

  /** Embeds tool texts, reusing vectors of texts seen recently (least recently used are evicted). */
  private async embedTools(texts: string[]): Promise<number[][]> {
    const missing = [...new Set(texts.filter((t) => !this.toolVectors.has(t)))];
    const fresh = await this.embeddings.embed(missing);
    missing.forEach((text, i) => this.toolVectors.set(text, fresh[i] ?? []));
    const vectors = texts.map((text) => {
      const vector = this.toolVectors.get(text) ?? [];
      this.toolVectors.delete(text); // re-insert: Map order doubles as recency order
      this.toolVectors.set(text, vector);
      return vector;
    });
    for (const oldest of this.toolVectors.keys()) {
      if (this.toolVectors.size <= TOOL_VECTOR_CACHE_SIZE) break;
      this.toolVectors.delete(oldest);
    }
    return vectors;
  }

  private async deleteConnection(collection: Collection, connection: Pick<IndexedConnection, 'id'>): Promise<boolean> {
    const ids = (await this.store.records(collection, { connection_id: connection.id })).map((r) => r.id);
    await this.store.deleteIds(collection, ids);
    return ids.length > 0;
  }

  /**
   * Writes every listed connection; with `prune`, also deletes whatever the
   * catalogue no longer lists (other connections, whole namespaces).
   */
  async rebuild(entries: CatalogueEntry[], reuseEmbeddings: boolean, prune = true): Promise<{ connections: number; tools: number }> {
    const byNamespace = new Map<string, CatalogueEntry[]>();
    for (const entry of entries) {
      const list = byNamespace.get(entry.connection.namespace) ?? [];
      list.push(entry);
      byNamespace.set(entry.connection.namespace, list);
    }
    let tools = 0;
    for (const [namespace, list] of byNamespace) {
      await this.withCollectionRetry(namespace, async (collection) => {
        for (const { connection, tools: connectionTools } of list) {
          await this.writeConnection(collection, connection, connectionTools, reuseEmbeddings);
        }
        if (!prune) return true;
        const listed = new Set(list.map((e) => e.connection.id));
        const leftovers = (await this.store.records(collection)).filter((r) => !listed.has(r.metadata.connection_id));
        await this.store.deleteIds(collection, leftovers.map((r) => r.id));
        return true;
      });
      tools += list.reduce((n, e) => n + uniqueByName(e.tools).length, 0);
    }
    if (prune) {
      for (const { name, namespace } of await this.store.namespaces()) {
        if (namespace === undefined || !byNamespace.has(namespace)) await this.store.drop(name, namespace);
      }
    }
    this.logger.info({ namespaces: byNamespace.size, connections: entries.length, tools }, 'tool index rebuilt');
    return { connections: entries.length, tools };
  }

}
