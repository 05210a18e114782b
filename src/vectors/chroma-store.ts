import { randomUUID } from 'node:crypto';
import {
  ChromaClient,
  ChromaConnectionError,
  ChromaNotFoundError,
  ChromaServerError,
  IncludeEnum,
  type Collection,
  type Metadata,
  type Where,
} from 'chromadb';
import { withTimeout } from '../common/deadline.js';
import type { Logger } from '../observability/logger.js';
import { collectionNameForNamespace, DEFAULT_COLLECTION_PREFIX, isToolIndexCollection } from './tool-document.js';

/** Per-record metadata; the keys are the contract with anyone reading the collection. */
export interface ToolRecordMetadata {
  namespace: string;
  agent_id: string;
  connection_id: string;
  server_name: string;
  tool_name: string;
  /** The tool's raw description, returned by search; absent when the tool has none. */
  description?: string;
}

export interface ToolRecord {
  id: string;
  document: string;
  metadata: ToolRecordMetadata;
  /** Present only when asked for (`records(…, { withEmbeddings: true })`). */
  embedding?: number[];
}

export interface ScoredRecord {
  id: string;
  /** Cosine distance in [0, 2]. */
  distance: number;
  metadata: ToolRecordMetadata;
}

export interface ScoredId {
  id: string;
  distance: number;
}

/**
 * Bump when the document or embedding recipe changes: collections written with
 * another format hold incompatible vectors and are reset on open.
 */
export const TOOL_INDEX_FORMAT = 1;

/** @default 5 s — an answer slower than this is treated as "Chroma is down". */
export const DEFAULT_CHROMA_REQUEST_TIMEOUT_MS = 5_000;

/** Records per upsert/get page; well under Chroma's max batch size. */
const PAGE_SIZE = 500;

/** Chroma did not answer within the request timeout. */
export class ChromaTimeoutError extends Error {
  constructor(operation: string, timeoutMs: number) {
    super(`Chroma ${operation} timed out after ${timeoutMs} ms`);
    this.name = 'ChromaTimeoutError';
  }
}

/** Errors that mean "the vector store is unreachable or broken right now", worth retrying later. */
export function isChromaUnavailable(error: unknown): boolean {
  return (
    error instanceof ChromaConnectionError ||
    error instanceof ChromaServerError ||
    error instanceof ChromaTimeoutError ||
    (error instanceof TypeError && /fetch failed/i.test(error.message))
  );
}

export function isChromaNotFound(error: unknown): boolean {
  return error instanceof ChromaNotFoundError;
}

function clientFromUrl(chromaUrl: string): ChromaClient {
  const url = new URL(chromaUrl);
  const ssl = url.protocol === 'https:';
  const port = url.port ? Number(url.port) : ssl ? 443 : 80;
  return new ChromaClient({ host: url.hostname.replace(/^\[|\]$/g, ''), port, ssl });
}

function toMetadata(value: Metadata | null | undefined): ToolRecordMetadata | undefined {
  if (!value) return undefined;
  const { namespace, agent_id, connection_id, server_name, tool_name, description } = value;
  if (
    typeof namespace !== 'string' ||
    typeof agent_id !== 'string' ||
    typeof connection_id !== 'string' ||
    typeof server_name !== 'string' ||
    typeof tool_name !== 'string'
  ) {
    return undefined;
  }
  return {
    namespace,
    agent_id,
    connection_id,
    server_name,
    tool_name,
    ...(typeof description === 'string' ? { description } : {}),
  };
}

/**
 * Thin, typed access to the per-namespace tool collections: timeouts on every call,
 * explicit embeddings (no embedding function on the Chroma side), cosine space, and
 * a `revision` stamp in the collection metadata that changes on every write so
 * other readers (and other gateway instances) can tell their caches are stale.
 */
export class ChromaToolStore {
  private readonly client: ChromaClient;
  private readonly collections = new Map<string, Collection>();

  constructor(
    chromaUrl: string,
    private readonly embedding: { name: string; dimensions: number },
    private readonly logger: Logger,
    private readonly timeoutMs = DEFAULT_CHROMA_REQUEST_TIMEOUT_MS,
    private readonly prefix = DEFAULT_COLLECTION_PREFIX,
  ) {
    this.client = clientFromUrl(chromaUrl);
  }

  /** Runs one Chroma call under the request timeout. */
  async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return withTimeout(run(), this.timeoutMs, () => new ChromaTimeoutError(operation, this.timeoutMs));
  }

  async heartbeat(): Promise<void> {
    await this.call('heartbeat', () => this.client.heartbeat());
  }

  private baseMetadata(namespace: string): Metadata {
    return {
      namespace,
      embedding_provider: this.embedding.name,
      dimensions: this.embedding.dimensions,
      index_format: TOOL_INDEX_FORMAT,
      collection_prefix: this.prefix,
    };
  }

  /** Collections written before prefixes existed carry none: they are the default deployment's. */
  private isOurs(metadata: Metadata | null | undefined): boolean {
    return (metadata?.['collection_prefix'] ?? DEFAULT_COLLECTION_PREFIX) === this.prefix;
  }

  private isCompatible(collection: Collection, namespace: string): boolean {
    const meta = collection.metadata ?? {};
    return (
      meta['namespace'] === namespace &&
      this.isOurs(meta) &&
      meta['embedding_provider'] === this.embedding.name &&
      meta['dimensions'] === this.embedding.dimensions &&
      meta['index_format'] === TOOL_INDEX_FORMAT
    );
  }

  /** The namespace's collection for writing, created on first use. */
  async writable(namespace: string): Promise<Collection> {
    const cached = this.collections.get(namespace);
    if (cached) return cached;
    const name = collectionNameForNamespace(namespace, this.prefix);
    const open = () =>
      this.call('getOrCreateCollection', () =>
        this.client.getOrCreateCollection({
          name,
          embeddingFunction: null,
          configuration: { hnsw: { space: 'cosine' } },
          metadata: { ...this.baseMetadata(namespace), revision: randomUUID() },
        }),
      );
    let collection = await open();
    if (!this.isCompatible(collection, namespace)) {
      // Vectors of another model (or format) cannot be compared with ours: start over.
      this.logger.warn(
        { collection: name, found: collection.metadata },
        'tool index collection was written by another embedding model or format; resetting it (run npm run tools:reindex)',
      );
      await this.call('deleteCollection', () => this.client.deleteCollection({ name }));
      collection = await open();
    }
    this.collections.set(namespace, collection);
    return collection;
  }

  /**
   * The namespace's collection with fresh metadata (for its revision), or undefined
   * when nothing was ever indexed there or it holds vectors of another model.
   */
  async readable(namespace: string): Promise<Collection | undefined> {
    try {
      const collection = await this.call('getCollection', () =>
        this.client.getCollection({ name: collectionNameForNamespace(namespace, this.prefix) }),
      );
      if (!this.isCompatible(collection, namespace)) return undefined;
      this.collections.set(namespace, collection);
      return collection;
    } catch (error) {
      if (isChromaNotFound(error)) {
        this.collections.delete(namespace);
        return undefined;
      }
      throw error;
    }
  }

  /** Forget a cached handle (after Chroma said the collection no longer exists). */
  forget(namespace: string): void {
    this.collections.delete(namespace);
  }

  async count(collection: Collection): Promise<number> {
    return this.call('count', () => collection.count());
  }

  /** Marks the collection as changed; readers compare revisions to refresh caches. */
  async touch(collection: Collection, namespace: string): Promise<void> {
    await this.call('modify', () => collection.modify({ metadata: { ...this.baseMetadata(namespace), revision: randomUUID() } }));
  }

  async records(collection: Collection, where?: Where, options: { withEmbeddings?: boolean } = {}): Promise<ToolRecord[]> {
    const records: ToolRecord[] = [];
    const include = [IncludeEnum.documents, IncludeEnum.metadatas];
    if (options.withEmbeddings) include.push(IncludeEnum.embeddings);
    for (let offset = 0; ; offset += PAGE_SIZE) {
      const page = await retryWhileSegmentUnwritten(() =>
        this.call('get', () => collection.get({ ...(where ? { where } : {}), limit: PAGE_SIZE, offset, include })),
      );
      page.ids.forEach((id, i) => {
        const metadata = toMetadata(page.metadatas[i]);
        const embedding = options.withEmbeddings ? page.embeddings[i] : undefined;
        if (metadata) records.push({ id, document: page.documents[i] ?? '', metadata, ...(embedding ? { embedding } : {}) });
      });
      if (page.ids.length < PAGE_SIZE) return records;
    }
  }

  async upsert(collection: Collection, records: ToolRecord[], embeddings: number[][]): Promise<void> {
    for (let start = 0; start < records.length; start += PAGE_SIZE) {
      const batch = records.slice(start, start + PAGE_SIZE);
      await this.call('upsert', () =>
        collection.upsert({
          ids: batch.map((r) => r.id),
          embeddings: embeddings.slice(start, start + PAGE_SIZE),
          documents: batch.map((r) => r.document),
          metadatas: batch.map((r) => ({ ...r.metadata })),
        }),
      );
    }
  }

  async deleteIds(collection: Collection, ids: string[]): Promise<void> {
    for (let start = 0; start < ids.length; start += PAGE_SIZE) {
      const batch = ids.slice(start, start + PAGE_SIZE);
      await this.call('delete', () => collection.delete({ ids: batch }));
    }
  }

  /** Nearest records to `vector`, with their metadata. */
  async nearest(collection: Collection, vector: number[], options: { limit: number; where?: Where }): Promise<ScoredRecord[]> {
    const result = await this.query(collection, vector, options, true);
    const scored: ScoredRecord[] = [];
    (result.ids[0] ?? []).forEach((id, i) => {
      const metadata = toMetadata(result.metadatas[0]?.[i]);
      const distance = result.distances[0]?.[i];
      if (metadata && typeof distance === 'number') scored.push({ id, distance, metadata });
    });
    return scored;
  }

  /** Nearest record ids only (optionally among `ids`): a smaller answer, for callers that hold the metadata already. */
  async nearestIds(
    collection: Collection,
    vector: number[],
    options: { limit: number; where?: Where; ids?: string[] },
  ): Promise<ScoredId[]> {
    const result = await this.query(collection, vector, options, false);
    const scored: ScoredId[] = [];
    (result.ids[0] ?? []).forEach((id, i) => {
      const distance = result.distances[0]?.[i];
      if (typeof distance === 'number') scored.push({ id, distance });
    });
    return scored;
  }

  private query(
    collection: Collection,
    vector: number[],
    options: { limit: number; where?: Where; ids?: string[] },
    withMetadata: boolean,
  ) {
    const run = () =>
      this.call('query', () =>
        collection.query({
          queryEmbeddings: [vector],
          nResults: options.limit,
          ...(options.where ? { where: options.where } : {}),
          ...(options.ids ? { ids: options.ids } : {}),
          include: withMetadata ? [IncludeEnum.distances, IncludeEnum.metadatas] : [IncludeEnum.distances],
        }),
      );
    return retryWhileSegmentUnwritten(run);
  }

  /** This deployment's tool-index collections, with the namespace each one holds. */
  async namespaces(): Promise<{ name: string; namespace: string | undefined }[]> {
    const found: { name: string; namespace: string | undefined }[] = [];
    for (let offset = 0; ; offset += 100) {
      const page = await this.call('listCollections', () => this.client.listCollections({ limit: 100, offset }));
      for (const c of page) {
        if (!isToolIndexCollection(c.name, this.prefix) || !this.isOurs(c.metadata)) continue;
        const namespace = c.metadata?.['namespace'];
        found.push({ name: c.name, namespace: typeof namespace === 'string' ? namespace : undefined });
      }
      if (page.length < 100) return found;
    }
  }

  async drop(name: string, namespace: string | undefined): Promise<void> {
    if (namespace !== undefined) this.collections.delete(namespace);
    await this.call('deleteCollection', () => this.client.deleteCollection({ name }));
  }
}

/** Waits between attempts of a read Chroma refused because a segment was not written yet (≈ 1.5 s in all). */
const SEGMENT_RETRY_DELAYS_MS = [50, 100, 200, 400, 800];

/** Chroma's error for a read that reached a collection before its vector segment was written to disk. */
function isSegmentNotWrittenYet(error: unknown): boolean {
  return /Nothing found on disk|Error creating hnsw segment reader/.test(error instanceof Error ? error.message : String(error));
}

/**
 * Chroma (1.0, local) answers a query, or a get with embeddings, on records written a
 * moment ago, before its vector segment reached the disk, with "Nothing found on disk".
 * Search runs beside indexing, so it meets that window; it is a
 * transient state of a healthy server, not an outage: retry briefly.
 */
async function retryWhileSegmentUnwritten<T>(run: () => Promise<T>): Promise<T> {
  for (const delayMs of SEGMENT_RETRY_DELAYS_MS) {
    try {
      return await run();
    } catch (error) {
      if (!isSegmentNotWrittenYet(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
  return run();
}
