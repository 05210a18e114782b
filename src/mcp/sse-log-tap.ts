import { SseEventScanner } from './sse-event-scanner.js';

/**
 * A server sends the `notifications/message` (MCP logging) that relate to a
 * request on that request's POST event stream, but the message itself names
 * no request, and the SDK hands it on without saying which stream carried
 * it. So the stream of a request's POST is watched on its way to the SDK: a
 * log message found in it belongs to that request, whatever else runs on the
 * session at the time — a faithful relay. The bytes pass through unchanged,
 * and a message is seen here before the SDK reads the response behind it.
 *
 * Linear: events are found by the same single-pass scanner as the size
 * bound, and only an event that names `notifications/message` is decoded.
 */

const LOG_METHOD = Buffer.from('"notifications/message"');

export function tapLogMessages(
  stream: ReadableStream<Uint8Array>,
  onLog: (params: Record<string, unknown>) => void,
): ReadableStream<Uint8Array> {
  const scanner = new SseEventScanner();
  /** Pieces of the event being received (views, no copies until it ends). */
  let pieces: Uint8Array[] = [];
  const inspect = (event: Buffer) => {
    if (event.indexOf(LOG_METHOD) < 0) return;
    const params = logParamsOf(event.toString('utf8'));
    if (params) onLog(params);
  };
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        let from = 0;
        for (const end of scanner.scan(chunk).ends) {
          pieces.push(chunk.subarray(from, end));
          from = end;
          const event = Buffer.concat(pieces);
          pieces = [];
          inspect(event);
        }
        if (from < chunk.length) pieces.push(chunk.subarray(from));
        controller.enqueue(chunk);
      },
    }),
  );
}

/** The params of a `notifications/message` carried by one SSE event, as the SDK would read it; else undefined. */
function logParamsOf(raw: string): Record<string, unknown> | undefined {
  const data: string[] = [];
  let type = '';
  for (const line of raw.split(/\r\n|\r|\n/)) {
    if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
    else if (line.startsWith('event:')) type = line.slice(6).trim();
  }
  // The SDK reads only `message` events (or untyped ones).
  if (type !== '' && type !== 'message') return undefined;
  try {
    const message = JSON.parse(data.join('\n')) as { jsonrpc?: unknown; method?: unknown; params?: unknown };
    const params = message.params as Record<string, unknown> | undefined;
    const valid = message.jsonrpc === '2.0' && message.method === 'notifications/message';
    return valid && typeof params === 'object' && params !== null && typeof params.level === 'string' ? params : undefined;
  } catch {
    return undefined;
  }
}
