import { describe, expect, it, vi } from 'vitest';
import { CallAbort } from '../../src/common/call-abort.js';

describe('CallAbort', () => {
  it('runs each abort listener once, with the reason on the signal', () => {
    const abort = new CallAbort();
    const seen: unknown[] = [];
    const listener = vi.fn(function (this: AbortSignal) {
      seen.push(this.reason);
    });
    abort.signal.addEventListener('abort', listener);
    abort.signal.addEventListener('abort', listener);
    abort.abort('cancelled by client');
    abort.abort('again');
    expect(listener).toHaveBeenCalledTimes(1);
    expect(seen).toEqual(['cancelled by client']);
    expect(abort.signal.aborted).toBe(true);
    expect(abort.signal.reason).toBe('cancelled by client');
    expect(() => abort.signal.throwIfAborted()).toThrow('cancelled by client');
  });

  it('skips removed listeners and listeners added after the abort, and calls onabort and handleEvent objects', () => {
    const abort = new CallAbort();
    const removed = vi.fn();
    const handler = { handleEvent: vi.fn() };
    const onabort = vi.fn();
    abort.signal.addEventListener('abort', removed);
    abort.signal.addEventListener('abort', handler);
    abort.signal.removeEventListener('abort', removed);
    abort.signal.onabort = onabort;
    abort.abort();
    const late = vi.fn();
    abort.signal.addEventListener('abort', late);
    expect(removed).not.toHaveBeenCalled();
    expect(late).not.toHaveBeenCalled();
    expect(handler.handleEvent).toHaveBeenCalledTimes(1);
    expect(onabort).toHaveBeenCalledTimes(1);
    expect(abort.signal.reason).toBeInstanceOf(DOMException);
    expect((abort.signal.reason as DOMException).name).toBe('AbortError');
  });

  it('does not throw before the abort, and still runs the other listeners when one throws', async () => {
    const abort = new CallAbort();
    expect(() => abort.signal.throwIfAborted()).not.toThrow();
    const after = vi.fn();
    abort.signal.addEventListener('abort', () => {
      throw new Error('listener failed');
    });
    abort.signal.addEventListener('abort', after);
    const uncaught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    abort.abort('stop');
    expect(after).toHaveBeenCalledTimes(1);
    expect(await uncaught).toMatchObject({ message: 'listener failed' });
  });
});
