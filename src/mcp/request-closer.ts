import { EventEmitter } from 'node:events';
import { abortWithoutReason } from '../common/call-abort.js';

/**
 * Closes one upstream POST when the gateway ends its request (cancellation,
 * a session closing). undici's `dispatcher.request` takes an EventEmitter
 * with `aborted`, `reason` and an `abort` event as well as an AbortSignal;
 * this is that emitter. Every tool call's POST has one, and an
 * AbortController with the EventTarget listener undici adds to it costs
 * several times as much as an emitter and one `once` listener.
 */
export class RequestCloser extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? abortWithoutReason();
    this.emit('abort');
  }
}
