/**
 * Okapi BM25 over tool documents. The sentence encoder is small and misses exact
 * vocabulary ("GitHub", "PR", "S3", parameter names); a lexical score fused with
 * the dense similarity recovers those (see `npm run eval:tool-search`).
 */

const STOPWORDS = new Set(
  (
    'a an and any are as at be been but by can could do does for from get give has have how i if in into is it its ' +
    'me my of on or our please should so some than that the their them then there these this those to us was we ' +
    'what when where which who why will with would you your'
  ).split(' '),
);

/** Light suffix stripping: enough to match plural/participle forms of the same word. */
export function stem(word: string): string {
  let w = word;
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 4 && /(sses|xes|ches|shes|zes)$/.test(w)) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed')) w = w.slice(0, -2);
  if (/([^aeiouslz])\1$/.test(w)) w = w.slice(0, -1); // runn → run, stopp → stop
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1); // create/created → creat
  return w;
}

/** Lower-cased, identifier-split, stop-word-free, stemmed terms. */
export function tokenize(text: string): string[] {
  const words = text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  const terms: string[] = [];
  for (const word of words) {
    if (word.length < 2 || STOPWORDS.has(word)) continue;
    terms.push(stem(word));
  }
  return terms;
}

/**
 * Everyday words agents use for the vocabulary tool authors use. Generic CRUD and
 * tool-domain synonyms only (nothing product-specific): a sentence encoder this
 * small rarely bridges "folder" → "directory" or "PR" → "pull request" on its own.
 * Groups are symmetric; multi-word entries expand to all their words.
 */
const SYNONYM_GROUPS: readonly string[][] = [
  ['create', 'make', 'new', 'add'],
  ['delete', 'remove', 'erase', 'drop', 'destroy'],
  ['update', 'modify', 'change', 'edit', 'alter'],
  ['get', 'fetch', 'retrieve', 'read', 'show', 'view', 'display', 'see'],
  ['search', 'find', 'lookup', 'query', 'locate'],
  ['send', 'post', 'publish'],
  ['write', 'save', 'store'],
  ['reply', 'respond', 'answer'],
  ['run', 'execute', 'invoke'],
  ['stop', 'halt', 'terminate', 'kill'],
  ['move', 'rename', 'relocate'],
  ['folder', 'directory', 'dir'],
  ['file', 'document'],
  ['repo', 'repository'],
  ['pr', 'pull request'],
  ['mr', 'merge request'],
  ['ticket', 'issue'],
  ['bug', 'issue', 'defect'],
  ['error', 'exception', 'crash'],
  ['meeting', 'event', 'appointment'],
  ['invite', 'invitation'],
  ['email', 'mail'],
  ['picture', 'image', 'photo'],
  ['web', 'internet', 'online'],
  ['website', 'web page', 'site', 'url'],
  ['link', 'url'],
  ['bill', 'invoice', 'charge'],
  ['pay', 'payment'],
  ['person', 'people', 'user', 'member'],
  ['content', 'contents', 'text'],
  ['note', 'memo'],
  ['output', 'logs'],
  ['remember', 'memorize', 'memory'],
  ['address', 'location', 'place'],
  ['schedule', 'book', 'plan'],
  ['available', 'free'],
];

/** Weight of a synonym relative to a term the query actually contains. */
export const SYNONYM_WEIGHT = 0.5;

const synonymsByTerm: Map<string, Set<string>> = (() => {
  const map = new Map<string, Set<string>>();
  for (const group of SYNONYM_GROUPS) {
    const entries = group.map((phrase) => tokenize(phrase));
    for (const words of entries) {
      for (const word of words) {
        const set = map.get(word) ?? new Set<string>();
        for (const other of entries) if (other !== words) for (const w of other) if (w !== word) set.add(w);
        map.set(word, set);
      }
    }
  }
  return map;
})();

/** Query terms with weights: 1 for the query's own terms, {@link SYNONYM_WEIGHT} for added synonyms. */
export function expandQuery(query: string): Map<string, number> {
  const weights = new Map<string, number>();
  const own = tokenize(query);
  for (const term of own) weights.set(term, 1);
  for (const term of own) {
    for (const synonym of synonymsByTerm.get(term) ?? []) {
      if (!weights.has(synonym)) weights.set(synonym, SYNONYM_WEIGHT);
    }
  }
  return weights;
}

/**
 * BM25 term-saturation and length-normalisation parameters. `b` is lower than the
 * textbook 0.75: long tool documents are long because of parameter lists, not
 * because they are less about their subject.
 * @default { k1: 1.2, b: 0.4 }
 */
export const DEFAULT_BM25_PARAMETERS = { k1: 1.2, b: 0.4 } as const;

interface IndexedDocument {
  termCounts: Map<string, number>;
  length: number;
}

/** An immutable BM25 index over a fixed list of documents. */
export class Bm25Index {
  private readonly docs: IndexedDocument[];
  private readonly documentFrequency = new Map<string, number>();
  private readonly averageLength: number;

  constructor(
    documents: readonly string[],
    private readonly params: { k1: number; b: number } = DEFAULT_BM25_PARAMETERS,
  ) {
    this.docs = documents.map((text) => {
      const terms = tokenize(text);
      const termCounts = new Map<string, number>();
      for (const term of terms) termCounts.set(term, (termCounts.get(term) ?? 0) + 1);
      for (const term of termCounts.keys()) this.documentFrequency.set(term, (this.documentFrequency.get(term) ?? 0) + 1);
      return { termCounts, length: terms.length };
    });
    const total = this.docs.reduce((sum, d) => sum + d.length, 0);
    this.averageLength = this.docs.length > 0 ? Math.max(1, total / this.docs.length) : 1;
  }

  get size(): number {
    return this.docs.length;
  }

  private idf(term: string): number {
    const df = this.documentFrequency.get(term) ?? 0;
    return Math.log(1 + (this.docs.length - df + 0.5) / (df + 0.5));
  }

  /**
   * BM25 score of every document for `query` (0 where no term matches), in document
   * order. With `expand`, synonyms of the query's terms count at a reduced weight.
   */
  score(query: string, options: { expand?: boolean } = {}): number[] {
    const queryTerms = options.expand ? expandQuery(query) : new Map(tokenize(query).map((t) => [t, 1]));
    const terms = [...queryTerms.keys()].filter((t) => this.documentFrequency.has(t));
    const weights = terms.map((t) => this.idf(t) * (queryTerms.get(t) ?? 1));
    const { k1, b } = this.params;
    return this.docs.map((doc) => {
      let score = 0;
      terms.forEach((term, i) => {
        const tf = doc.termCounts.get(term);
        if (!tf) return;
        const norm = k1 * (1 - b + (b * doc.length) / this.averageLength);
        score += (weights[i] ?? 0) * ((tf * (k1 + 1)) / (tf + norm));
      });
      return score;
    });
  }
}
