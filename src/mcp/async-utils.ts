import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { UpstreamCancelledError } from './errors.js';

/**
 * Rejects with an SDK-style RequestTimeout (classified as `timeout`) when
 * `deadline` (epoch ms) passes first. `onExpire` lets the caller tear down
 * whatever the promise was waiting on (e.g. close a half-open transport),
 * which the SDK does not bound by itself (SSE stream opening, DELETE).
 */
export function withDeadline<T>(promise: Promise<T>, deadline: number, onExpire?: () => void): Promise<T> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) {
    onExpire?.();
    promise.catch(() => undefined);
    return Promise.reject(new McpError(ErrorCode.RequestTimeout, 'Request timed out'));
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onExpire?.();
      reject(new McpError(ErrorCode.RequestTimeout, 'Request timed out'));
    }, remaining);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Resolves after `ms`; rejects with UpstreamCancelledError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 && !signal?.aborted) return Promise.resolve();
  return raceAbort(new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), signal);
}

/**
 * Lets one caller stop waiting on a shared promise (e.g. a session setup other
 * callers also wait for) without cancelling the promise itself.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(new UpstreamCancelledError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new UpstreamCancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
