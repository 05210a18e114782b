interface Entry<V> {
  value: Promise<V>;
  expiresAt: number;
}

/**
 * A map of promised values whose time-to-live starts when the value arrives.
 * Concurrent misses on one key share a single load; a failed load is never
 * kept; `keep` may decline to remember a value that is still returned (e.g. a
 * "not found", or a read that raced a write).
 */
export class LoadingCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();

  /**
   * @param ttlMs how long a loaded value is served from memory
   * @param maxEntries above this many keys the cache starts over (bounded memory) @default 10_000
   */
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: K, load: () => Promise<V>, keep: (value: V) => boolean = () => true): Promise<V> {
    const cached = this.entries.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.value;
    // Joinable while loading; the TTL starts once the value is there.
    const entry: Entry<V> = { value: load(), expiresAt: Number.POSITIVE_INFINITY };
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, entry);
    entry.value.then(
      (value) => {
        if (this.entries.get(key) !== entry) return; // dropped meanwhile
        if (keep(value)) entry.expiresAt = Date.now() + this.ttlMs;
        else this.entries.delete(key);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
