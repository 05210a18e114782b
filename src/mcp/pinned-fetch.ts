import type { LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { mediaTypeOf } from '../common/media-type.js';
import { ExternalServiceError, ValidationError } from '../errors/index.js';
import { EventStreamMeter, tooLargeError, WholeBodyMeter, type BodyBounds } from './bounded-body.js';
import { leanPost, type LeanPostOptions } from './lean-post.js';
import { RequestCloser } from './request-closer.js';
import { assertUpstreamUrlAllowed, type PinnedAddress, type ResolvedTarget } from './ssrf-guard.js';
import type { SessionLimits, SsrfPolicy, UpstreamTarget } from './types.js';

/**
 * The `fetch` handed to the SDK transports of one upstream session.
 *
 * - DNS pinning: the undici Agent's `connect.lookup` answers only with the
 *   addresses the SSRF guard validated, so no second DNS query can rebind the
 *   name to an internal address between check and connect, and no per-call
 *   DNS lookup happens at all.
 * - Redirects are never followed (`redirect: 'manual'`, and a 3xx is turned
 *   into an error before the SDK's own same-origin redirect follower sees it).
 *   Decision: a redirect whose target the guard would refuse is reported as
 *   ValidationError `url_not_allowed` (same as a refused URL); any other
 *   redirect is ExternalServiceError `redirect_refused` — the user should
 *   register the final URL instead.
 * - Requests may only go to the session's own origin.
 * - Bounded answers (SPEC §14): no upstream message may grow past
 *   `maxMessageBytes` while it streams (bounded-body.ts); past it the upstream
 *   request is closed.
 * - A request's POST is closed when the request ends early: the SDK sends
 *   `notifications/cancelled` for a request it cancels or times out, and that
 *   notification aborts the POST still carrying the request's answer, so a
 *   timed-out call does not keep its upstream request open.
 */
export interface PinnedFetch {
  fetch: typeof globalThis.fetch;
  /** The last redirect refusal; the SSE transport swallows fetch errors into an ErrorEvent, so the session reads it here. */
  lastRefusal: Error | undefined;
  /** The last event stream refused as too large (read by the session the same way). */
  lastTooLarge: Error | undefined;
  /** Set by the session: log messages found on the event stream of a request's POST, with that request's id. */
  onRequestLog: ((requestId: number | string, params: Record<string, unknown>) => void) | undefined;
  close(): Promise<void>;
}

export interface PinnedFetchOptions {
  resolved: ResolvedTarget;
  policy: SsrfPolicy;
  /** TCP/TLS connect timeout; also bounds a POST that carries no request (a notification). */
  connectTimeoutMs: number;
  /** Largest upstream message (TMWS_MAX_RESULT_BYTES). */
  maxMessageBytes: number;
  /** For error details. */
  connectionId: string;
}

function pinnedLookup(hostname: string, addresses: PinnedAddress[]): LookupFunction {
  return (requested, options, callback) => {
    const name = requested.toLowerCase();
    if (name !== hostname) {
      const error = Object.assign(new Error(`refusing to resolve ${requested}: not the pinned upstream host`), {
        code: 'ENOTFOUND',
      });
      callback(error, '', 0);
      return;
    }
    const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
    const list = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
    const first = list[0];
    if (!first) {
      callback(Object.assign(new Error(`no pinned IPv${wanted} address for ${requested}`), { code: 'ENOTFOUND' }), '', 0);
      return;
    }
    if (options.all) {
      // Node's happy-eyeballs path (autoSelectFamily) asks for every address.
      (callback as unknown as (err: null, addresses: PinnedAddress[]) => void)(null, list);
    } else {
      callback(null, first.address, first.family);
    }
  };
}

async function redirectError(
  response: { status: number; headers: { get(name: string): string | null } },
  requestUrl: URL,
  policy: SsrfPolicy,
): Promise<Error> {
  const location = response.headers.get('location');
  let target: URL | undefined;
  try {
    target = location ? new URL(location, requestUrl) : undefined;
  } catch {
    target = undefined;
  }
  if (target) {
    try {
      await assertUpstreamUrlAllowed(target.href, policy);
    } catch (error) {
      if (error instanceof ValidationError) {
        return ValidationError.field(
          'url',
          'Upstream redirected to a URL that is not allowed',
          { redirect: true },
          { reason: 'url_not_allowed' },
        );
      }
      // Unresolvable redirect target: still just a refused redirect.
    }
  }
  return new ExternalServiceError('redirect_refused', 'Upstream answered with a redirect; redirects are not followed', {
    status: response.status,
  });
}

/**
 * The pinned fetch of one connection's upstream, as the pooled session and the
 * passthrough link both use it: the connection's timeout bounds connecting, and
 * TMWS_MAX_RESULT_BYTES every message.
 */
export function connectionFetch(
  resolved: ResolvedTarget,
  options: { target: UpstreamTarget; policy: SsrfPolicy; limits: Pick<SessionLimits, 'maxMessageBytes'> },
): PinnedFetch {
  return createPinnedFetch({
    resolved,
    policy: options.policy,
    connectTimeoutMs: options.target.timeoutMs,
    maxMessageBytes: options.limits.maxMessageBytes,
    connectionId: options.target.connectionId,
  });
}

export function createPinnedFetch(options: PinnedFetchOptions): PinnedFetch {
  const { resolved, policy, connectTimeoutMs } = options;
  const agent = new Agent({
    connect: { lookup: pinnedLookup(resolved.hostname, resolved.addresses), timeout: connectTimeoutMs },
    // The SDK bounds every request itself (request timeouts, abort on close);
    // undici's own 300 s body timeout would instead cut idle SSE streams.
    bodyTimeout: 0,
    headersTimeout: 0,
  });
  const origin = resolved.url.origin;
  const bounds: BodyBounds = { maxMessageBytes: options.maxMessageBytes, connectionId: options.connectionId };
  /** POSTs whose answer is still streaming, by the id of the request they carry. */
  const openRequests = new Map<number, RequestCloser>();

  const post = async (url: URL, init: RequestInit): Promise<Response | undefined> => {
    const body = init.body;
    if (typeof body !== 'string') return undefined;
    const requestId = requestIdOfPost(body);
    if (requestId === undefined) {
      closeCancelledRequest(body, openRequests);
      return leanPost(agent, url, init, leanPostOptions(bounds, { exchangeTimeoutMs: connectTimeoutMs }));
    }
    const closer = new RequestCloser();
    openRequests.set(requestId, closer);
    const forget = () => {
      if (openRequests.get(requestId) === closer) openRequests.delete(requestId);
    };
    try {
      const onLog = pinned.onRequestLog;
      return await leanPost(agent, url, init, leanPostOptions(bounds, { requestId, signal: closer, onClosed: forget, onLog }));
    } catch (error) {
      forget();
      throw error;
    }
  };

  const pinned: PinnedFetch = {
    lastRefusal: undefined,
    lastTooLarge: undefined,
    onRequestLog: undefined,
    fetch: async (input: string | URL | Request, init?: RequestInit) => {
      const url = input instanceof URL ? input : new URL(typeof input === 'string' ? input : input.url);
      if (url.origin !== origin) {
        throw new ExternalServiceError('redirect_refused', 'Upstream tried to send the gateway to another origin');
      }
      // POSTs (every tool call) take the cheap path; GETs (event streams) and DELETEs stay on fetch.
      const lean = init?.method === 'POST' ? await post(url, init) : undefined;
      const response =
        lean ??
        bounded(
          await undiciFetch(url, {
            ...(init as Parameters<typeof undiciFetch>[1]),
            // The Streamable HTTP transport hands every POST the same session-long
            // AbortSignal; undici adds a listener to it per request and only drops it
            // when the request is garbage-collected, so under load thousands pile up
            // (MaxListenersExceededWarning). POSTs get their own signal in post();
            // closing a session destroys this Agent, which ends every request still running.
            // GETs (long-lived event streams) keep theirs.
            signal: init?.method === 'POST' ? undefined : init?.signal,
            redirect: 'manual',
            dispatcher: agent,
          }),
          bounds,
          (error) => {
            pinned.lastTooLarge = error;
          },
        );
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel().catch(() => undefined);
        const error = await redirectError(response, url, policy);
        pinned.lastRefusal = error;
        throw error;
      }
      return response;
    },
    close: async () => {
      for (const closer of openRequests.values()) closer.abort();
      openRequests.clear();
      // destroy, not close: close() would wait for long-lived SSE streams.
      await agent.destroy().catch(() => undefined);
    },
  };
  return pinned;
}

/**
 * One shape for every POST's options, each field written out: leanPost then
 * reads them without missing V8's property caches, and no literal spreads
 * `bounds` and adds fields (a runtime call per added field, seen in perf).
 */
function leanPostOptions(
  bounds: BodyBounds,
  per: Pick<LeanPostOptions, 'exchangeTimeoutMs' | 'requestId' | 'signal' | 'onClosed' | 'onLog'>,
): LeanPostOptions {
  return {
    maxMessageBytes: bounds.maxMessageBytes,
    connectionId: bounds.connectionId,
    requestId: per.requestId,
    signal: per.signal,
    exchangeTimeoutMs: per.exchangeTimeoutMs,
    onClosed: per.onClosed,
    onLog: per.onLog,
  };
}

/**
 * The id of the request a POST carries. The SDK serialises a request as
 * `{"method":…,"params":…,"jsonrpc":"2.0","id":N}`, so this reads the ends of
 * the text instead of parsing every call's arguments. Anything else (a
 * notification, a response to the server, a batch) is undefined.
 */
export function requestIdOfPost(body: string): number | undefined {
  if (!body.startsWith('{"method":') || !body.endsWith('}')) return undefined;
  const at = body.lastIndexOf('"id":');
  if (at < 0) return undefined;
  const digits = body.slice(at + 5, -1);
  return /^\d{1,15}$/.test(digits) ? Number(digits) : undefined;
}

/** `notifications/cancelled` for a request whose POST is still open: close that POST. */
function closeCancelledRequest(body: string, openRequests: Map<number, RequestCloser>): void {
  if (openRequests.size === 0 || body.length > 4096 || !body.includes('"notifications/cancelled"')) return;
  const id = (parseJson(body) as { method?: unknown; params?: { requestId?: unknown } } | undefined)?.params?.requestId;
  if (typeof id !== 'number') return;
  openRequests.get(id)?.abort();
  openRequests.delete(id);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A fetch answer whose body counts its messages (SPEC §14) and fails past the limit, cancelling the upstream request. */
function bounded(response: Awaited<ReturnType<typeof undiciFetch>>, bounds: BodyBounds, onTooLarge: (error: Error) => void): Response {
  const body = response.body as ReadableStream<Uint8Array> | null;
  if (!body || (response.status >= 300 && response.status < 400)) return response as unknown as Response;
  const meter =
    mediaTypeOf(response.headers.get('content-type')) === 'text/event-stream'
      ? new EventStreamMeter(bounds.maxMessageBytes)
      : new WholeBodyMeter(bounds.maxMessageBytes);
  const counted = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (!meter.exceeded(chunk)) return controller.enqueue(chunk);
        const error = tooLargeError(bounds);
        onTooLarge(error);
        controller.error(error);
      },
    }),
  );
  return new Response(counted, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers as unknown as Headers,
  });
}
