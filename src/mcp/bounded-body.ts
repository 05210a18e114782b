import type { Readable } from 'node:stream';
import { UpstreamResultTooLargeError } from './errors.js';
import type { RequestCloser } from './request-closer.js';
import { SseEventScanner } from './sse-event-scanner.js';
import { verdictEvent, type Verdict } from './verdict.js';

/**
 * What bounds the body of one upstream answer (SPEC §14): no single upstream
 * message may grow past `maxMessageBytes` while it streams. Counting is
 * linear; past the limit the body is destroyed, which closes the upstream
 * request, and nothing more is read.
 */
export interface BodyBounds {
  /** Largest upstream message, in bytes. @default Infinity */
  maxMessageBytes: number;
  /**
   * The id of the JSON-RPC request this body answers. With it, a refused or
   * broken event stream ends with a verdict the SDK settles that request with;
   * without it, the stream fails.
   */
  requestId?: number | string | undefined;
  /** Aborted when the gateway itself closed the request (cancel, timeout): the body just ends. */
  signal?: AbortSignal | RequestCloser | undefined;
  /** For the error details. */
  connectionId?: string | undefined;
}

export const UNBOUNDED: BodyBounds = { maxMessageBytes: Number.POSITIVE_INFINITY };

/** Counts one kind of body: `exceeded(chunk)` is true once a message in it grew past the limit. */
export interface Meter {
  exceeded(chunk: Uint8Array): boolean;
}

/** An event stream: every event is a message, measured on its own. */
export class EventStreamMeter implements Meter {
  readonly scanner = new SseEventScanner();
  constructor(private readonly limit: number) {}

  exceeded(chunk: Uint8Array): boolean {
    return this.scanner.scan(chunk).largest > this.limit;
  }
}

/** Any other body (a JSON answer, a batch): the whole body is one message. */
export class WholeBodyMeter implements Meter {
  private bytes = 0;
  constructor(private readonly limit: number) {}

  exceeded(chunk: Uint8Array): boolean {
    this.bytes += chunk.length;
    return this.bytes > this.limit;
  }
}

const ignore = (): void => undefined;

/**
 * Stops reading an upstream body and closes its request. undici's body emits
 * an AbortError when destroyed: with no listener left that would be an
 * uncaught exception, so one is added first.
 */
export function closeBody(body: Readable): void {
  body.on('error', ignore);
  body.destroy();
}

export function tooLargeError(bounds: BodyBounds): UpstreamResultTooLargeError {
  const details = bounds.connectionId ? { connection_id: bounds.connectionId } : {};
  return new UpstreamResultTooLargeError(bounds.maxMessageBytes, details);
}

export interface Ending {
  /** The body already ended while it was read ahead. */
  ended?: true;
  /** The body already failed while it was read ahead. */
  error?: unknown;
  /** The body was already refused as too large while it was read ahead. */
  tooLarge?: true;
}

/**
 * A web stream over a Node body, with backpressure, that first replays
 * `prefix` (bytes already read and already counted by `meter`). Cancelling the
 * stream closes the body. Past the bounds, or when the body breaks off, an
 * event stream with a known request id ends with a verdict (see verdict.ts);
 * anything else fails like fetch does (`TypeError: terminated`), or with
 * UpstreamResultTooLargeError.
 */
export function toWebStream(
  body: Readable,
  prefix: Buffer[] = [],
  ending: Ending = {},
  bounds: BodyBounds = UNBOUNDED,
  meter?: Meter,
): ReadableStream<Uint8Array> {
  // Chunks can still arrive after the reader cancelled; a settled controller must not be touched.
  let settled = false;
  const view = (chunk: Buffer) => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const resumable = () => meter instanceof EventStreamMeter && meter.scanner.sawEventId;
  const verdictTail = (verdict: Verdict): Uint8Array | undefined =>
    bounds.requestId !== undefined && meter instanceof EventStreamMeter ? verdictEvent(bounds.requestId, verdict) : undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of prefix) controller.enqueue(view(chunk));
      const close = (tail?: Uint8Array) => {
        if (settled) return;
        settled = true;
        if (tail) controller.enqueue(tail);
        controller.close();
      };
      const fail = (error: unknown) => {
        if (settled) return;
        // Our own cancel or timeout: the request is settled already, nothing to report.
        if (bounds.signal?.aborted) return close();
        const tail = resumable() ? undefined : verdictTail({ kind: 'cut_off' });
        if (tail) return close(tail);
        settled = true;
        controller.error(new TypeError('terminated', { cause: error }));
      };
      const refuse = () => {
        closeBody(body);
        const tail = verdictTail({ kind: 'too_large', limitBytes: bounds.maxMessageBytes });
        if (tail) return close(tail);
        if (settled) return;
        settled = true;
        controller.error(tooLargeError(bounds));
      };
      if (ending.tooLarge) return refuse();
      if (ending.error !== undefined) return fail(ending.error);
      if (ending.ended) return close();
      body.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (meter?.exceeded(chunk)) return refuse();
        controller.enqueue(view(chunk));
        if ((controller.desiredSize ?? 1) <= 0) body.pause();
      });
      // A request's stream that ends here without event ids cannot be resumed: if it did not carry
      // the answer, the SDK would wait for one until the timeout. The verdict after everything else
      // settles the request at once; after an answer it is a response to nobody, which the SDK ignores.
      body.once('end', () => close(resumable() ? undefined : verdictTail({ kind: 'no_answer' })));
      body.on('error', fail);
    },
    pull() {
      body.resume();
    },
    cancel() {
      settled = true;
      closeBody(body);
    },
  });
}
