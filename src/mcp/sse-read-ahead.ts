import type { Readable } from 'node:stream';
import { closeBody, EventStreamMeter, toWebStream, UNBOUNDED, type BodyBounds, type Ending } from './bounded-body.js';
import { verdictMessage, type Verdict } from './verdict.js';

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
 * the caller as they happen), a `retry:` field, a batched payload, a stream
 * with event ids that ends without a response (the SDK resumes those) or
 * that stays open, more than READ_AHEAD_MAX_BYTES — is passed on as the
 * original event stream, bytes included, from the first byte. A payload that
 * is not a JSON-RPC message is dropped, as the SDK would drop it.
 *
 * Linear: each byte is scanned once for event ends (sse-event-scanner.ts), and
 * an event is decoded once, when it is complete.
 */

/** How long to wait for the end of a stream after its response before streaming it instead. */
export const END_GRACE_MS = 20;
/**
 * Read-ahead is for short answers: past this many bytes the answer is streamed
 * (so a flood of comments or skipped events cannot pile up here).
 */
export const READ_AHEAD_MAX_BYTES = 1024 * 1024;

export type ReadAhead =
  /** Raw JSON texts of the messages, in order; the stream ended right after the response. */
  | { kind: 'messages'; payloads: string[] }
  /** The original bytes as a stream (those read so far, then the rest). */
  | { kind: 'stream'; stream: ReadableStream<Uint8Array> };

/**
 * Reads the start of a POST's event stream (see above). With `bounds` it also
 * counts every event (SPEC §14) and, when it knows the request id, answers a
 * stream the SDK would otherwise wait on until the timeout with a verdict
 * (verdict.ts): an event past the size limit, a stream that broke off or
 * ended without a valid answer (and carries no event ids to resume from).
 */
export function readAhead(body: Readable, bounds: BodyBounds = UNBOUNDED): Promise<ReadAhead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const meter = new EventStreamMeter(bounds.maxMessageBytes);
    const { scanner } = meter;
    /** Pieces of the event being received (views into `chunks`, no copies). */
    let eventPieces: Buffer[] = [];
    let readBytes = 0;
    const payloads: string[] = [];
    let responded = false;
    let decided = false;
    let grace: NodeJS.Timeout | undefined;
    const { requestId } = bounds;
    /** The SDK would keep waiting for an answer this stream no longer can give. */
    const unanswerable = () => requestId !== undefined && !responded && !scanner.sawEventId;

    const detach = () => {
      clearTimeout(grace);
      // Paused until the web stream (if any) pulls, so nothing is emitted while no one listens.
      body.pause();
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    const stream = (ending: Ending = {}) => {
      if (decided) return;
      decided = true;
      detach();
      resolve({ kind: 'stream', stream: toWebStream(body, chunks, ending, bounds, meter) });
    };
    const answer = (messages: string[]) => {
      decided = true;
      detach();
      resolve({ kind: 'messages', payloads: messages });
    };
    const verdict = (v: Verdict) => {
      answer([verdictMessage(requestId as number | string, v)]);
      closeBody(body);
    };
    /** Reads the events the chunk completes; false as soon as one rules out conversion. */
    const consumeEvents = (chunk: Buffer, ends: number[]): boolean => {
      let from = 0;
      for (const end of ends) {
        eventPieces.push(chunk.subarray(from, end));
        const raw = eventPieces.length === 1 ? eventPieces[0]!.toString('utf8') : Buffer.concat(eventPieces).toString('utf8');
        eventPieces = [];
        from = end;
        if (!acceptEvent(raw)) return false;
      }
      if (from < chunk.length) eventPieces.push(chunk.subarray(from));
      return true;
    };
    const acceptEvent = (raw: string): boolean => {
      const outcome = classifyEvent(raw);
      // The SDK drops an invalid message (reporting it to onerror), so converting changes nothing it acts on.
      if (outcome === 'skip' || outcome === 'invalid') return true;
      if (outcome === 'other' || responded) return false;
      payloads.push(outcome.payload);
      responded = true;
      return true;
    };
    function onData(chunk: Buffer): void {
      chunks.push(chunk);
      readBytes += chunk.length;
      const { ends, largest } = scanner.scan(chunk);
      if (largest > bounds.maxMessageBytes) {
        // A complete response read so far is the answer; the rest is refused.
        if (responded) {
          answer(payloads);
          closeBody(body);
          return;
        }
        if (requestId !== undefined) return verdict({ kind: 'too_large', limitBytes: bounds.maxMessageBytes });
        return stream({ tooLarge: true });
      }
      if (!consumeEvents(chunk, ends) || readBytes > READ_AHEAD_MAX_BYTES) return stream();
      if (responded && !grace) grace = setTimeout(() => stream(), END_GRACE_MS);
    }
    function onEnd(): void {
      const trailing = eventPieces.length > 0 && Buffer.concat(eventPieces).toString('utf8').trim() !== '';
      if (unanswerable()) return verdict({ kind: 'no_answer' });
      // Text after the last blank line is an unterminated event: leave its fate to the SDK's parser.
      if (trailing || !responded) return stream({ ended: true });
      answer(payloads);
    }
    function onError(error: unknown): void {
      if (bounds.signal?.aborted) return stream({ ended: true });
      if (unanswerable()) return verdict({ kind: 'cut_off' });
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
function classifyEvent(raw: string): 'skip' | 'invalid' | 'other' | { payload: string } {
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
    return 'invalid';
  }
  if (Array.isArray(message)) return 'other';
  if (typeof message !== 'object' || message === null) return 'invalid';
  const fields = message as Record<string, unknown>;
  if (fields.jsonrpc !== '2.0') return 'invalid';
  const isResponse = 'id' in fields && !('method' in fields) && ('result' in fields || 'error' in fields);
  return isResponse ? { payload } : 'other';
}
