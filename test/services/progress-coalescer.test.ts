import { describe, expect, it } from 'vitest';
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
});
