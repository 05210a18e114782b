import type { Logger } from '../observability/logger.js';

/** First and largest delay between catch-up attempts while the vector store is down. */
export const DEFAULT_CATCH_UP_BACKOFF_MS = { initial: 1_000, max: 30_000 } as const;

export interface WriteQueueOptions<Op> {
  /** Applies one operation; throws when it could not be applied. */
  apply: (op: Op) => Promise<void>;
  /** Whether a failure is transient (keep the operation and retry later) or not (drop it). */
  isTransient: (error: unknown) => boolean;
  /** Called when an operation is dropped after a permanent failure. */
  onDropped?: (op: Op, error: unknown) => void;
  logger: Logger;
  backoffMs?: { initial: number; max: number };
}

/**
 * Pending index writes, keyed so that a newer write for the same key replaces an
 * older one that has not run yet (only the latest tool list of a connection
 * matters). Writes run one at a time in arrival order. When the store is down the
 * failed write goes back to the front and the queue retries with backoff, which is
 * what lets the index catch up after an outage without the callers noticing.
 */
export class WriteQueue<Op> {
  private pending = new Map<string, Op>();
  /** The write being applied right now: not done yet, so it still counts as pending. */
  private inFlight: Op | undefined;
  private running: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  private closed = false;
  private readonly backoff: { initial: number; max: number };

  constructor(private readonly options: WriteQueueOptions<Op>) {
    this.backoff = options.backoffMs ?? DEFAULT_CATCH_UP_BACKOFF_MS;
    this.retryDelayMs = this.backoff.initial;
  }

  /** Writes not applied yet, including the one running now. */
  get size(): number {
    return this.pending.size + (this.inFlight === undefined ? 0 : 1);
  }

  /** Operations not applied yet (running one first, then oldest first); used to hide stale search results. */
  snapshot(): Op[] {
    return this.inFlight === undefined ? [...this.pending.values()] : [this.inFlight, ...this.pending.values()];
  }

  /**
   * Queues `op` under `key` (replacing a queued one with the same key) and waits
   * for one pass over the queue. Never rejects: failures stay queued or are logged.
   * `clearOthers` drops every queued operation first (a full rebuild supersedes them).
   */
  async submit(key: string, op: Op, options: { clearOthers?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    if (options.clearOthers) this.pending.clear();
    this.pending.delete(key); // re-inserting moves it behind older work
    this.pending.set(key, op);
    await this.drain();
  }

  /** Starts a pass now if one is not already running (e.g. the store answered again). */
  kick(): void {
    if (this.pending.size === 0 || this.closed) return;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    void this.drain();
  }

  drain(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const next = this.pending.entries().next();
      if (next.done) return;
      const [key, op] = next.value;
      this.pending.delete(key);
      this.inFlight = op;
      try {
        await this.options.apply(op);
        this.retryDelayMs = this.backoff.initial;
      } catch (error) {
        if (!this.options.isTransient(error)) {
          this.options.logger.error({ err: error, key }, 'index write failed permanently; dropped');
          this.options.onDropped?.(op, error);
          continue;
        }
        // Back to the front, unless a newer write for the same key arrived meanwhile.
        if (!this.pending.has(key)) this.pending = new Map([[key, op], ...this.pending]);
        this.scheduleRetry(error);
        return;
      } finally {
        this.inFlight = undefined;
      }
    }
  }

  private scheduleRetry(error: unknown): void {
    if (this.retryTimer || this.closed) return;
    const wait = this.retryDelayMs;
    this.retryDelayMs = Math.min(wait * 2, this.backoff.max);
    this.options.logger.warn(
      { err: error, pending: this.pending.size, retryInMs: wait },
      'vector store unavailable; index writes queued for catch-up',
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.drain();
    }, wait);
    this.retryTimer.unref();
  }

  /** Stops retrying; returns how many writes were still pending. */
  close(): number {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    return this.size;
  }
}
