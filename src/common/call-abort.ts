type AbortListener = ((this: AbortSignal, event: Event) => void) | { handleEvent(event: Event): void };

/** The reason of an abort that gave none, as an AbortController's: a DOMException named AbortError. */
export function abortWithoutReason(): DOMException {
  return new DOMException('This operation was aborted', 'AbortError');
}

/**
 * The cancellation of one tool call: an AbortController whose signal offers
 * what the gateway and the MCP SDK's `Protocol.request` read of an
 * AbortSignal — `aborted`, `reason`, `throwIfAborted()`, `onabort` and
 * `abort` listeners — and nothing else (it is no EventTarget: never hand it
 * to `fetch`, `AbortSignal.any` or a Node API that checks its class).
 *
 * Why not an AbortController: Node registers a real AbortSignal for garbage-
 * collection tracking when it gets its first `abort` listener, which costs
 * about 6 µs (measured on the bench machine), and every tool call gave two
 * fresh signals one (its execution's, and the SDK request's child): ~12 µs
 * of a REST call's ~500 µs of gateway CPU, on every door. Its twin for
 * undici's side is src/mcp/request-closer.ts (an EventEmitter, which undici
 * takes); the SDK reads `addEventListener`, which an EventEmitter lacks.
 */
export class CallAbort {
  readonly signal: AbortSignal = new CallSignal() as unknown as AbortSignal;

  abort(reason?: unknown): void {
    (this.signal as unknown as CallSignal).fire(reason === undefined ? abortWithoutReason() : reason);
  }
}

class CallSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: ((this: CallSignal, event: Event) => void) | null = null;
  private listeners: AbortListener[] = [];

  addEventListener(type: string, listener: AbortListener | null): void {
    // Like an AbortSignal: a listener added after the abort never runs; the same listener is added once.
    if (type !== 'abort' || !listener || this.aborted || this.listeners.includes(listener)) return;
    this.listeners.push(listener);
  }

  removeEventListener(type: string, listener: AbortListener | null): void {
    if (type !== 'abort' || !listener) return;
    const at = this.listeners.indexOf(listener);
    if (at >= 0) this.listeners.splice(at, 1);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  fire(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const event = new Event('abort');
    const listeners = this.listeners;
    this.listeners = [];
    this.onabort?.call(this, event);
    for (const listener of listeners) {
      try {
        if (typeof listener === 'function') listener.call(this as unknown as AbortSignal, event);
        else listener.handleEvent(event);
      } catch (error) {
        // As for an EventTarget: the other listeners still run; the error surfaces as uncaught.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
