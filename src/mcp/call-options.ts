import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Progress, ProgressNotification } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolOptions, ProgressUpdate, UpstreamTarget } from './types.js';

/** Turning the public CallToolOptions into SDK request options (the hot path: keep it allocation-light). */

// Shared so that a call without a listener still makes the SDK send a
// progressToken (SPEC §6) without allocating a closure per call.
const IGNORE_PROGRESS = (): void => undefined;

function toProgressUpdate(p: Progress | ProgressNotification['params']): ProgressUpdate {
  const update: ProgressUpdate = { progress: p.progress };
  if (p.total !== undefined) update.total = p.total;
  if (typeof p.message === 'string') update.message = p.message;
  return update;
}

/**
 * The SDK attaches an abort listener to the request's signal and never removes
 * it, so an abort after the call finished would still send
 * `notifications/cancelled` for a completed request (and a long-lived caller
 * signal would collect listeners). The SDK gets a per-call child signal instead,
 * unlinked from the caller's as soon as the call settles.
 */
function linkSignal(parent: AbortSignal): { signal: AbortSignal; unlink: () => void } {
  const child = new AbortController();
  const onAbort = () => child.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { signal: child.signal, unlink: () => parent.removeEventListener('abort', onAbort) };
}

/**
 * SDK request options of one tool call: idle timeout reset by progress, an
 * optional hard cap, a progressToken always, the caller's signal via a child.
 * `release()` must run when the call settles.
 */
export function callRequestOptions(
  target: UpstreamTarget,
  opts: CallToolOptions,
): { options: RequestOptions; release: () => void } {
  const { signal, onProgress } = opts;
  const link = signal ? linkSignal(signal) : undefined;
  const options: RequestOptions = {
    timeout: opts.timeoutMs ?? target.timeoutMs,
    resetTimeoutOnProgress: true,
    maxTotalTimeout: opts.maxTotalTimeoutMs,
    signal: link?.signal,
    onprogress: onProgress ? (p) => onProgress(toProgressUpdate(p)) : IGNORE_PROGRESS,
  };
  return { options, release: link ? link.unlink : NOTHING_TO_RELEASE };
}

const NOTHING_TO_RELEASE = (): void => undefined;
