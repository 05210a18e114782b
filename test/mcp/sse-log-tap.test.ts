import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tapLogMessages } from '../../src/mcp/sse-log-tap.js';

/**
 * The tap must find every log message of a POST's event stream however the
 * bytes are chunked, ignore what the SDK would ignore, and pass the bytes on
 * unchanged.
 */
const log = (data: string, eol = '\n') =>
  `event: message${eol}data: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"x","data":${JSON.stringify(data)}}}${eol}${eol}`;
const STREAM = [
  'id: 1\ndata: \n\n',
  log('first'),
  log('second, CRLF', '\r\n'),
  // Not for the SDK: a foreign event type, and a comment naming the method.
  'event: other\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"ignored"}}\n\n',
  ': "notifications/message"\n\n',
  'data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":7,"progress":1}}\n\n',
  log('third'),
  'data: {"jsonrpc":"2.0","id":7,"result":{"content":[]}}\n\n',
].join('');

async function run(bytes: Buffer, cuts: number[]): Promise<{ passed: Buffer; logs: unknown[] }> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const at of [...points, bytes.length]) {
    if (at > from) chunks.push(new Uint8Array(bytes.subarray(from, at)));
    from = Math.max(from, at);
  }
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const logs: unknown[] = [];
  const passed: Uint8Array[] = [];
  const reader = tapLogMessages(source, (params) => logs.push(params.data)).getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) passed.push(next.value);
  return { passed: Buffer.concat(passed), logs };
}

describe('tapLogMessages', () => {
  it('finds each log message the SDK would read, in order, and passes every byte on unchanged, however chunked', async () => {
    const bytes = Buffer.from(STREAM);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (cuts) => {
        const { passed, logs } = await run(bytes, cuts);
        expect(passed.equals(bytes)).toBe(true);
        expect(logs).toEqual(['first', 'second, CRLF', 'third']);
      }),
      { numRuns: 200 },
    );
  });
});
