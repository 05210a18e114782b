import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface SseStreamEnd {
  /** The last `id:` seen, to resume the stream with `Last-Event-ID`. */
  lastEventId: string | undefined;
  /** The last `retry:` (ms) the server asked for. */
  retryMs: number | undefined;
}

/**
 * Reads an MCP event stream to its end, handing each `message` event's JSON to
 * `onMessage` as soon as its blank line arrives. Events that are not JSON-RPC
 * (priming events with empty data, other event types) are skipped, as the SDK
 * client skips them. Size bounds are the fetch's (bounded-body.ts). Reading
 * stops (and the stream is cancelled) as soon as `done()` says so: a resumed
 * stream stays open after it replayed the answer that was awaited.
 */
export async function readSseMessages(
  response: Response,
  onMessage: (message: JSONRPCMessage) => void,
  done: () => boolean = () => false,
): Promise<SseStreamEnd> {
  const end: SseStreamEnd = { lastEventId: undefined, retryMs: undefined };
  if (!response.body) return end;
  const decoder = new TextDecoder();
  let buffered = '';
  let event = { type: 'message', data: [] as string[] };
  const dispatch = () => {
    const data = event.data.join('\n');
    const type = event.type;
    event = { type: 'message', data: [] };
    if (type !== 'message' || data.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    for (const one of Array.isArray(parsed) ? parsed : [parsed]) {
      if (typeof one === 'object' && one !== null) onMessage(one as JSONRPCMessage);
    }
  };
  const line = (text: string) => {
    if (text === '') return dispatch();
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    const value = colon < 0 ? '' : text.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') event.data.push(value);
    else if (field === 'event') event.type = value || 'message';
    else if (field === 'id' && !value.includes('\u0000')) end.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) end.retryMs = Number(value);
  };
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    // Only the new text is searched for line ends, so a large event costs one pass, whatever its chunking.
    let searchFrom = Math.max(0, buffered.length - 1);
    buffered += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let at = indexOfLineEnd(buffered, searchFrom); at >= 0; at = indexOfLineEnd(buffered, searchFrom)) {
      // A CR at the very end may be the first half of a CRLF still on its way.
      if (buffered[at] === '\r' && at === buffered.length - 1) break;
      line(buffered.slice(start, at));
      start = at + (buffered.startsWith('\r\n', at) ? 2 : 1);
      searchFrom = start;
    }
    buffered = buffered.slice(start);
    if (done()) return end;
  }
  if (buffered !== '') line(buffered);
  return end;
}

function indexOfLineEnd(text: string, from: number): number {
  const lf = text.indexOf('\n', from);
  const cr = text.indexOf('\r', from);
  return cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
}
