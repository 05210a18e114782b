import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/**
 * The answer to a tool-call POST is usually a short event stream holding one
 * JSON-RPC response, after which the server closes it. Handing that to the SDK
 * as `text/event-stream` costs a TextDecoderStream, an EventSourceParserStream
 * and a web stream per call; handed over as `application/json` it costs one
 * `response.json()`. The SDK accepts both for a request (Streamable HTTP lets
 * the server choose), and delivers the messages the same way.
 *
 * So the body is read ahead, and converted only when that cannot change what
 * the SDK sees or when: every event up to the end of the stream was a plain
 * `message` event, the only JSON-RPC message was the response (or responses),
 * and the stream ended (within END_GRACE_MS of the response). Anything else —
 * a progress notification or a request before the response (they must reach
 * the caller as they happen), a `retry:` field, an unparsable or batched
 * payload, a stream that ends without a response (the SDK resumes those) or
 * that stays open — is passed on as the original event stream, bytes
 * included, from the first byte.
 */

/** How long to wait for the end of a stream after its response before streaming it instead. */
export const END_GRACE_MS = 20;

export type ReadAhead =
  /** Raw JSON texts of the messages, in order; the stream ended right after the response. */
  | { kind: 'messages'; payloads: string[] }
  /** The original bytes as a stream (those read so far, then the rest). */
  | { kind: 'stream'; stream: ReadableStream<Uint8Array> };

const EVENT_END = /\r\n\r\n|\n\n|\r\r/;

export function readAhead(body: Readable): Promise<ReadAhead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const decoder = new StringDecoder('utf8');
    const payloads: string[] = [];
    let pending = '';
    let responded = false;
    let decided = false;
    let grace: NodeJS.Timeout | undefined;

    const detach = () => {
      clearTimeout(grace);
      // Paused until the web stream (if any) pulls, so nothing is emitted while no one listens.
      body.pause();
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    const stream = (ending: { ended?: true; error?: unknown } = {}) => {
      if (decided) return;
      decided = true;
      detach();
      resolve({ kind: 'stream', stream: toWebStream(body, chunks, ending) });
    };
    /** Reads the complete events in `pending`; false as soon as one rules out conversion. */
    const consumeEvents = (): boolean => {
      for (let match = EVENT_END.exec(pending); match; match = EVENT_END.exec(pending)) {
        const raw = pending.slice(0, match.index);
        pending = pending.slice(match.index + match[0].length);
        if (!acceptEvent(raw)) return false;
      }
      return true;
    };
    const acceptEvent = (raw: string): boolean => {
      const outcome = classifyEvent(raw);
      if (outcome === 'skip') return true;
      if (outcome === 'other' || responded) return false;
      payloads.push(outcome.payload);
      responded = true;
      return true;
    };
    function onData(chunk: Buffer): void {
      chunks.push(chunk);
      pending += decoder.write(chunk);
      if (!consumeEvents()) return stream();
      if (responded && !grace) grace = setTimeout(() => stream(), END_GRACE_MS);
    }
    function onEnd(): void {
      pending += decoder.end();
      // Text after the last blank line is an unterminated event: leave its fate to the SDK's parser.
      if (!consumeEvents() || pending.trim() !== '' || !responded) return stream({ ended: true });
      decided = true;
      detach();
      resolve({ kind: 'messages', payloads });
    }
    function onError(error: unknown): void {
      stream({ error });
    }
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
  });
}

/**
 * One SSE event: `skip` (nothing for the SDK: a comment, a priming event with
 * only an id, an event type the SDK ignores), the JSON-RPC response it
 * carries, or `other` (anything that must reach the SDK as a stream).
 */
function classifyEvent(raw: string): 'skip' | 'other' | { payload: string } {
  const data: string[] = [];
  let type = '';
  for (const line of raw.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') type = value;
    else if (field === 'retry') return 'other'; // the SDK keeps the server's retry delay
  }
  const payload = data.join('\n');
  // The SDK skips events without data (priming events: an id and an empty data line) and foreign types.
  if (payload === '' || (type !== '' && type !== 'message')) return 'skip';
  let message: unknown;
  try {
    message = JSON.parse(payload);
  } catch {
    return 'other';
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'other';
  const fields = message as Record<string, unknown>;
  const isResponse = 'id' in fields && !('method' in fields) && ('result' in fields || 'error' in fields);
  return isResponse ? { payload } : 'other';
}

/**
 * A web stream over a Node body, with backpressure, that first replays
 * `prefix` (bytes already read). `ending` says whether the body already ended
 * or failed while it was read ahead. Cancelling the stream closes the body.
 */
export function toWebStream(
  body: Readable,
  prefix: Buffer[] = [],
  ending: { ended?: true; error?: unknown } = {},
): ReadableStream<Uint8Array> {
  // Chunks can still arrive after the reader cancelled; a settled controller must not be touched.
  let settled = false;
  const view = (chunk: Buffer) => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of prefix) controller.enqueue(view(chunk));
      const close = () => {
        if (settled) return;
        settled = true;
        controller.close();
      };
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        controller.error(new TypeError('terminated', { cause: error }));
      };
      if (ending.error !== undefined) return fail(ending.error);
      if (ending.ended) return close();
      body.on('data', (chunk: Buffer) => {
        if (settled) return;
        controller.enqueue(view(chunk));
        if ((controller.desiredSize ?? 1) <= 0) body.pause();
      });
      body.once('end', close);
      body.on('error', fail);
    },
    pull() {
      body.resume();
    },
    cancel() {
      settled = true;
      body.destroy();
    },
  });
}
