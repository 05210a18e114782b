import { ServiceUnavailableError } from '../errors/index.js';

/**
 * Events a subscriber has not consumed yet. A subscriber that falls this far
 * behind is ended with SERVICE_UNAVAILABLE rather than buffering without bound.
 * @default 1000
 */
export const DEFAULT_MAX_PENDING_EVENTS = 1_000;

export interface EventQueue<T> extends AsyncIterableIterator<T> {
  /** Stops listening and ends the iteration; safe to call more than once. */
  close(): Promise<void>;
  /** Stops listening; the events already buffered are still read, then `error` is thrown. */
  fail(error: unknown): void;
}

export interface EventQueueOptions {
  maxPending?: number;
}

/**
 * Starts consuming an event-bus subscription *now* and buffers what arrives.
 * The pub/sub iterators are lazy — they attach their listener on the first
 * `next()` — so a subscriber that reads the current state first would miss
 * the events published during that read. Opening the queue before the read
 * closes that gap.
 */
export function openEventQueue<T>(source: AsyncIterable<T>, options: EventQueueOptions = {}): EventQueue<T> {
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_EVENTS;
  const iterator = source[Symbol.asyncIterator]();
  const buffer: T[] = [];
  let waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  let failure: unknown;
  let done = false;

  const finish = (error?: unknown) => {
    if (done) return;
    done = true;
    failure = error;
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
    if (waiting) {
      const pending = waiting;
      waiting = undefined;
      if (error !== undefined) pending.reject(error);
      else pending.resolve({ done: true, value: undefined });
    }
  };

  const pump = async () => {
    try {
      for (;;) {
        const next = await iterator.next();
        if (done) return;
        if (next.done) return finish();
        if (waiting) {
          const pending = waiting;
          waiting = undefined;
          pending.resolve({ done: false, value: next.value });
        } else if (buffer.length >= maxPending) {
          return finish(new ServiceUnavailableError('Subscriber fell too far behind; subscription ended'));
        } else {
          buffer.push(next.value);
        }
      }
    } catch (error) {
      finish(error);
    }
  };
  // The first next() runs the subscription's executor synchronously, so the listener is attached from here on.
  void pump();

  const queue: EventQueue<T> = {
    next() {
      const value = buffer.shift();
      if (value !== undefined) return Promise.resolve({ done: false, value });
      if (done) {
        if (failure !== undefined) {
          const error: unknown = failure;
          failure = undefined;
          return Promise.reject(error);
        }
        return Promise.resolve({ done: true, value: undefined });
      }
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    async return() {
      finish();
      buffer.length = 0;
      return { done: true, value: undefined };
    },
    async close() {
      await queue.return?.();
    },
    fail(error: unknown) {
      finish(error);
    },
    [Symbol.asyncIterator]() {
      return queue;
    },
  };
  return queue;
}

/**
 * Wraps a stream so that `return()` also runs `cleanup` — even when a
 * generator never started (graphql-js may end a subscription before its
 * first event, and a generator's `finally` only runs once it has started) —
 * as does the stream's end or failure. `cleanup` runs once.
 */
export function withCleanup<T>(source: AsyncIterator<T>, cleanup: () => void | Promise<void>): AsyncIterableIterator<T> {
  let cleaned = false;
  const runCleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await cleanup();
  };
  const wrapped: AsyncIterableIterator<T> = {
    async next() {
      try {
        const result = await source.next();
        if (result.done) await runCleanup();
        return result;
      } catch (error) {
        await runCleanup();
        throw error;
      }
    },
    async return() {
      // Cleanup first: it ends the queue the generator may be waiting on, so its return() can settle.
      await runCleanup();
      await source.return?.(undefined);
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      await runCleanup();
      if (source.throw) return source.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return wrapped;
    },
  };
  return wrapped;
}
