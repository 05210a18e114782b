import { describe, expect, it } from 'vitest';
import { createEmbeddingProvider } from '../../src/vectors/embeddings.js';

const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

describe('embedding providers', () => {
  it('rejects an unknown provider name with the list of known ones', () => {
    expect(() => createEmbeddingProvider('openai-large')).toThrow(/Unknown embedding provider 'openai-large'.*use-lite/);
  });

  it('use-lite embeds offline into 512 unit-length dimensions, batched in input order', async () => {
    const provider = createEmbeddingProvider('use-lite', { batchSize: 2 });
    expect(provider).toMatchObject({ name: 'use-lite', dimensions: 512 });
    const texts = ['search the web for news', 'look up recent headlines online', 'delete the database table', ''];
    const vectors = await provider.embed(texts);

    expect(vectors).toHaveLength(4);
    for (const v of vectors) expect(v).toHaveLength(512);
    expect(Math.hypot(...vectors[0]!)).toBeCloseTo(1, 3);
    // Batching must not reorder: each text embeds the same alone as in the batch.
    const [alone] = await provider.embed([texts[2]!]);
    expect(cosine(alone!, vectors[2]!)).toBeCloseTo(1, 4);
    // And the vectors carry meaning.
    expect(cosine(vectors[0]!, vectors[1]!)).toBeGreaterThan(cosine(vectors[0]!, vectors[2]!));
    expect(await provider.embed([])).toEqual([]);
  });

  it('answers a query before indexing work queued ahead of it, and gives the same vectors either way', async () => {
    const provider = createEmbeddingProvider('use-lite', { batchSize: 8 });
    try {
      const tools = Array.from({ length: 96 }, (_, i) => `Generated tool number ${i} that manages records of kind ${i % 7}`);
      const finished: string[] = [];
      const indexing = provider.embed(tools).then((v) => (finished.push('indexing'), v));
      const query = provider.embed([tools[95]!], { urgent: true }).then((v) => (finished.push('query'), v));
      const [indexed, [asked]] = await Promise.all([indexing, query]);
      expect(finished).toEqual(['query', 'indexing']);
      expect(cosine(asked!, indexed[95]!)).toBeCloseTo(1, 4);
    } finally {
      await provider.close();
    }
  });
});
