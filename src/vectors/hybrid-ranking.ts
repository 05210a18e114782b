import type { ToolRecord, ToolRecordMetadata } from './chroma-store.js';
import { Bm25Index } from './lexical-ranker.js';

/**
 * Share of the lexical score in the hybrid score. Chosen on the development
 * queries of eval/tool-search (see `npm run eval:tool-search`), then
 * checked on the held-out queries.
 * @default 0.25
 */
export const DEFAULT_LEXICAL_WEIGHT = 0.25;

/** Candidates taken from each retriever (dense and lexical) before fusion. @default 50 */
export const DEFAULT_CANDIDATE_POOL = 50;

/** Cosine distance (0…2) → similarity in [0, 1]; anti-correlated vectors count as unrelated. */
export function similarityFromDistance(distance: number): number {
  return Math.min(1, Math.max(0, 1 - distance));
}

export interface RankedRecord {
  id: string;
  metadata: ToolRecordMetadata;
  score: number;
}

export interface FusionCandidate {
  id: string;
  metadata: ToolRecordMetadata;
  /** Dense similarity in [0, 1]. */
  similarity: number;
  /** Raw BM25 score (0 when no query term matches). */
  lexical: number;
}

/**
 * score = (1 − w)·similarity + w·lexical / best lexical score among the candidates.
 * Stays in [0, 1]; the dense part keeps its absolute meaning, so an unrelated query
 * does not get a confident-looking top hit just because something matched best.
 */
export function fuseScores(candidates: FusionCandidate[], lexicalWeight = DEFAULT_LEXICAL_WEIGHT): RankedRecord[] {
  const bestLexical = Math.max(0, ...candidates.map((c) => c.lexical));
  return candidates
    .map((c) => ({
      id: c.id,
      metadata: c.metadata,
      score: (1 - lexicalWeight) * c.similarity + (bestLexical > 0 ? (lexicalWeight * c.lexical) / bestLexical : 0),
    }))
    .sort((a, b) => b.score - a.score);
}

/** The text BM25 sees for a record: its server name, then the stored document. */
function lexicalText(record: ToolRecord): string {
  return `${record.metadata.server_name} ${record.document}`;
}

/** Euclidean length of a vector. */
export function vectorNorm(v: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] ?? 0) * (v[i] ?? 0);
  return Math.sqrt(sum);
}

/** Who is searching: a cache key for what it may read, and the test itself. */
export interface Reader {
  /** Same key, same readable set (e.g. `*` for an admin, the agent id otherwise). */
  key: string;
  readable: (metadata: ToolRecordMetadata) => boolean;
}

/**
 * Every tool of one namespace at one collection revision: their metadata, BM25
 * indexes over the documents, and (for namespaces small enough) their vectors, so
 * lexical candidates can get exact dense scores without another Chroma query.
 * Rebuilt when the revision stamp in Chroma changes (any writer, any instance).
 */
export class NamespaceSnapshot {
  /**
   * One BM25 index per reader, over only what that reader may read: document
   * frequencies and lengths of another agent's tools must not move a caller's scores.
   */
  private readonly lexical = new Map<string, { index: Bm25Index; records: ToolRecord[] }>();
  private readonly byId: Map<string, ToolRecord>;
  private readonly vectors: Map<string, { vector: Float32Array; norm: number }> | undefined;

  constructor(
    readonly revision: string,
    private readonly records: readonly ToolRecord[],
  ) {
    this.byId = new Map(records.map((r) => [r.id, r]));
    const withVectors = records.length > 0 && records.every((r) => r.embedding !== undefined);
    this.vectors = withVectors
      ? new Map(records.map((r) => [r.id, { vector: Float32Array.from(r.embedding ?? []), norm: vectorNorm(r.embedding ?? []) }]))
      : undefined;
  }

  /** Records in the namespace at this revision. */
  get size(): number {
    return this.records.length;
  }

  get hasVectors(): boolean {
    return this.vectors !== undefined;
  }

  metadataOf(id: string): ToolRecordMetadata | undefined {
    return this.byId.get(id)?.metadata;
  }

  /** Dense similarity (as Chroma would report it) of a stored record to `query`. */
  similarityOf(id: string, query: number[], queryNorm: number): number | undefined {
    const stored = this.vectors?.get(id);
    if (!stored || stored.norm === 0 || queryNorm === 0) return undefined;
    let dot = 0;
    for (let i = 0; i < stored.vector.length; i++) dot += (stored.vector[i] ?? 0) * (query[i] ?? 0);
    return similarityFromDistance(1 - dot / (stored.norm * queryNorm));
  }

  /** BM25 score, among what `reader` may read, of every record that matches `query` at all, by record id. */
  matches(query: string, reader: Reader): Map<string, number> {
    const { index, records } = this.lexicalFor(reader);
    const scores = index.score(query, { expand: true });
    const byId = new Map<string, number>();
    scores.forEach((lexical, i) => {
      const record = records[i];
      if (record && lexical > 0) byId.set(record.id, lexical);
    });
    return byId;
  }

  private lexicalFor(reader: Reader): { index: Bm25Index; records: ToolRecord[] } {
    let lexical = this.lexical.get(reader.key);
    if (!lexical) {
      const records = this.records.filter((r) => reader.readable(r.metadata));
      lexical = { index: new Bm25Index(records.map(lexicalText)), records };
      this.lexical.set(reader.key, lexical);
    }
    return lexical;
  }
}

/** Ids of the `limit` highest-scoring entries. */
export function topIds(scores: Map<string, number>, limit: number): string[] {
  return [...scores.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([id]) => id);
}
