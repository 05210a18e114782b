import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BodyBounds } from '../../src/mcp/bounded-body.js';
import { END_GRACE_MS, readAhead, type ReadAhead } from '../../src/mcp/sse-read-ahead.js';

/**
 * The read-ahead may only turn a POST's event stream into JSON when the SDK
 * would have seen exactly the same messages; everything else must reach the
 * SDK as the original bytes.
 */
const priming = 'id: 5b1c\ndata: \n\n';
const response = 'event: message\nid: 5b1d\ndata: {"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"Echo: hi"}]}}\n\n';
const responsePayload = '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"Echo: hi"}]}}';
const progress = 'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":7,"progress":1}}\n\n';

/** Feeds `parts` (strings, or numbers = pause in ms) into a body and returns the read-ahead answer. */
async function feed(parts: (string | number | Error)[], end = true, bounds?: BodyBounds): Promise<ReadAhead> {
  const body = new PassThrough();
  const answer = readAhead(body, bounds);
  for (const part of parts) {
    if (typeof part === 'number') await new Promise((r) => setTimeout(r, part));
    else if (part instanceof Error) body.destroy(part);
    else body.write(Buffer.from(part));
  }
  if (end && !parts.some((p) => p instanceof Error)) body.end();
  return answer;
}

async function text(answer: ReadAhead): Promise<string> {
  if (answer.kind !== 'stream') throw new Error(`expected a stream, got ${answer.kind}`);
  return new Response(answer.stream).text();
}

describe('SSE read-ahead of a tool-call answer', () => {
  it('hands over a stream holding only the response as its JSON payload', async () => {
    const answer = await feed([priming, response]);
    expect(answer).toEqual({
      kind: 'messages',
      payloads: ['{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"Echo: hi"}]}}'],
    });
  });

  it('joins events split across chunks, CRLF line ends and multi-line data', async () => {
    const crlf = 'data: {"jsonrpc":"2.0",\r\ndata: "id":1,"result":{}}\r\n\r\n';
    const answer = await feed([priming.slice(0, 5), priming.slice(5), crlf.slice(0, 17), crlf.slice(17)]);
    expect(answer).toEqual({ kind: 'messages', payloads: ['{"jsonrpc":"2.0",\n"id":1,"result":{}}'] });
  });

  it('streams a progress notification as it comes, with every byte of the answer', async () => {
    const answer = await feed([priming, progress, 5, response]);
    expect(answer.kind).toBe('stream');
    expect(await text(answer)).toBe(priming + progress + response);
  });

  it('streams an answer that stays open after its response', async () => {
    const body = new PassThrough();
    const pending = readAhead(body);
    body.write(response);
    const answer = await pending;
    expect(answer.kind).toBe('stream');
    setTimeout(() => body.end(': bye\n\n'), END_GRACE_MS);
    expect(await text(answer)).toBe(`${response}: bye\n\n`);
  });

  it('streams an answer that ends without a response (the SDK resumes those)', async () => {
    const answer = await feed([priming]);
    expect(await text(answer)).toBe(priming);
  });

  it('drops an unparsable payload before the response, as the SDK would', async () => {
    const answer = await feed(['data: not json\n\n', 'data: {"no":"jsonrpc"}\n\n', response]);
    expect(answer).toEqual({ kind: 'messages', payloads: [responsePayload] });
  });

  it('streams a retry field, a batch and a second message', async () => {
    for (const parts of [
      ['retry: 500\n\n', response],
      ['data: [{"jsonrpc":"2.0","id":1,"result":{}}]\n\n'],
      [response, response],
      [response, 'data: {"jsonrpc":"2.0","method":"notifications/message","params":{}}\n\n'],
    ]) {
      const answer = await feed(parts);
      expect(await text(answer)).toBe(parts.join(''));
    }
  });

  it('streams a trailing event without its blank line, leaving it to the SDK parser', async () => {
    const answer = await feed([response, 'data: {"jsonrpc":"2.0","method":"x"}']);
    expect(answer.kind).toBe('stream');
  });

  it('passes a broken body on as a stream that fails like fetch (TypeError terminated)', async () => {
    const answer = await feed([priming, new Error('socket hang up')]);
    await expect(text(answer)).rejects.toMatchObject({ name: 'TypeError', message: 'terminated' });
  });
});

/** The verdict (verdict.ts) a read-ahead answered with, as the SDK will receive it. */
function verdictIn(answer: ReadAhead): { id: unknown; kind: string } {
  if (answer.kind !== 'messages' || answer.payloads.length !== 1) throw new Error(`expected one message, got ${answer.kind}`);
  const message = JSON.parse(answer.payloads[0]!) as { id: unknown; error: { data: { tmws_verdict: { kind: string } } } };
  return { id: message.id, kind: message.error.data.tmws_verdict.kind };
}

describe('SSE read-ahead within bounds (SPEC §14)', () => {
  const bounds = { maxMessageBytes: 1024, requestId: 7 };

  it('refuses an event that grows past the limit, answers the request with a verdict and closes the body', async () => {
    const body = new PassThrough();
    const answer = readAhead(body, bounds);
    for (let i = 0; i < 100 && !body.destroyed; i++) body.write(i === 0 ? 'data: {"jsonrpc":"2.0","id":7,' : 'x'.repeat(100));
    expect(verdictIn(await answer)).toEqual({ id: 7, kind: 'too_large' });
    expect(body.destroyed).toBe(true);
  });

  it('lets many events through that are each within the limit', async () => {
    const small = ': keep-alive\n\n'.repeat(200);
    expect(await feed([small, response], true, bounds)).toEqual({ kind: 'messages', payloads: [responsePayload] });
  });

  it('answers a stream that ends without a valid answer (and no event id to resume from) at once', async () => {
    expect(verdictIn(await feed(['data: {"jsonrpc":"2.0","id":7,"result":'], true, bounds))).toEqual({ id: 7, kind: 'no_answer' });
    expect(verdictIn(await feed(['data: not json\n\n'], true, bounds))).toEqual({ id: 7, kind: 'no_answer' });
  });

  it('answers a stream that breaks off mid-answer at once', async () => {
    const answer = await feed(['data: {"jsonrpc":"2.0","id":7,"res', new Error('socket hang up')], true, bounds);
    expect(verdictIn(answer)).toEqual({ id: 7, kind: 'cut_off' });
  });

  it('still leaves a resumable stream (one with event ids) to the SDK', async () => {
    const answer = await feed([priming], true, bounds);
    expect(answer.kind).toBe('stream');
  });
});
