import { describe, expect, it, vi } from 'vitest';
import { ProgressCoalescer } from '../../src/services/progress-coalescer.js';

describe('progress coalescing (SPEC §14: ≤ 10 a second per execution)', () => {
  it('a burst delivers its first update at once and only the latest of the rest', async () => {
    const delivered: number[] = [];
    const coalescer = new ProgressCoalescer<number>(async (n) => void delivered.push(n));
    for (let i = 1; i <= 1_000; i++) coalescer.push(i);
    await coalescer.drain();
    expect(delivered).toEqual([1, 1_000]);
  });

  it('drain delivers the pending update before it resolves, and nothing after it', async () => {
    const delivered: number[] = [];
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const coalescer = new ProgressCoalescer<number>(async (n) => {
      if (n === 1) await slow;
      delivered.push(n);
    });
    coalescer.push(1);
    coalescer.push(2);
    coalescer.push(3);
    const drained = coalescer.drain();
    release();
    await drained;
    expect(delivered).toEqual([1, 3]);
    coalescer.push(4);
    await coalescer.drain();
    expect(delivered).toEqual([1, 3]);
  });

  it('a failing delivery neither stops the next one nor rejects drain', async () => {
    const delivered: number[] = [];
    const coalescer = new ProgressCoalescer<number>(async (n) => {
      if (n === 1) throw new Error('database down');
      delivered.push(n);
    });
    coalescer.push(1);
    coalescer.push(2);
    await expect(coalescer.drain()).resolves.toBeUndefined();
    expect(delivered).toEqual([2]);
  });

  it('with a burst, a short run passes as it comes; past it the latest waits for the window, then for the spacing', async () => {
    vi.useFakeTimers();
    try {
      const delivered: number[] = [];
      const coalescer = new ProgressCoalescer<number>(async (n) => void delivered.push(n), { intervalMs: 100, burst: 3 });
      for (const n of [1, 2, 3]) {
        coalescer.push(n);
        await vi.advanceTimersByTimeAsync(0);
      }
      expect(delivered).toEqual([1, 2, 3]);
      coalescer.push(4);
      coalescer.push(5);
      await vi.advanceTimersByTimeAsync(299);
      expect(delivered).toEqual([1, 2, 3]);
      await vi.advanceTimersByTimeAsync(1);
      expect(delivered).toEqual([1, 2, 3, 5]);
      // The window has room again only 100 ms after the last delivery: a flood goes on at the steady rate.
      coalescer.push(6);
      await vi.advanceTimersByTimeAsync(99);
      expect(delivered).toEqual([1, 2, 3, 5]);
      await vi.advanceTimersByTimeAsync(1);
      expect(delivered).toEqual([1, 2, 3, 5, 6]);
      await coalescer.drain();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a delivery that returns nothing is done at once: a quick run within the burst all goes out in the same tick', async () => {
    const delivered: number[] = [];
    const coalescer = new ProgressCoalescer<number>((n) => void delivered.push(n), { burst: 3 });
    for (let i = 1; i <= 5; i++) coalescer.push(i);
    expect(delivered).toEqual([1, 2, 3]);
    await coalescer.drain();
    expect(delivered).toEqual([1, 2, 3, 5]);
  });
});
