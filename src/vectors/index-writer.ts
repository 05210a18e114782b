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

export interface PruneOptions {
  /**
   * Which of `connectionIds` are live in the database right now. A connection created
   * (and indexed) after the catalogue was listed keeps its vectors.
   */
  stillLive?: (connectionIds: string[]) => Promise<ReadonlySet<string>>;
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

/** Connections and (distinct) tools in a catalogue listing. */
export function catalogueCounts(entries: CatalogueEntry[]): { connections: number; tools: number } {
  return { connections: entries.length, tools: entries.reduce((n, e) => n + uniqueByName(e.tools).length, 0) };
}

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
 * Tools embedded and written per step of a connection's replacement: one embedding
 * batch. Between steps the write queue serves other namespaces, so this bounds how
 * long one namespace's indexing delays another's.
 * @default 32
 */
export const INDEX_STEP_TOOLS = 32;

/** What is left of replacing one connection's tools after a step. */
export interface ReplaceProgress {
  /** Records still to embed and upsert, with the text behind each one's vector. */
  pending: { record: ToolRecord; text: string }[];
  /** Ids of tools the connection no longer lists; deleted by the last step. */
  stale: string[];
  /** Whether the replacement changes anything at all (the last step then marks the collection changed). */
  changed: boolean;
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
    private readonly stepTools = INDEX_STEP_TOOLS,
  ) {}

  /**
   * One bounded step of replacing a connection's indexed tools with `tools`: the
   * first step plans (what changed, what vanished), each step embeds and upserts
   * at most `stepTools` tools, the last deletes vanished ones. Returns what is left.
   * Only the last step stamps a new collection revision: every stamp makes searchers
   * reload the namespace snapshot, and a large catalogue would otherwise cause one
   * reload per step. The tools become searchable together, when the last step is done.
   */
  async replaceConnectionStep(
    connection: IndexedConnection,
    tools: IndexableTool[],
    progress?: ReplaceProgress,
    reuseEmbeddings = true,
  ): Promise<ReplaceProgress | undefined> {
    let rest: ReplaceProgress | undefined;
    await this.withCollectionRetry(connection.namespace, async (collection, reopened) => {
      // A plan made against a collection that vanished meanwhile is void: plan again.
      const plan = progress && !reopened ? progress : await this.planReplace(collection, connection, tools, reuseEmbeddings);
      rest = await this.applyStep(collection, plan, this.stepTools);
      return rest === undefined && plan.changed;
    });
    return rest;
  }

  async removeConnection(connection: Pick<IndexedConnection, 'id' | 'namespace'>): Promise<void> {
    await this.withCollectionRetry(connection.namespace, (c) => this.deleteConnection(c, connection));
  }

  /** Runs `write` on the namespace's collection; once more on a fresh handle if it was dropped meanwhile. */
  private async withCollectionRetry(namespace: string, write: (c: Collection, reopened: boolean) => Promise<boolean>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const collection = await this.store.writable(namespace);
        if (await write(collection, attempt > 0)) await this.store.touch(collection, namespace);
        return;
      } catch (error) {
        if (!isChromaNotFound(error) || attempt > 0) throw error;
        this.store.forget(namespace);
      }
    }
  }

  /** Which of the connection's tools need (re-)embedding, and which stored ones it no longer lists. */
  private async planReplace(
    collection: Collection,
    connection: IndexedConnection,
    tools: IndexableTool[],
    reuseEmbeddings: boolean,
  ): Promise<ReplaceProgress> {
    const wanted = uniqueByName(tools).map((tool) => ({ tool, record: recordFor(connection, tool) }));
    const existing = await this.store.records(collection, { connection_id: connection.id });
    const existingById = new Map(existing.map((r) => [r.id, r]));
    const pending = wanted
      .filter(({ record }) => {
        const old = existingById.get(record.id);
        return !reuseEmbeddings || !old || !sameRecord(old, record);
      })
      .map(({ tool, record }) => ({ record, text: toolEmbeddingText(tool) }));
    const keep = new Set(wanted.map(({ record }) => record.id));
    const stale = existing.filter((r) => !keep.has(r.id)).map((r) => r.id);
    return { pending, stale, changed: pending.length > 0 || stale.length > 0 };
  }

  /** Embeds and upserts up to `limit` pending records; deletes the stale ones once nothing is pending. */
  private async applyStep(collection: Collection, plan: ReplaceProgress, limit: number): Promise<ReplaceProgress | undefined> {
    const step = plan.pending.slice(0, limit);
    if (step.length > 0) {
      const vectors = await this.embedTools(step.map((p) => p.text));
      await this.store.upsert(
        collection,
        step.map((p) => p.record),
        vectors,
      );
    }
    if (plan.pending.length > limit) return { ...plan, pending: plan.pending.slice(limit) };
    await this.store.deleteIds(collection, plan.stale);
    return undefined;
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
   * The last step of a pruning rebuild: deletes the vectors of every connection the
   * catalogue does not list (in this deployment's collections only), unless
   * `stillLive` says it became live after the listing was taken; drops collections
   * left with nothing live. `keep`: connections newer writes took care of.
   */
  async pruneUnlistedEverywhere(entries: CatalogueEntry[], prune: PruneOptions, keep: ReadonlySet<string>): Promise<void> {
    const listed = new Set([...entries.map((e) => e.connection.id), ...keep]);
    const listedNamespaces = new Set(entries.map((e) => e.connection.namespace));
    for (const { name, namespace } of await this.store.namespaces()) {
      const collection = namespace === undefined ? undefined : await this.store.readable(namespace);
      const kept = collection && namespace !== undefined ? await this.pruneUnlisted(collection, namespace, listed, prune) : 0;
      if (kept === 0 && (namespace === undefined || !listedNamespaces.has(namespace))) await this.store.drop(name, namespace);
    }
    this.logger.info({ namespaces: listedNamespaces.size, ...catalogueCounts(entries) }, 'tool index rebuilt');
  }

  /** Deletes records of connections neither listed nor live now; returns how many records remain unlisted. */
  private async pruneUnlisted(
    collection: Collection,
    namespace: string,
    listed: ReadonlySet<string>,
    prune: PruneOptions,
  ): Promise<number> {
    const leftovers = (await this.store.records(collection)).filter((r) => !listed.has(r.metadata.connection_id));
    if (leftovers.length === 0) return 0;
    const live = prune.stillLive ? await prune.stillLive([...new Set(leftovers.map((r) => r.metadata.connection_id))]) : new Set();
    const dead = leftovers.filter((r) => !live.has(r.metadata.connection_id));
    if (dead.length > 0) {
      await this.store.deleteIds(
        collection,
        dead.map((r) => r.id),
      );
      await this.store.touch(collection, namespace);
      this.logger.info({ namespace, deleted: dead.length }, 'vectors of connections not live here pruned');
    }
    return leftovers.length - dead.length;
  }
}
