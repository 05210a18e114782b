import { EmbeddingThread } from './embedding-thread.js';
import { USE_LITE_DIMENSIONS } from './use-lite-model.js';

/**
 * Turns text into dense vectors. The gateway computes every embedding itself and
 * hands the vectors to Chroma, so the vector store never needs a model of its own.
 */
export interface EmbeddingProvider {
  readonly name: string;
  readonly dimensions: number;
  /**
   * Embeds `texts` in order; batched internally. `urgent` work (a search query) goes
   * before queued indexing work.
   */
  embed(texts: string[], options?: { urgent?: boolean }): Promise<number[][]>;
  /** Releases what the provider holds (the model's worker thread once no provider uses it). */
  close(): Promise<void>;
}

/** The default: Universal Sentence Encoder (lite), shipped inside the npm packages, no network. */
export const DEFAULT_EMBEDDING_PROVIDER = 'use-lite';

/**
 * Largest number of texts sent to the model in one call. Larger batches are not
 * faster on the TF.js CPU backend, make memory spikes worse, and make a search
 * query wait longer behind indexing work.
 * @default 32
 */
export const DEFAULT_EMBEDDING_BATCH_SIZE = 32;

/** One model (in one worker thread) per process, shared by every provider: it costs ~30 MB to load. */
let sharedThread: { thread: EmbeddingThread; users: number } | undefined;

function acquireThread(): EmbeddingThread {
  sharedThread ??= { thread: new EmbeddingThread(), users: 0 };
  sharedThread.users += 1;
  return sharedThread.thread;
}

async function releaseThread(thread: EmbeddingThread): Promise<void> {
  if (sharedThread?.thread !== thread) return;
  sharedThread.users -= 1;
  if (sharedThread.users > 0) return;
  sharedThread = undefined;
  await thread.close();
}

class UseLiteEmbeddingProvider implements EmbeddingProvider {
  readonly name = DEFAULT_EMBEDDING_PROVIDER;
  readonly dimensions = USE_LITE_DIMENSIONS;
  private thread: EmbeddingThread | undefined;

  constructor(private readonly batchSize: number) {}

  async embed(texts: string[], options: { urgent?: boolean } = {}): Promise<number[][]> {
    if (texts.length === 0) return [];
    this.thread ??= acquireThread();
    const thread = this.thread;
    const batches: Promise<number[][]>[] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      batches.push(thread.embed(texts.slice(start, start + this.batchSize), options.urgent ?? false));
    }
    return (await Promise.all(batches)).flat();
  }

  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    if (thread) await releaseThread(thread);
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
    throw new Error(`Unknown embedding provider '${name}' (TMWS_EMBEDDING_PROVIDER); available: ${EMBEDDING_PROVIDER_NAMES.join(', ')}`);
  }
  return factory(options.batchSize ?? DEFAULT_EMBEDDING_BATCH_SIZE);
}
