import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settleWithin, sleep, untilAborted, withTimeout } from '../../src/common/deadline.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const never = () => new Promise<never>(() => undefined);
const timedOut = () => new Error('too slow');

describe('withTimeout', () => {
  it('passes a value that arrives in time through and leaves no timer behind', async () => {
    await expect(withTimeout(Promise.resolve(7), 1_000, timedOut)).resolves.toBe(7);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with the given error and runs the tear-down when the time runs out', async () => {
    const onExpire = vi.fn();
    const waiting = withTimeout(never(), 1_000, timedOut, onExpire);
    const outcome = expect(waiting).rejects.toThrow('too slow');
    await vi.advanceTimersByTimeAsync(1_000);
    await outcome;
    expect(onExpire).toHaveBeenCalledOnce();
  });

  it('expires at once with no time left, even for a promise that then rejects', async () => {
    const onExpire = vi.fn();
    await expect(withTimeout(Promise.reject(new Error('late')), 0, timedOut, onExpire)).rejects.toThrow('too slow');
    expect(onExpire).toHaveBeenCalledOnce();
  });
});

describe('settleWithin', () => {
  it('answers the fallback when the promise rejects or the time runs out', async () => {
    await expect(settleWithin(Promise.reject(new Error('no')), 1_000, 'fallback')).resolves.toBe('fallback');
    const slow = settleWithin(never(), 1_000, 'fallback');
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(slow).resolves.toBe('fallback');
    await expect(settleWithin(Promise.resolve('value'), 1_000, 'fallback')).resolves.toBe('value');
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('untilAborted and sleep', () => {
  const cancelled = () => new Error('cancelled');

  it('stops waiting when the signal aborts, before or during the wait', async () => {
    const controller = new AbortController();
    const waiting = untilAborted(never(), controller.signal, cancelled);
    controller.abort();
    await expect(waiting).rejects.toThrow('cancelled');
    await expect(untilAborted(Promise.resolve(1), controller.signal, cancelled)).rejects.toThrow('cancelled');
    await expect(untilAborted(Promise.resolve(1), new AbortController().signal, cancelled)).resolves.toBe(1);
  });

  it('sleeps for the time given unless aborted', async () => {
    const controller = new AbortController();
    const napping = sleep(5_000, controller.signal, cancelled);
    await vi.advanceTimersByTimeAsync(4_999);
    controller.abort();
    await expect(napping).rejects.toThrow('cancelled');
    const done = sleep(5_000, undefined, cancelled);
    await vi.advanceTimersByTimeAsync(5_000);
    await expect(done).resolves.toBeUndefined();
  });
});
