/**
 * Progress of one execution, delivered (recorded and published) at most once
 * per interval (SPEC §14: ≤ 10 per second). An upstream may send thousands of
 * notifications a second; each delivery is a database write and an event to
 * every subscriber, so updates arriving in between are coalesced: only the
 * latest is kept, and it is delivered at the next slot. `drain()` delivers
 * what is pending at once (the final progress goes out before the terminal
 * event) and ignores anything later. With a `burst` (the passthrough's relay),
 * a short run of updates goes out as it comes, within the same bound.
 */

/** One delivery per execution per this many ms. @default 100 (10 per second) */
export const PROGRESS_INTERVAL_MS = 100;

export interface CoalescerPace {
  /** Spacing of deliveries. @default PROGRESS_INTERVAL_MS */
  intervalMs?: number;
  /**
   * How many deliveries may go out as they come before the spacing applies:
   * never more than `burst` within `burst × intervalMs`, so the rate bound
   * holds over every such window while a short run (three quick steps) passes
   * untouched. @default 1 (every delivery spaced)
   */
  burst?: number;
}

export class ProgressCoalescer<T> {
  private pending: T | undefined;
  /** When the last `burst` deliveries went out, oldest first. */
  private readonly recent: number[] = [];
  private readonly intervalMs: number;
  private readonly burst: number;
  private timer: NodeJS.Timeout | undefined;
  private delivering: Promise<void> | undefined;
  private drained = false;

  /**
   * `deliver` reports its own failures; a rejection is ignored here. One that
   * returns nothing (a write to a stream, which queues by itself) is done at
   * once: the next update need not wait for it, only for its slot.
   */
  constructor(
    private readonly deliver: (update: T) => Promise<void> | void,
    pace: CoalescerPace = {},
  ) {
    this.intervalMs = pace.intervalMs ?? PROGRESS_INTERVAL_MS;
    this.burst = pace.burst ?? 1;
  }

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
    const wait = this.nextSlotAt() - Date.now();
    if (wait <= 0) {
      void this.deliverPending();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.deliverPending();
    }, wait);
  }

  /** A free slot at once; with the window full, the later of its oldest delivery leaving it and the spacing after the last. */
  private nextSlotAt(): number {
    const { recent } = this;
    if (recent.length < this.burst) return Number.NEGATIVE_INFINITY;
    return Math.max(recent[0]! + this.burst * this.intervalMs, recent[recent.length - 1]! + this.intervalMs);
  }

  private deliverPending(): Promise<void> {
    const update = this.pending;
    if (update === undefined) return Promise.resolve();
    this.pending = undefined;
    this.recent.push(Date.now());
    if (this.recent.length > this.burst) this.recent.shift();
    const delivered = this.deliver(update);
    if (!delivered) return Promise.resolve();
    const delivery = delivered
      .catch(() => undefined)
      .finally(() => {
        this.delivering = undefined;
        if (this.pending !== undefined) this.schedule();
      });
    this.delivering = delivery;
    return delivery;
  }
}
