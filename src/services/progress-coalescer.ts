/**
 * Progress of one execution, delivered (recorded and published) at most once
 * per interval (SPEC §14: ≤ 10 per second). An upstream may send thousands of
 * notifications a second; each delivery is a database write and an event to
 * every subscriber, so updates arriving in between are coalesced: only the
 * latest is kept, and it is delivered at the next slot. `drain()` delivers
 * what is pending at once (the final progress goes out before the terminal
 * event) and ignores anything later.
 */

/** One delivery per execution per this many ms. @default 100 (10 per second) */
export const PROGRESS_INTERVAL_MS = 100;

export class ProgressCoalescer<T> {
  private pending: T | undefined;
  private lastDeliveryAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private delivering: Promise<void> | undefined;
  private drained = false;

  /** `deliver` reports its own failures; a rejection is ignored here. */
  constructor(
    private readonly deliver: (update: T) => Promise<void>,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
  ) {}

  push(update: T): void {
    if (this.drained) return;
    this.pending = update;
    this.schedule();
  }

  /** Delivers the pending update now, waits for every delivery, and accepts no more. */
  async drain(): Promise<void> {
    this.drained = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.delivering || this.pending !== undefined) {
      await (this.delivering ?? this.deliverPending());
    }
  }

  private schedule(): void {
    // One delivery at a time: a slow write holds the next one back instead of queueing them.
    if (this.timer || this.delivering || this.drained) return;
    const wait = this.lastDeliveryAt + this.intervalMs - Date.now();
    if (wait <= 0) {
      void this.deliverPending();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.deliverPending();
    }, wait);
  }

  private deliverPending(): Promise<void> {
    const update = this.pending;
    if (update === undefined) return Promise.resolve();
    this.pending = undefined;
    this.lastDeliveryAt = Date.now();
    const delivery = this.deliver(update)
      .catch(() => undefined)
      .finally(() => {
        this.delivering = undefined;
        if (this.pending !== undefined) this.schedule();
      });
    this.delivering = delivery;
    return delivery;
  }
}
