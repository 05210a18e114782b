import type { Logger } from '../observability/logger.js';

/** First and largest delay between catch-up attempts while the vector store is down. */
export const DEFAULT_CATCH_UP_BACKOFF_MS = { initial: 1_000, max: 30_000 } as const;

export interface WriteQueueOptions<Op> {
  /**
   * Applies one bounded step of `op` and returns the rest of the work (undefined
   * when done); throws when the step could not be applied.
   */
  apply: (op: Op) => Promise<Op | undefined | void>;
  /** Whether a failure is transient (keep the operation and retry later) or not (drop it). */
  isTransient: (error: unknown) => boolean;
  /** Called when an operation is dropped after a permanent failure. */
  onDropped?: (op: Op, error: unknown) => void;
  logger: Logger;
  backoffMs?: { initial: number; max: number };
}

interface Pending<Op> {
  op: Op;
  /** Submitters waiting for this write (or the newer one that replaced it). */
  waiters: (() => void)[];
}

interface Running<Op> extends Pending<Op> {
  group: string;
  key: string;
}

/**
 * Pending index writes, grouped (by namespace) and keyed (by connection) so that a
 * newer write for a key replaces an older one that has not run yet: only the latest
 * tool list of a connection matters.
 *
 * Fair across groups: the queue takes one bounded step (see `apply`) from the group
 * at the head, then moves that group to the back, so an 800-tool catalogue in one
 * namespace delays another namespace's write by one step, not by the whole catalogue.
 * Within a group, a write runs to its end before the next one starts.
 *
 * When the store is down the failed step goes back to the front and the queue retries
 * with backoff, which is what lets the index catch up after an outage without the
 * callers noticing.
 */
export class WriteQueue<Op> {
  /** Group → key → write; the order of groups is the round-robin order. */
  private groups = new Map<string, Map<string, Pending<Op>>>();
  /** The step being applied right now: not done yet, so it still counts as pending. */
  private inFlight: Running<Op> | undefined;
  private running: Promise<void> = Promise.resolve();
  /** Set while `run` loops; cleared in the same tick it decides to stop, so a later submit starts a new pass. */
  private looping = false;
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
    let queued = 0;
    for (const writes of this.groups.values()) queued += writes.size;
    return queued + (this.inFlight === undefined ? 0 : 1);
  }

  /** Operations not applied yet (running one first); used to hide stale search results. */
  snapshot(): Op[] {
    const queued = [...this.groups.values()].flatMap((writes) => [...writes.values()].map((p) => p.op));
    return this.inFlight === undefined ? queued : [this.inFlight.op, ...queued];
  }

  /**
   * Queues `op` under `key` in `group` (replacing a queued write with the same key)
   * and resolves once it was applied, dropped, or parked for catch-up because the
   * store is down. Never rejects.
   */
  submit(group: string, key: string, op: Op): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const writes = this.groups.get(group) ?? new Map<string, Pending<Op>>();
      const replaced = writes.get(key);
      writes.delete(key); // re-inserting moves it behind older work of the group
      writes.set(key, { op, waiters: [...(replaced?.waiters ?? []), resolve] });
      this.groups.set(group, writes);
      void this.drain();
    });
  }

  /** Starts a pass now if one is not already running (e.g. the store answered again). */
  kick(): void {
    if (this.groups.size === 0 || this.closed) return;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    void this.drain();
  }

  drain(): Promise<void> {
    if (!this.looping) this.running = this.run();
    return this.running;
  }

  private takeNext(): Running<Op> | undefined {
    const head = this.groups.entries().next();
    if (head.done) return undefined;
    const [group, writes] = head.value;
    const first = writes.entries().next();
    this.groups.delete(group);
    if (first.done) return this.takeNext();
    const [key, pending] = first.value;
    writes.delete(key);
    if (writes.size > 0) this.groups.set(group, writes); // round robin: the group goes to the back
    return { group, key, ...pending };
  }

  private async run(): Promise<void> {
    this.looping = true;
    for (;;) {
      const next = this.closed ? undefined : this.takeNext();
      if (!next) {
        this.looping = false;
        return;
      }
      this.inFlight = next;
      try {
        const rest = await this.options.apply(next.op);
        this.retryDelayMs = this.backoff.initial;
        if (rest === undefined || rest === null) this.finish(next);
        else this.continueLater(next, rest);
      } catch (error) {
        if (this.closed) {
          // Shutting down: the write failed because its resources are gone, nothing worth logging.
          this.finish(next);
          continue;
        }
        if (!this.options.isTransient(error)) {
          this.options.logger.error({ err: error, key: next.key }, 'index write failed permanently; dropped');
          this.options.onDropped?.(next.op, error);
          this.finish(next);
          continue;
        }
        this.looping = false;
        this.parkForRetry(next);
        this.scheduleRetry(error);
        return;
      } finally {
        this.inFlight = undefined;
      }
    }
  }

  /** The write is done: its waiters are released, unless a newer write for the key took them over. */
  private finish(done: Running<Op>): void {
    const newer = this.groups.get(done.group)?.get(done.key);
    if (newer) newer.waiters.unshift(...done.waiters);
    else for (const release of done.waiters) release();
  }

  /** The rest of a write runs at its group's next turn, before the group's other writes. */
  private continueLater(step: Running<Op>, rest: Op): void {
    const writes = this.groups.get(step.group);
    if (writes?.has(step.key)) return this.finish(step); // a newer write for the key supersedes the rest
    this.groups.delete(step.group); // round robin: the group goes to the back
    this.groups.set(step.group, new Map([[step.key, { op: rest, waiters: step.waiters }], ...(writes ?? [])]));
  }

  /** Back to the very front, unless a newer write for the same key arrived meanwhile; then releases every waiter. */
  private parkForRetry(failed: Running<Op>): void {
    const writes = this.groups.get(failed.group) ?? new Map<string, Pending<Op>>();
    const merged = writes.has(failed.key) ? writes : new Map([[failed.key, { op: failed.op, waiters: [] }], ...writes]);
    this.groups.delete(failed.group);
    this.groups = new Map([[failed.group, merged], ...this.groups]);
    for (const release of failed.waiters) release();
    this.releaseWaiters();
  }

  /** Everyone waiting is told "queued for catch-up"; the writes themselves stay. */
  private releaseWaiters(): void {
    for (const writes of this.groups.values()) {
      for (const pending of writes.values()) for (const release of pending.waiters.splice(0)) release();
    }
  }

  private scheduleRetry(error: unknown): void {
    if (this.retryTimer || this.closed) return;
    const wait = this.retryDelayMs;
    this.retryDelayMs = Math.min(wait * 2, this.backoff.max);
    this.options.logger.warn(
      { err: error, pending: this.size, retryInMs: wait },
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
    const pending = this.size;
    this.releaseWaiters();
    for (const release of this.inFlight?.waiters.splice(0) ?? []) release();
    return pending;
  }
}
