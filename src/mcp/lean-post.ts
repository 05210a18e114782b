import { STATUS_CODES } from 'node:http';
import type { Dispatcher } from 'undici';
import { mediaTypeOf } from '../common/media-type.js';
import { readAhead, toWebStream } from './sse-read-ahead.js';

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
 *
 * A short event stream that holds nothing but the response is handed over as
 * JSON (see sse-read-ahead.ts); every other answer is passed on unchanged.
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
  const statusText = STATUS_CODES[status] ?? '';
  if (NULL_BODY_STATUSES.has(status)) {
    answer.body.resume();
    return new Response(null, { status, statusText, headers: responseHeaders });
  }
  if (status === 200 && isEventStream(responseHeaders.get('content-type'))) {
    const ahead = await readAhead(answer.body);
    if (ahead.kind === 'stream') return new Response(ahead.stream, { status, statusText, headers: responseHeaders });
    responseHeaders.set('content-type', 'application/json');
    responseHeaders.delete('content-length');
    return new Response(`[${ahead.payloads.join(',')}]`, { status, statusText, headers: responseHeaders });
  }
  return new Response(toWebStream(answer.body), { status, statusText, headers: responseHeaders });
}

function isEventStream(contentType: string | null): boolean {
  return mediaTypeOf(contentType) === 'text/event-stream';
}
