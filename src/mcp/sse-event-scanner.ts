/**
 * Finds the ends of Server-Sent Events in raw bytes as they arrive, and
 * measures the event still being received, in one linear pass: every byte is
 * looked at once (the line-end search is native `indexOf`), whatever the
 * chunking. It never buffers: callers keep the bytes if they need them.
 *
 * An event ends at a blank line; lines end in CRLF, LF or CR (the SSE grammar).
 */

const LF = 0x0a;
const CR = 0x0d;

export interface ScannedChunk {
  /** Offsets in the chunk just after each blank line that ended an event, in order. */
  ends: number[];
  /** The largest event (bytes, its blank line included) seen in this chunk, finished or not. */
  largest: number;
}

export class SseEventScanner {
  /** Bytes of the event being received (since the last blank line). */
  private eventBytes = 0;
  /** The previous byte ended a line: a line end now makes a blank line. */
  private atLineStart = true;
  /** The previous byte was a CR: an LF now belongs to that line end. */
  private afterCr = false;
  /** The first bytes (up to 3) of the current line, to recognise an `id:` field. */
  private linePrefix = '';
  /** Whether any event carried an `id:` field (the SDK can resume such a stream). */
  sawEventId = false;

  scan(chunk: Uint8Array): ScannedChunk {
    const ends: number[] = [];
    let largest = 0;
    let eventStart = 0;
    let nextLf = -1;
    let nextCr = -1;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      // Cached positions keep the search linear when one kind of line end is rare.
      if (nextLf < i) nextLf = indexOrEnd(chunk, LF, i);
      if (nextCr < i) nextCr = indexOrEnd(chunk, CR, i);
      const lineEnd = Math.min(nextLf, nextCr);
      if (lineEnd > i) {
        if (this.linePrefix.length < 3) this.notePrefix(chunk, i, lineEnd);
        this.atLineStart = false;
        this.afterCr = false;
        i = lineEnd;
        continue;
      }
      const byte = chunk[i];
      i += 1;
      if (byte === LF && this.afterCr) {
        this.afterCr = false;
        continue;
      }
      this.afterCr = byte === CR;
      this.linePrefix = '';
      if (this.atLineStart) {
        const size = this.eventBytes + (i - eventStart);
        if (size > largest) largest = size;
        ends.push(i);
        eventStart = i;
        this.eventBytes = 0;
      }
      this.atLineStart = true;
    }
    this.eventBytes += n - eventStart;
    if (this.eventBytes > largest) largest = this.eventBytes;
    return { ends, largest };
  }

  private notePrefix(chunk: Uint8Array, from: number, to: number): void {
    for (let k = from; k < to && this.linePrefix.length < 3; k++) this.linePrefix += String.fromCharCode(chunk[k] ?? 0);
    if (this.linePrefix === 'id:') this.sawEventId = true;
  }
}

function indexOrEnd(chunk: Uint8Array, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at < 0 ? chunk.length : at;
}
