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
  // The line being received, in pieces, joined once its end arrives. Growing one string instead and
  // searching it made V8 flatten the whole line at every chunk: a 10 MiB event in 64 KiB chunks cost
  // ~1 GB of copying and blocked the event loop for hundreds of milliseconds (SPEC §14).
  let pieces: string[] = [];
  /** The last text ended in a CR: a LF at the start of the next belongs to that line end. */
  let afterCr = false;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    const text = decoder.decode(chunk, { stream: true });
    let start = 0;
    if (afterCr && text !== '') {
      afterCr = false;
      if (text.startsWith('\n')) start = 1;
    }
    const lineEnds = new LineEnds(text);
    for (let at = lineEnds.from(start); at >= 0; at = lineEnds.from(start)) {
      pieces.push(text.slice(start, at));
      line(pieces.length === 1 ? pieces[0]! : pieces.join(''));
      pieces = [];
      if (text[at] === '\r' && at === text.length - 1) afterCr = true;
      start = at + (text.startsWith('\r\n', at) ? 2 : 1);
    }
    if (start < text.length) pieces.push(text.slice(start));
    if (done()) return end;
  }
  if (pieces.length > 0) line(pieces.join(''));
  return end;
}

/**
 * The next CR or LF in one text. Each kind's position is remembered until passed, so finding every line
 * end of a text is one pass over it, even when one kind is rare (an LF-only stream has no CR to find).
 */
class LineEnds {
  private lf = -1;
  private cr = -1;
  constructor(private readonly text: string) {}

  /** The first line end at or after `from`, or -1. */
  from(from: number): number {
    if (this.lf !== NONE && this.lf < from) this.lf = this.text.indexOf('\n', from);
    if (this.cr !== NONE && this.cr < from) this.cr = this.text.indexOf('\r', from);
    if (this.lf < 0) this.lf = NONE;
    if (this.cr < 0) this.cr = NONE;
    const at = Math.min(this.lf, this.cr);
    return at === NONE ? -1 : at;
  }
}

const NONE = Number.POSITIVE_INFINITY;
