import { STATUS_CODES } from 'node:http';
import type { Dispatcher } from 'undici';
import { headerValue } from '../common/header-value.js';
import { mediaTypeOf } from '../common/media-type.js';
import { closeBody, EventStreamMeter, tooLargeError, toWebStream, WholeBodyMeter, type BodyBounds } from './bounded-body.js';
import { tapLogMessages } from './sse-log-tap.js';
import { readAhead } from './sse-read-ahead.js';

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
 * JSON (see sse-read-ahead.ts); every other answer is passed on unchanged,
 * within `bounds` (bounded-body.ts): no upstream message grows past the
 * size limit, and `bounds.signal` closes the upstream request.
 */

export interface LeanPostOptions extends BodyBounds {
  /**
   * undici's headers and body timeouts (ms). A POST that carries a request is
   * bounded by that request's timeout (its cancellation aborts `signal`); one
   * without (a notification, a response to the server) has no other bound.
   * @default 0 (none)
   */
  exchangeTimeoutMs?: number;
  /** Called once the upstream answer is over (read, refused, aborted or failed). */
  onClosed?: () => void;
  /** Log messages (`notifications/message` params) found on the event stream of the request `requestId` (sse-log-tap.ts). */
  onLog?: ((requestId: number | string, params: Record<string, unknown>) => void) | undefined;
}

/** Statuses whose Response must not carry a body (the constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * POSTs `init.body` to `url` through `dispatcher` and answers like `fetch`
 * would (redirects are not followed). Returns `undefined` for a request it
 * does not handle (a body that is not a string), so the caller falls back to `fetch`.
 */
export async function leanPost(
  dispatcher: Dispatcher,
  url: URL,
  init: RequestInit,
  options: LeanPostOptions,
): Promise<Response | undefined> {
  if (typeof init.body !== 'string') return undefined;
  const headers: Record<string, string> = {};
  // The SDK hands a Headers object already: read it as it is rather than copying it first.
  const given = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
  given.forEach((value, name) => {
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
      signal: options.signal,
      headersTimeout: options.exchangeTimeoutMs ?? 0,
      bodyTimeout: options.exchangeTimeoutMs ?? 0,
    });
  } catch (error) {
    options.onClosed?.();
    throw new TypeError('fetch failed', { cause: error });
  }
  if (options.onClosed) answer.body.once('close', options.onClosed);
  const status = answer.statusCode;
  const statusText = STATUS_CODES[status] ?? '';
  if (NULL_BODY_STATUSES.has(status)) {
    answer.body.resume();
    return new Response(null, { status, statusText, headers: webHeaders(answer.headers) });
  }
  const eventStream = isEventStream(headerValue(answer.headers, 'content-type'));
  if (status === 200 && eventStream) {
    const ahead = await readAhead(answer.body, options);
    if (ahead.kind === 'stream') {
      return new Response(withLogTap(ahead.stream, options), { status, statusText, headers: webHeaders(answer.headers) });
    }
    return new ReadAheadAnswer(
      status,
      statusText,
      new JsonAnswerHeaders(answer.headers),
      `[${ahead.payloads.join(',')}]`,
    ) as unknown as Response;
  }
  // A declared length past the limit is refused before a byte is read.
  if (!eventStream && status < 300 && Number(answer.headers['content-length'] ?? 0) > options.maxMessageBytes) {
    closeBody(answer.body);
    throw tooLargeError(options);
  }
  const meter = eventStream ? new EventStreamMeter(options.maxMessageBytes) : new WholeBodyMeter(options.maxMessageBytes);
  return new Response(toWebStream(answer.body, [], {}, options, meter), { status, statusText, headers: webHeaders(answer.headers) });
}

type RawHeaders = Dispatcher.ResponseData['headers'];

function webHeaders(headers: RawHeaders): Headers {
  const web = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) web.append(name, item);
    else web.set(name, value);
  }
  return web;
}

/**
 * The headers of a read-ahead answer, as the SDK transport reads them
 * (`get`): the upstream's, except that the body is now JSON of another
 * length. Building a WHATWG `Headers` for them cost ~4 µs per tool call.
 */
class JsonAnswerHeaders {
  constructor(private readonly raw: RawHeaders) {}

  get(name: string): string | null {
    const key = name.toLowerCase();
    if (key === 'content-type') return 'application/json';
    if (key === 'content-length') return null;
    return headerValue(this.raw, key);
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const name of Object.keys(this.raw).sort()) {
      const value = this.get(name);
      if (value !== null) callback(value, name);
    }
  }
}

/** A stream that was read ahead and converted held nothing but the response: only a streamed one can carry log messages. */
function withLogTap(stream: ReadableStream<Uint8Array>, options: LeanPostOptions): ReadableStream<Uint8Array> {
  const { onLog, requestId } = options;
  if (!onLog || requestId === undefined) return stream;
  return tapLogMessages(stream, (params) => onLog(requestId, params));
}

function isEventStream(contentType: string | null): boolean {
  return mediaTypeOf(contentType) === 'text/event-stream';
}

/**
 * A 200 answer read ahead in full and handed over as JSON (sse-read-ahead.ts),
 * as a `Response` without a body stream. A real `Response` wraps the text in a
 * web stream that `json()` then reads back chunk by chunk: in profiles of a
 * tool call that construction and read were ~5 % of the gateway's main thread.
 * The SDK's Streamable HTTP transport reads `ok`, `status`, `headers` and
 * `json()` of an answer to a POST (`text()` and `body` only of a failed one);
 * every member a caller of `fetch` may read without a body stream is here.
 */
class ReadAheadAnswer {
  readonly ok: boolean;
  readonly redirected = false;
  readonly type = 'basic';
  readonly url = '';
  /** No stream: the text is all there is (`body?.cancel()` is a no-op, as for a consumed body). */
  readonly body = null;
  private consumed = false;

  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: JsonAnswerHeaders,
    private readonly payload: string,
  ) {
    this.ok = status >= 200 && status < 300;
  }

  get bodyUsed(): boolean {
    return this.consumed;
  }

  async text(): Promise<string> {
    if (this.consumed) throw new TypeError('Body is unusable: Body has already been read');
    this.consumed = true;
    return this.payload;
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }
}
