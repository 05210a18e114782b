import type { Collection, Where } from 'chromadb';
import type { Principal } from '../auth/principal.js';
import { ServiceUnavailableError } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import {
  ChromaToolStore,
  DEFAULT_CHROMA_REQUEST_TIMEOUT_MS,
  isChromaNotFound,
  isChromaUnavailable,
  type ToolRecord,
  type ToolRecordMetadata,
} from './chroma-store.js';
import type { EmbeddingProvider } from './embeddings.js';
import {
  DEFAULT_CANDIDATE_POOL,
  DEFAULT_LEXICAL_WEIGHT,
  fuseScores,
  LexicalSnapshot,
  similarityFromDistance,
  topIds,
  type FusionCandidate,
  type RankedRecord,
} from './hybrid-ranking.js';
import { toolDocument, toolEmbeddingText, toolRecordId, type IndexableTool } from './tool-document.js';
import { DEFAULT_CATCH_UP_BACKOFF_MS, WriteQueue } from './write-queue.js';

export type { IndexableTool } from './tool-document.js';

export interface IndexedConnection {
  id: string;
  serverName: string;
  namespace: string;
  agentId: string;
}

export interface ToolMatch {
  connectionId: string;
  serverName: string;
  toolName: string;
  description: string | null;
  /** Similarity in [0, 1], higher is better. */
  score: number;
}

export type CatalogueEntry = { connection: IndexedConnection; tools: IndexableTool[] };
export type Catalogue = AsyncIterable<CatalogueEntry> | Iterable<CatalogueEntry>;

export interface ToolIndex {
  /**
   * Replaces the indexed set of this connection with `tools` (idempotent upsert keyed
   * by connection+tool; tools no longer present are deleted). If Chroma is down the
   * work is remembered and replayed when Chroma is back. Never throws.
   */
  replaceConnectionTools(connection: IndexedConnection, tools: IndexableTool[]): Promise<void>;
  /** Removes all of a connection's tools (disconnect). Same catch-up semantics. */
  removeConnection(connection: Pick<IndexedConnection, 'id' | 'namespace'>): Promise<void>;
  /**
   * Ranked matches among the tools `principal` may read: one collection per namespace,
   * and only the caller's own connections unless it is an admin. Sorted by score desc.
   * @throws ServiceUnavailableError when Chroma is unreachable.
   */
  search(principal: Principal, query: string, limit: number): Promise<ToolMatch[]>;
  /**
   * Rebuilds the index from a full catalogue listing: every listed tool is written,
   * everything else (other connections, namespaces no longer listed) is deleted.
   * Search keeps working meanwhile. `reuseEmbeddings` skips tools whose stored
   * document is unchanged (cheap startup catch-up); by default all are re-embedded.
   * @throws ServiceUnavailableError when Chroma is unreachable (the rebuild stays queued and runs when it is back).
   */
  rebuild(catalogue: Catalogue, options?: { reuseEmbeddings?: boolean }): Promise<{ connections: number; tools: number }>;
  health(): Promise<'ok' | 'down'>;
  /** Index writes waiting for Chroma (for readiness reporting). */
  pendingWrites(): number;
  close(): Promise<void>;
}

export type RankingMode = 'hybrid' | 'dense';

export interface ToolIndexOptions {
  chromaUrl: string;
  embeddings: EmbeddingProvider;
  logger: Logger;
  /** 'hybrid' fuses dense similarity with BM25; 'dense' is vectors only. @default 'hybrid' */
  ranking?: RankingMode;
  /** @default DEFAULT_LEXICAL_WEIGHT */
  lexicalWeight?: number;
  /** @default DEFAULT_CHROMA_REQUEST_TIMEOUT_MS */
  requestTimeoutMs?: number;
  /** @default DEFAULT_CATCH_UP_BACKOFF_MS */
  catchUpBackoffMs?: { initial: number; max: number };
}

/** Largest `limit` honoured by search; the API layer caps lower (50). */
export const MAX_SEARCH_LIMIT = 100;

/**
 * Tool texts whose vectors are kept in memory. Many connections (other agents, other
 * namespaces, reconnects) expose the very same server, so the same descriptions come
 * back again and again; embedding is the slow part of indexing (~10–40 ms per tool).
 * Queries are never cached here.
 * @default 10_000 (about 20 MB of 512-dimension vectors)
 */
export const TOOL_VECTOR_CACHE_SIZE = 10_000;

type WriteOp =
  | { kind: 'replace'; connection: IndexedConnection; tools: IndexableTool[] }
  | { kind: 'remove'; connection: Pick<IndexedConnection, 'id' | 'namespace'> }
  | {
      kind: 'rebuild';
      entries: CatalogueEntry[];
      reuseEmbeddings: boolean;
      settle: { resolve: (counts: { connections: number; tools: number }) => void; reject: (e: unknown) => void };
    };

export function createToolIndex(opts: ToolIndexOptions): ToolIndex {
  return new ChromaToolIndex(opts);
}

function unavailable(cause: unknown): ServiceUnavailableError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ServiceUnavailableError('Tool search is temporarily unavailable', 5, { component: 'chroma', reason });
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

class ChromaToolIndex implements ToolIndex {
  private readonly store: ChromaToolStore;
  private readonly queue: WriteQueue<WriteOp>;
  private readonly lexicon = new Map<string, Promise<LexicalSnapshot>>();
  private readonly toolVectors = new Map<string, number[]>();
  private readonly ranking: RankingMode;
  private readonly lexicalWeight: number;
  private readonly logger: Logger;

  constructor(private readonly opts: ToolIndexOptions) {
    this.logger = opts.logger.child({ component: 'tool-index' });
    this.ranking = opts.ranking ?? 'hybrid';
    this.lexicalWeight = opts.lexicalWeight ?? DEFAULT_LEXICAL_WEIGHT;
    this.store = new ChromaToolStore(
      opts.chromaUrl,
      opts.embeddings,
      this.logger,
      opts.requestTimeoutMs ?? DEFAULT_CHROMA_REQUEST_TIMEOUT_MS,
    );
    this.queue = new WriteQueue<WriteOp>({
      apply: (op) => this.apply(op),
      isTransient: isChromaUnavailable,
      onDropped: (op, error) => {
        if (op.kind === 'rebuild') op.settle.reject(error);
      },
      logger: this.logger,
      backoffMs: opts.catchUpBackoffMs ?? DEFAULT_CATCH_UP_BACKOFF_MS,
    });
  }

  async replaceConnectionTools(connection: IndexedConnection, tools: IndexableTool[]): Promise<void> {
    await this.queue.submit(connection.id, { kind: 'replace', connection, tools: [...tools] });
  }

  async removeConnection(connection: Pick<IndexedConnection, 'id' | 'namespace'>): Promise<void> {
    await this.queue.submit(connection.id, { kind: 'remove', connection: { id: connection.id, namespace: connection.namespace } });
  }

  async rebuild(catalogue: Catalogue, options: { reuseEmbeddings?: boolean } = {}): Promise<{ connections: number; tools: number }> {
    const entries: CatalogueEntry[] = [];
    for await (const entry of catalogue) entries.push({ connection: entry.connection, tools: [...entry.tools] });
    return new Promise((resolve, reject) => {
      const op: WriteOp = { kind: 'rebuild', entries, reuseEmbeddings: options.reuseEmbeddings ?? false, settle: { resolve, reject } };
      // A rebuild lists the whole catalogue, so writes queued before it are already covered.
      void this.queue.submit('\u0000rebuild', op, { clearOthers: true }).then(() => {
        if (this.queue.snapshot().includes(op)) reject(unavailable('vector store unreachable; rebuild queued for catch-up'));
      });
    });
  }

  async health(): Promise<'ok' | 'down'> {
    try {
      await this.store.heartbeat();
      this.queue.kick();
      return 'ok';
    } catch {
      return 'down';
    }
  }

  pendingWrites(): number {
    return this.queue.size;
  }

  async close(): Promise<void> {
    const dropped = this.queue.close();
    if (dropped > 0) {
      this.logger.warn({ dropped }, 'closing with index writes still pending; the next startup catch-up rebuilds them');
    }
  }

  // ---- writes -------------------------------------------------------------

  private async apply(op: WriteOp): Promise<void> {
    if (op.kind === 'replace') {
      await this.withCollectionRetry(op.connection.namespace, (c) => this.writeConnection(c, op.connection, op.tools, true));
    } else if (op.kind === 'remove') {
      await this.withCollectionRetry(op.connection.namespace, (c) => this.deleteConnection(c, op.connection));
    } else {
      op.settle.resolve(await this.applyRebuild(op.entries, op.reuseEmbeddings));
    }
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
    const fresh = await this.opts.embeddings.embed(missing);
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

  private async applyRebuild(entries: CatalogueEntry[], reuseEmbeddings: boolean): Promise<{ connections: number; tools: number }> {
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
        const listed = new Set(list.map((e) => e.connection.id));
        const leftovers = (await this.store.records(collection)).filter((r) => !listed.has(r.metadata.connection_id));
        await this.store.deleteIds(collection, leftovers.map((r) => r.id));
        return true;
      });
      tools += list.reduce((n, e) => n + uniqueByName(e.tools).length, 0);
    }
    for (const { name, namespace } of await this.store.namespaces()) {
      if (namespace === undefined || !byNamespace.has(namespace)) await this.store.drop(name, namespace);
    }
    this.logger.info({ namespaces: byNamespace.size, connections: entries.length, tools }, 'tool index rebuilt');
    return { connections: entries.length, tools };
  }

  // ---- search -------------------------------------------------------------

  async search(principal: Principal, query: string, limit: number): Promise<ToolMatch[]> {
    const text = query.trim();
    const wanted = Math.min(Math.max(Math.floor(limit), 1), MAX_SEARCH_LIMIT);
    if (text === '') return [];
    let collection: Collection | undefined;
    let vector: number[] | undefined;
    try {
      [collection, [vector]] = await Promise.all([this.store.readable(principal.namespace), this.opts.embeddings.embed([text])]);
    } catch (error) {
      throw isChromaUnavailable(error) ? unavailable(error) : error;
    }
    if (!collection || !vector) return [];
    try {
      const ranked =
        this.ranking === 'dense'
          ? await this.denseRanking(collection, principal, vector, wanted)
          : await this.hybridRanking(collection, principal, text, vector, wanted);
      this.queue.kick(); // Chroma answered: a good moment to replay queued writes
      const visible = this.visibilityFilter();
      return ranked
        .filter((r) => visible(r.metadata))
        .slice(0, wanted)
        .map((r) => ({
          connectionId: r.metadata.connection_id,
          serverName: r.metadata.server_name,
          toolName: r.metadata.tool_name,
          description: r.metadata.description ?? null,
          score: r.score,
        }));
    } catch (error) {
      if (isChromaNotFound(error)) return []; // the collection was dropped between our two calls
      throw isChromaUnavailable(error) ? unavailable(error) : error;
    }
  }

  private ownerFilter(principal: Principal): Where | undefined {
    return principal.role === 'admin' ? undefined : { agent_id: principal.agentId };
  }

  private readable(principal: Principal): (m: ToolRecordMetadata) => boolean {
    return (m) => m.namespace === principal.namespace && (principal.role === 'admin' || m.agent_id === principal.agentId);
  }

  private async denseRanking(collection: Collection, principal: Principal, vector: number[], wanted: number): Promise<RankedRecord[]> {
    const where = this.ownerFilter(principal);
    const hits = await this.store.nearest(collection, vector, { limit: wanted + this.queue.size + 10, ...(where ? { where } : {}) });
    return hits.map((h) => ({ id: h.id, metadata: h.metadata, score: similarityFromDistance(h.distance) }));
  }

  /**
   * Dense neighbours from Chroma fused with BM25 over the namespace snapshot. The
   * best lexical matches get their exact dense similarity from a second,
   * id-restricted Chroma query run in parallel (an estimate instead cost ranking
   * quality on the evaluation set).
   */
  private async hybridRanking(
    collection: Collection,
    principal: Principal,
    text: string,
    vector: number[],
    wanted: number,
  ): Promise<RankedRecord[]> {
    const where = this.ownerFilter(principal);
    const pool = Math.max(DEFAULT_CANDIDATE_POOL, wanted);
    const readable = this.readable(principal);
    const lexicon = await this.lexiconFor(collection, principal.namespace);
    const lexical = lexicon.matches(text, readable);
    const lexicalIds = topIds(lexical, pool);
    const [dense, forLexical] = await Promise.all([
      this.store.nearestIds(collection, vector, { limit: pool, ...(where ? { where } : {}) }),
      lexicalIds.length > 0
        ? this.store.nearestIds(collection, vector, { limit: lexicalIds.length, ids: lexicalIds, ...(where ? { where } : {}) })
        : Promise.resolve([]),
    ]);
    const candidates = new Map<string, FusionCandidate>();
    for (const hit of [...dense, ...forLexical]) {
      // Metadata comes from the snapshot of the same revision; a record written after it shows up next time.
      const metadata = lexicon.metadataOf(hit.id);
      if (!metadata || !readable(metadata)) continue;
      const similarity = similarityFromDistance(hit.distance);
      candidates.set(hit.id, { id: hit.id, metadata, similarity, lexical: lexical.get(hit.id) ?? 0 });
    }
    return fuseScores([...candidates.values()], this.lexicalWeight);
  }

  /** The namespace's BM25 snapshot, reloaded from Chroma whenever the collection revision moved. */
  private async lexiconFor(collection: Collection, namespace: string): Promise<LexicalSnapshot> {
    const revision = String(collection.metadata?.['revision'] ?? '');
    const cached = this.lexicon.get(namespace);
    if (cached) {
      const snapshot = await cached.catch(() => undefined);
      if (snapshot && snapshot.revision === revision) return snapshot;
    }
    const loading = this.store.records(collection).then((records) => new LexicalSnapshot(revision, records));
    this.lexicon.set(namespace, loading);
    loading.catch(() => this.lexicon.delete(namespace));
    return loading;
  }

  /** Hides results that queued (not yet applied) writes are about to delete. */
  private visibilityFilter(): (m: ToolRecordMetadata) => boolean {
    const pending = this.queue.snapshot();
    if (pending.length === 0) return () => true;
    const removed = new Set<string>();
    const replaced = new Map<string, Set<string>>();
    let rebuiltConnections: Set<string> | undefined;
    for (const op of pending) {
      if (op.kind === 'remove') removed.add(op.connection.id);
      else if (op.kind === 'replace') replaced.set(op.connection.id, new Set(op.tools.map((t) => t.name)));
      else rebuiltConnections = new Set(op.entries.map((e) => e.connection.id));
    }
    return (m) => {
      if (removed.has(m.connection_id)) return false;
      if (rebuiltConnections && !rebuiltConnections.has(m.connection_id) && !replaced.has(m.connection_id)) return false;
      const tools = replaced.get(m.connection_id);
      return tools ? tools.has(m.tool_name) : true;
    };
  }
}
