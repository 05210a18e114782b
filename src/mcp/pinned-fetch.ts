import type { LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { ExternalServiceError, ValidationError } from '../errors/index.js';
import { leanPost } from './lean-post.js';
import { assertUpstreamUrlAllowed, type PinnedAddress, type ResolvedTarget } from './ssrf-guard.js';
import type { SsrfPolicy } from './types.js';

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
 */
export interface PinnedFetch {
  fetch: typeof globalThis.fetch;
  /** The last redirect refusal; the SSE transport swallows fetch errors into an ErrorEvent, so the session reads it here. */
  lastRefusal: Error | undefined;
  close(): Promise<void>;
}

export interface PinnedFetchOptions {
  resolved: ResolvedTarget;
  policy: SsrfPolicy;
  /** TCP/TLS connect timeout. */
  connectTimeoutMs: number;
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
        return ValidationError.field('url', 'Upstream redirected to a URL that is not allowed', {
          reason: 'url_not_allowed',
          redirect: true,
        });
      }
      // Unresolvable redirect target: still just a refused redirect.
    }
  }
  return new ExternalServiceError('Upstream answered with a redirect; redirects are not followed', {
    reason: 'redirect_refused',
    status: response.status,
  });
}

export function createPinnedFetch({ resolved, policy, connectTimeoutMs }: PinnedFetchOptions): PinnedFetch {
  const agent = new Agent({
    connect: { lookup: pinnedLookup(resolved.hostname, resolved.addresses), timeout: connectTimeoutMs },
    // The SDK bounds every request itself (request timeouts, abort on close);
    // undici's own 300 s body timeout would instead cut idle SSE streams.
    bodyTimeout: 0,
    headersTimeout: 0,
  });
  const origin = resolved.url.origin;

  const pinned: PinnedFetch = {
    lastRefusal: undefined,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const url = input instanceof URL ? input : new URL(typeof input === 'string' ? input : input.url);
      if (url.origin !== origin) {
        throw new ExternalServiceError('Upstream tried to send the gateway to another origin', {
          reason: 'redirect_refused',
        });
      }
      // POSTs (every tool call) take the cheap path; GETs (event streams) and DELETEs stay on fetch.
      const lean = init?.method === 'POST' ? await leanPost(agent, url, init) : undefined;
      const response =
        lean ??
        (await undiciFetch(url, {
          ...(init as Parameters<typeof undiciFetch>[1]),
          // The Streamable HTTP transport hands every POST the same session-long
          // AbortSignal; undici adds a listener to it per request and only drops it
          // when the request is garbage-collected, so under load thousands pile up
          // (MaxListenersExceededWarning). POSTs need no signal here: closing a
          // session destroys this Agent, which ends every request still running.
          // GETs (long-lived event streams) keep theirs.
          signal: init?.method === 'POST' ? undefined : init?.signal,
          redirect: 'manual',
          dispatcher: agent,
        }));
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel().catch(() => undefined);
        const error = await redirectError(response, url, policy);
        pinned.lastRefusal = error;
        throw error;
      }
      return response as unknown as Response;
    }) as typeof globalThis.fetch,
    close: async () => {
      // destroy, not close: close() would wait for long-lived SSE streams.
      await agent.destroy().catch(() => undefined);
    },
  };
  return pinned;
}
