/**
 * Bounded waits: every timeout and cancellation race in the gateway goes
 * through these, so each timer is cleared the moment the wait ends and a
 * promise given up on never becomes an unhandled rejection.
 */

/**
 * Waits for `promise`, at most `ms`: when the time runs out first, calls
 * `onExpire` (to tear down what the promise was waiting on) and rejects with
 * `timeoutError()`. A wait with no time left expires at once.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, timeoutError: () => Error, onExpire?: () => void): Promise<T> {
  if (ms <= 0) {
    promise.catch(() => undefined);
    onExpire?.();
    return Promise.reject(timeoutError());
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onExpire?.();
      reject(timeoutError());
    }, ms);
    settleThenCleanUp(promise, resolve, reject, () => clearTimeout(timer));
  });
}

/**
 * Waits for `promise`, but at most `ms`: resolves with its value, or with
 * `fallback` when it rejects or the time runs out first. For waits the caller
 * may give up on (a readiness probe, the last publishes of a closing bus,
 * answers still being written during a graceful stop, a drain).
 */
export function settleWithin<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return withTimeout(promise, ms, () => new Error('timed out')).catch(() => fallback);
}

/**
 * Lets one caller stop waiting on a shared promise (e.g. a session setup
 * other callers also wait for) when `signal` aborts, rejecting with
 * `abortError()`, without cancelling the promise itself.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, abortError: () => Error): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(abortError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    settleThenCleanUp(promise, resolve, reject, () => signal.removeEventListener('abort', onAbort));
  });
}

/** Resolves after `ms` (without holding the process open); rejects with `abortError()` as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined, abortError: () => Error): Promise<void> {
  if (ms <= 0 && !signal?.aborted) return Promise.resolve();
  return untilAborted(new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), signal, abortError);
}

/** Passes `promise`'s outcome on once it settles, after `cleanUp` (the timer or listener that raced it). */
function settleThenCleanUp<T>(
  promise: Promise<T>,
  resolve: (value: T) => void,
  reject: (error: unknown) => void,
  cleanUp: () => void,
): void {
  promise.then(
    (value) => {
      cleanUp();
      resolve(value);
    },
    (error: unknown) => {
      cleanUp();
      reject(error);
    },
  );
}
