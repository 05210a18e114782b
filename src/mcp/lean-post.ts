import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/**
 * Every tool call is one POST on the upstream session. Through undici's WHATWG
 * `fetch` that POST builds a Request, wraps its body in a web stream, tees it
 * (a `redirect: 'manual'` request is cloned) and runs the fetch algorithm: in
 * the gateway's profile this was the largest single cost of a tool call after
 * the SDK itself. `Dispatcher.request()` does the same HTTP exchange on the
 * same pinned connection pool; the answer is wrapped in a standard `Response`
 * so the SDK transport sees no difference.
 *
 * Errors keep fetch's shape (`TypeError: fetch failed` with the socket error
 * as `cause`, `TypeError: terminated` when the body breaks off), so the
 * failure classification in errors.ts reads them exactly as before.
 */

/** Statuses whose Response must not carry a body (the constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * POSTs `init.body` to `url` through `dispatcher` and answers like `fetch`
 * would (redirects are not followed). Returns `undefined` for a request it
 * does not handle (a body that is not a string), so the caller falls back to `fetch`.
 */
export async function leanPost(dispatcher: Dispatcher, url: URL, init: RequestInit): Promise<Response | undefined> {
  if (typeof init.body !== 'string') return undefined;
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  let answer: Dispatcher.ResponseData;
  try {
    answer = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers,
      body: init.body,
    });
  } catch (error) {
    throw new TypeError('fetch failed', { cause: error });
  }
  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) responseHeaders.append(name, item);
    else responseHeaders.set(name, value);
  }
  const status = answer.statusCode;
  const noBody = NULL_BODY_STATUSES.has(status);
  if (noBody) answer.body.resume();
  return new Response(noBody ? null : toWebStream(answer.body), {
    status,
    statusText: STATUS_CODES[status] ?? '',
    headers: responseHeaders,
  });
}

/** A web stream over a Node body, with backpressure; cancelling it closes the body. */
function toWebStream(body: Readable): ReadableStream<Uint8Array> {
  // Chunks can still arrive after the reader cancelled; a settled controller must not be touched.
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      body.on('data', (chunk: Buffer) => {
        if (settled) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) body.pause();
      });
      body.once('end', () => {
        if (settled) return;
        settled = true;
        controller.close();
      });
      body.on('error', (error) => {
        if (settled) return;
        settled = true;
        controller.error(new TypeError('terminated', { cause: error }));
      });
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
