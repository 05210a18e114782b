import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { ErrorCode, McpError, type Progress, type ProgressNotification } from '@modelcontextprotocol/sdk/types.js';
import { CallAbort } from '../common/call-abort.js';
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
 *
 * The child also enforces the hard cap on the call's life: the SDK checks its
 * `maxTotalTimeout` only when progress arrives, so a call whose last progress
 * came just before the cap would live on for a whole idle timeout more. At the
 * cap the child aborts with the SDK's own timeout error, so the SDK cancels
 * the request upstream (`notifications/cancelled`) and the call ends as a timeout.
 */
function linkSignal(parent: AbortSignal | undefined, maxTotalMs: number): { signal: AbortSignal; unlink: () => void } {
  const child = new CallAbort();
  const onAbort = () => child.abort(parent?.reason);
  parent?.addEventListener('abort', onAbort, { once: true });
  const cap = setTimeout(() => {
    child.abort(new McpError(ErrorCode.RequestTimeout, 'Maximum total timeout exceeded', { maxTotalTimeout: maxTotalMs }));
  }, maxTotalMs);
  cap.unref();
  return {
    signal: child.signal,
    unlink: () => {
      clearTimeout(cap);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * SDK request options of one tool call: idle timeout reset by progress, a hard
 * cap on the whole call (`opts.maxTotalTimeoutMs`, else `maxCallMs`), a
 * progressToken always, the caller's signal via a child. `release()` must run
 * when the call settles.
 */
export function callRequestOptions(
  target: UpstreamTarget,
  opts: CallToolOptions,
  maxCallMs: number,
): { options: RequestOptions; release: () => void } {
  const { onProgress } = opts;
  const maxTotal = opts.maxTotalTimeoutMs ?? maxCallMs;
  const link = linkSignal(opts.signal, maxTotal);
  const options: RequestOptions = {
    // Progress extends the idle timeout, but never past the cap.
    timeout: Math.min(opts.timeoutMs ?? target.timeoutMs, maxTotal),
    resetTimeoutOnProgress: true,
    maxTotalTimeout: maxTotal,
    signal: link.signal,
    onprogress: onProgress ? (p) => onProgress(toProgressUpdate(p)) : IGNORE_PROGRESS,
  };
  return { options, release: link.unlink };
}
