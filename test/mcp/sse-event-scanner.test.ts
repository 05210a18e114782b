import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseEventScanner } from '../../src/mcp/sse-event-scanner.js';

/** Event ends of the whole text at once, read from the SSE grammar with a regex (the oracle). */
function referenceEnds(text: string): number[] {
  const ends: number[] = [];
  let previousLineEnd = 0;
  for (const match of text.matchAll(/\r\n|\r|\n/g)) {
    // A line end right after another (or at the start) is a blank line; the event ends after its first byte.
    if (match.index === previousLineEnd) ends.push(match.index + 1);
    previousLineEnd = match.index + match[0].length;
  }
  return ends;
}

/** Feeds `text` in the given chunk sizes; returns the ends (offsets in the whole text) and the largest event. */
function scanInChunks(text: string, sizes: number[]): { ends: number[]; largest: number } {
  const bytes = Buffer.from(text, 'latin1');
  const scanner = new SseEventScanner();
  const ends: number[] = [];
  let largest = 0;
  let offset = 0;
  let k = 0;
  while (offset < bytes.length) {
    const size = Math.max(1, sizes[k++ % Math.max(1, sizes.length)] ?? 1);
    const chunk = bytes.subarray(offset, offset + size);
    const scanned = scanner.scan(chunk);
    for (const end of scanned.ends) ends.push(offset + end);
    largest = Math.max(largest, scanned.largest);
    offset += chunk.length;
  }
  return { ends, largest };
}

const sseText = fc.string({ unit: fc.constantFrom('a', 'd', 'i', ':', ' ', '\n', '\r'), maxLength: 300 });

describe('SSE event scanner', () => {
  it('finds the same event ends as the grammar, however the bytes are chunked', () => {
    fc.assert(
      fc.property(sseText, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }), (text, sizes) => {
        expect(scanInChunks(text, sizes).ends).toEqual(referenceEnds(text));
      }),
      { numRuns: 500 },
    );
  });

  it('measures the largest event, finished or still arriving', () => {
    fc.assert(
      fc.property(sseText, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }), (text, sizes) => {
        const ends = referenceEnds(text);
        const starts = [0, ...ends];
        const sizesOfEvents = starts.map((start, i) => (ends[i] ?? text.length) - start);
        expect(scanInChunks(text, sizes).largest).toBe(Math.max(0, ...sizesOfEvents));
      }),
      { numRuns: 500 },
    );
  });

  it('notices an event id, also when the field name is split across chunks', () => {
    expect(scanInChunks('data: x\n\nid: 1\ndata: y\n\n', [11]).ends).toHaveLength(2);
    const scanner = new SseEventScanner();
    scanner.scan(Buffer.from('data: x\n\ni'));
    expect(scanner.sawEventId).toBe(false);
    scanner.scan(Buffer.from('d: 42\n\n'));
    expect(scanner.sawEventId).toBe(true);
  });

  it('scans a 20 MB event without a blank line in linear time', () => {
    const scanner = new SseEventScanner();
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const started = performance.now();
    let largest = 0;
    for (let i = 0; i < 320; i++) largest = scanner.scan(chunk).largest;
    expect(largest).toBe(320 * 64 * 1024);
    // Generous: this is ~20 ms of native indexOf; a rescan per chunk would take minutes.
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
