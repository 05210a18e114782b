/**
 * readSseMessages (the `/mcp/connections/{id}` passthrough's reader of an upstream event stream): the same
 * messages whatever the chunking — a CRLF or a UTF-8 character split between chunks, CR-only and LF-only
 * line ends — and a long line read whole.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { readSseMessages } from '../../src/mcp/sse-messages.js';

const STREAM =
  ': a comment\r\n' +
  'id: 1\r\n' +
  'data: {"jsonrpc":"2.0","method":"a","params":{"text":"café ✓"}}\r\n\r\n' +
  'event: other\ndata: {"jsonrpc":"2.0","method":"ignored"}\n\n' +
  'data: {"jsonrpc":"2.0",\rdata: "id":1,"result":{}}\r\r' +
  'retry: 1500\n' +
  'id: 2\n' +
  'data: [{"jsonrpc":"2.0","method":"b"},{"jsonrpc":"2.0","method":"c"}]\n\n';

const EXPECTED: JSONRPCMessage[] = [
  { jsonrpc: '2.0', method: 'a', params: { text: 'café ✓' } },
  { jsonrpc: '2.0', id: 1, result: {} },
  { jsonrpc: '2.0', method: 'b' },
  { jsonrpc: '2.0', method: 'c' },
];

function responseOf(chunks: Uint8Array[]): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

async function read(chunks: Uint8Array[], done?: () => boolean) {
  const messages: JSONRPCMessage[] = [];
  const end = await readSseMessages(responseOf(chunks), (message) => messages.push(message), done);
  return { messages, ...end };
}

describe('readSseMessages', () => {
  const bytes = new TextEncoder().encode(STREAM);

  it('reads every message event, skipping comments and other event types, and keeps the last id and retry', async () => {
    expect(await read([bytes])).toEqual({ messages: EXPECTED, lastEventId: '2', retryMs: 1500 });
  });

  it('gives the same messages split in two at every byte: a CRLF, a CR-only line end or a UTF-8 character across chunks', async () => {
    for (let at = 1; at < bytes.length; at++) {
      const got = await read([bytes.subarray(0, at), bytes.subarray(at)]);
      expect(got, `split at byte ${at}`).toEqual({ messages: EXPECTED, lastEventId: '2', retryMs: 1500 });
    }
  });

  it('gives the same messages one byte at a time', async () => {
    const single = Array.from(bytes, (byte) => Uint8Array.of(byte));
    expect((await read(single)).messages).toEqual(EXPECTED);
  });

  it('reads a 4 MiB event arriving in 64 KiB chunks as one message, whole', async () => {
    const text = 'x'.repeat(4 * 1024 * 1024);
    const event = new TextEncoder().encode(`data: ${JSON.stringify({ jsonrpc: '2.0', id: 7, result: { text } })}\n\n`);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < event.length; at += 64 * 1024) chunks.push(event.subarray(at, at + 64 * 1024));
    const { messages } = await read(chunks);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toEqual({ jsonrpc: '2.0', id: 7, result: { text } });
  });

  it('stops reading once done() says so', async () => {
    const first = new TextEncoder().encode('data: {"jsonrpc":"2.0","id":1,"result":{}}\n\n');
    const later = new TextEncoder().encode('data: {"jsonrpc":"2.0","method":"late"}\n\n');
    let seen = 0;
    const messages: JSONRPCMessage[] = [];
    await readSseMessages(
      responseOf([first, later]),
      (message) => {
        seen += 1;
        messages.push(message);
      },
      () => seen > 0,
    );
    expect(messages).toEqual([{ jsonrpc: '2.0', id: 1, result: {} }]);
  });
});
