import type { Collection, Where } from 'chromadb';
import type { Principal } from '../auth/principal.js';
import { ServiceUnavailableError } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import { ChromaToolStore, DEFAULT_CHROMA_REQUEST_TIMEOUT_MS, isChromaNotFound, isChromaUnavailable } from './chroma-store.js';
import type { EmbeddingProvider } from './embeddings.js';
import {
  DEFAULT_CANDIDATE_POOL,
  DEFAULT_LEXICAL_WEIGHT,
  fuseScores,
  NamespaceSnapshot,
  similarityFromDistance,
  topIds,
  type FusionCandidate,
  type RankedRecord,
  type Reader,
  vectorNorm,
} from './hybrid-ranking.js';
import { applyWriteStep, visibleDespitePendingWrites, type RebuildOp, type WriteOp } from './index-write-ops.js';
import { IndexWriter, type Catalogue, type CatalogueEntry, type IndexedConnection, type PruneOptions } from './index-writer.js';
import type { IndexableTool } from './tool-document.js';
import { DEFAULT_CATCH_UP_BACKOFF_MS, WriteQueue } from './write-queue.js';

export type { IndexableTool } from './tool-document.js';
export type { Catalogue, CatalogueEntry, IndexedConnection } from './index-writer.js';
export { TOOL_VECTOR_CACHE_SIZE } from './index-writer.js';

export interface ToolMatch {
  connectionId: string;
  serverName: string;
  toolName: string;
  description: string | null;
  /** Similarity in [0, 1], higher is better. */
  score: number;
}

export interface RebuildOptions extends PruneOptions {
  /** Keep the vectors of tools whose text did not change. @default false */
  reuseEmbeddings?: boolean;
  /**
   * Delete what the catalogue does not list (connections not live in this
   * database), in this deployment's collections only (`collectionPrefix`).
   * @default true
   */
  prune?: boolean;
}

/**
 * Which connections (by id) may appear in a search answer. The index holds what it
 * was told; the database says what is live and readable now.
 */
export type LiveConnectionFilter = (connectionIds: string[]) => Promise<ReadonlySet<string>>;

export interface ToolIndex {
  /**
   * Replaces the indexed set of this connection with `tools` (idempotent upsert keyed
   * by connection+tool; tools no longer present are deleted). Queued fairly per
   * namespace; resolves once applied, or remembered for catch-up when Chroma is down.
   * Never throws, so callers on a request path need not wait for it.
   */
  replaceConnectionTools(connection: IndexedConnection, tools: IndexableTool[]): Promise<void>;
  /** Removes all of a connection's tools (disconnect). Same catch-up semantics. */
  removeConnection(connection: Pick<IndexedConnection, 'id' | 'namespace'>): Promise<void>;
  /**
   * Ranked matches among the tools `principal` may read: one collection per namespace,
   * and only the caller's own connections unless it is an admin. Sorted by score desc.
   * With `live`, matches of connections it does not return are left out (before `limit`).
   * @throws ServiceUnavailableError when Chroma is unreachable.
   */
  search(principal: Principal, query: string, limit: number, live?: LiveConnectionFilter): Promise<ToolMatch[]>;
  /**
   * Rebuilds the index from a full catalogue listing: every listed tool is written,
   * everything else (other connections, namespaces no longer listed) is deleted.
   * Search keeps working meanwhile. `reuseEmbeddings` skips tools whose stored
   * document is unchanged (cheap startup catch-up); by default all are re-embedded.
   * @throws ServiceUnavailableError when Chroma is unreachable (the rebuild stays queued and runs when it is back).
   */
  rebuild(catalogue: Catalogue, options?: RebuildOptions): Promise<{ connections: number; tools: number }>;
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
  /** @default SNAPSHOT_VECTOR_LIMIT */
  snapshotVectorLimit?: number;
  /** Prefix of this deployment's collection names (`TMWS_CHROMA_PREFIX`). @default DEFAULT_COLLECTION_PREFIX */
  collectionPrefix?: string;
  /** @default INDEX_STEP_TOOLS */
  stepTools?: number;
}

/** Largest `limit` honoured by search; the API layer caps lower (50). */
export const MAX_SEARCH_LIMIT = 100;

/**
 * Namespaces up to this many tools keep their vectors in the search snapshot
 * (~2 KB each) to score lexical candidates locally; larger ones ask Chroma instead.
 * @default 20_000
 */
export const SNAPSHOT_VECTOR_LIMIT = 20_000;

export function createToolIndex(opts: ToolIndexOptions): ToolIndex {
  return new ChromaToolIndex(opts);
}

/**
 * What a caller hears while Chroma cannot be reached: a stable reason, never
 * Chroma's own message (its client's hints about its server's settings mean
 * nothing to an agent); `/health/ready` and the logs tell the operator.
 */
function unavailable(reason: 'unreachable' | 'rebuild_queued'): ServiceUnavailableError {
  return new ServiceUnavailableError('Tool search is temporarily unavailable', {}, { component: 'chroma', reason });
}

class ChromaToolIndex implements ToolIndex {
  private readonly store: ChromaToolStore;
  private readonly queue: WriteQueue<WriteOp>;
  private readonly writer: IndexWriter;
  private readonly snapshots = new Map<string, Promise<NamespaceSnapshot>>();
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
      opts.collectionPrefix,
    );
    this.writer = new IndexWriter(this.store, opts.embeddings, this.logger, opts.stepTools);
    this.queue = new WriteQueue<WriteOp>({
      apply: (op) => applyWriteStep(this.writer, op),
      isTransient: isChromaUnavailable,
      onDropped: (op, error) => {
        if (op.kind === 'rebuild') op.settle.reject(error);
      },
      logger: this.logger,
      backoffMs: opts.catchUpBackoffMs ?? DEFAULT_CATCH_UP_BACKOFF_MS,
    });
  }

  async replaceConnectionTools(connection: IndexedConnection, tools: IndexableTool[]): Promise<void> {
    this.supersede(connection.id);
    await this.queue.submit(connection.namespace, connection.id, { kind: 'replace', connection, tools: [...tools] });
  }

  async removeConnection(connection: Pick<IndexedConnection, 'id' | 'namespace'>): Promise<void> {
    const target = { id: connection.id, namespace: connection.namespace };
    this.supersede(connection.id);
    await this.queue.submit(connection.namespace, connection.id, { kind: 'remove', connection: target });
  }

  async rebuild(catalogue: Catalogue, options: RebuildOptions = {}): Promise<{ connections: number; tools: number }> {
    const entries: CatalogueEntry[] = [];
    for await (const entry of catalogue) entries.push({ connection: entry.connection, tools: [...entry.tools] });
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle: RebuildOp['settle'] = {
        reject: (error: unknown) => {
          if (!settled) reject(error);
          settled = true;
        },
      };
      const prune = options.prune === false ? false : { ...(options.stillLive ? { stillLive: options.stillLive } : {}) };
      const reuseEmbeddings = options.reuseEmbeddings ?? false;
      // Writes still queued were submitted after their change reached the database, so they are at least as new
      // as the listing (and a later change queues another): the rebuild leaves those connections to them.
      const superseded = new Set(this.queue.snapshot().flatMap((o) => (o.kind === 'rebuild' ? [] : [o.connection.id])));
      const op: RebuildOp = { kind: 'rebuild', entries, reuseEmbeddings, prune, settle, next: 0, superseded };
      // Bounded steps like any write, taking turns with the namespaces. Settled once the queue is past the
      // last step, so a caller that closes the index right after sees nothing pending.
      void this.queue.submit('\u0000rebuild', 'rebuild', op).then(() => {
        if (settle.done) {
          settled = true;
          return resolve(settle.done);
        }
        const parked = this.queue.snapshot().some((o) => o.kind === 'rebuild' && o.settle === settle);
        if (parked) settle.reject(unavailable('rebuild_queued'));
        else settle.reject(new Error('rebuild did not run: the tool index is closed or a newer rebuild replaced it'));
      });
    });
  }

  /** When a search last logged that Chroma was unreachable: at most once a minute, however many searches fail. */
  private unreachableLoggedAt = -Infinity;

  /** Chroma out of reach → the caller's 503 (the cause logged here, for the operator); anything else as raised. */
  private unavailableOr(error: unknown): unknown {
    if (!isChromaUnavailable(error)) return error;
    const now = performance.now();
    if (now - this.unreachableLoggedAt >= 60_000) {
      this.unreachableLoggedAt = now;
      this.logger.warn({ err: error }, 'tool search: Chroma unreachable; searches answer 503 until it is back (logged once a minute)');
    }
    return unavailable('unreachable');
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
    this.snapshots.clear();
    if (dropped > 0) {
      this.logger.warn({ dropped }, 'closing with index writes still pending; the next startup catch-up rebuilds them');
    }
  }

  /** A newer write of `connectionId` wins over what a pending rebuild listed for it. */
  private supersede(connectionId: string): void {
    for (const op of this.queue.snapshot()) if (op.kind === 'rebuild') op.superseded.add(connectionId);
  }

  async search(principal: Principal, query: string, limit: number, live?: LiveConnectionFilter): Promise<ToolMatch[]> {
    const text = query.trim();
    const wanted = Number.isFinite(limit) ? Math.min(Math.max(Math.floor(limit), 1), MAX_SEARCH_LIMIT) : 10;
    if (text === '') return [];
    let collection: Collection | undefined;
    let vector: number[] | undefined;
    try {
      [collection, [vector]] = await Promise.all([
        this.store.readable(principal.namespace),
        this.opts.embeddings.embed([text], { urgent: true }),
      ]);
    } catch (error) {
      throw this.unavailableOr(error);
    }
    if (!collection || !vector) return [];
    try {
      const ranked =
        this.ranking === 'dense'
          ? await this.denseRanking(collection, principal, vector, wanted)
          : await this.hybridRanking(collection, principal, text, vector, wanted);
      this.queue.kick(); // Chroma answered: a good moment to replay queued writes
      const visible = visibleDespitePendingWrites(this.queue.snapshot());
      const shown = ranked.filter((r) => visible(r.metadata));
      const liveIds = live ? await live([...new Set(shown.map((r) => r.metadata.connection_id))]) : undefined;
      return shown
        .filter((r) => !liveIds || liveIds.has(r.metadata.connection_id))
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
      throw this.unavailableOr(error);
    }
  }

  private ownerFilter(principal: Principal): Where | undefined {
    return principal.role === 'admin' ? undefined : { agent_id: principal.agentId };
  }

  private reader(principal: Principal): Reader {
    const admin = principal.role === 'admin';
    return {
      key: admin ? '*' : `agent:${principal.agentId}`,
      readable: (m) => m.namespace === principal.namespace && (admin || m.agent_id === principal.agentId),
    };
  }

  private async denseRanking(collection: Collection, principal: Principal, vector: number[], wanted: number): Promise<RankedRecord[]> {
    const where = this.ownerFilter(principal);
    if ((await this.store.count(collection)) === 0) return []; // nothing on disk yet: Chroma would fail the query
    const hits = await this.store.nearest(collection, vector, { limit: wanted + this.queue.size + 10, ...(where ? { where } : {}) });
    return hits.map((h) => ({ id: h.id, metadata: h.metadata, score: similarityFromDistance(h.distance) }));
  }

  /**
   * Dense neighbours from Chroma fused with BM25 over the namespace snapshot. The
   * best lexical matches need exact dense scores too (an estimate cost ranking
   * quality on the evaluation set): computed from the snapshot's vectors when it
   * holds them, else by a second, id-restricted Chroma query in parallel.
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
    const reader = this.reader(principal);
    const { readable } = reader;
    const snapshot = await this.snapshotOf(collection, principal.namespace);
    // A collection created a moment ago has nothing on disk yet, and Chroma fails a query on it.
    if (snapshot.size === 0) return [];
    const lexical = snapshot.matches(text, reader);
    const lexicalIds = topIds(lexical, pool);
    const remote = !snapshot.hasVectors && lexicalIds.length > 0;
    const [dense, forLexical] = await Promise.all([
      this.store.nearestIds(collection, vector, { limit: pool, ...(where ? { where } : {}) }),
      remote
        ? this.store.nearestIds(collection, vector, { limit: lexicalIds.length, ids: lexicalIds, ...(where ? { where } : {}) })
        : Promise.resolve([]),
    ]);
    const candidates = new Map<string, FusionCandidate>();
    const add = (id: string, similarity: number) => {
      // Metadata comes from the snapshot of the same revision; a record written after it shows up next time.
      const metadata = snapshot.metadataOf(id);
      if (metadata && readable(metadata)) candidates.set(id, { id, metadata, similarity, lexical: lexical.get(id) ?? 0 });
    };
    for (const hit of [...dense, ...forLexical]) add(hit.id, similarityFromDistance(hit.distance));
    if (snapshot.hasVectors) {
      const queryNorm = vectorNorm(vector);
      for (const id of lexicalIds) {
        const similarity = candidates.has(id) ? undefined : snapshot.similarityOf(id, vector, queryNorm);
        if (similarity !== undefined) add(id, similarity);
      }
    }
    return fuseScores([...candidates.values()], this.lexicalWeight);
  }

  /** The namespace's snapshot, reloaded from Chroma whenever the collection revision moved. */
  private async snapshotOf(collection: Collection, namespace: string): Promise<NamespaceSnapshot> {
    const stamped = collection.metadata?.['revision'];
    const revision = typeof stamped === 'string' ? stamped : '';
    const cached = this.snapshots.get(namespace);
    if (cached) {
      const snapshot = await cached.catch(() => undefined);
      if (snapshot && snapshot.revision === revision) return snapshot;
    }
    const loading = (async () => {
      const withEmbeddings = (await this.store.count(collection)) <= (this.opts.snapshotVectorLimit ?? SNAPSHOT_VECTOR_LIMIT);
      return new NamespaceSnapshot(revision, await this.store.records(collection, undefined, { withEmbeddings }));
    })();
    this.snapshots.set(namespace, loading);
    loading.catch(() => this.snapshots.delete(namespace));
    return loading;
  }
}
