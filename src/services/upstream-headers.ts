/**
 * Which HTTP headers an agent may have the gateway send to its upstream
 * (`headers` of a connection). They exist for upstream credentials, so the
 * list allows credentials and custom `X-` headers, and nothing that changes
 * how the request is framed, routed or spoken: `Host`, `Content-Length`,
 * `Transfer-Encoding`, `Connection` and the other hop-by-hop headers,
 * `Content-Type`, `Accept` and the `Mcp-*` / `Last-Event-ID` headers of the
 * MCP transport belong to the gateway; `X-Forwarded-*` and `X-Real-IP` would
 * let an agent speak for the gateway about client addresses.
 */

/** Credential headers other than custom `X-` ones. */
const ALLOWED_NAMES: ReadonlySet<string> = new Set(['authorization', 'cookie', 'api-key', 'apikey']);

/** `X-` headers that are not custom: proxies and frameworks give them meaning. */
const RESERVED_X_NAMES: ReadonlySet<string> = new Set(['x-real-ip', 'x-http-method-override', 'x-http-method', 'x-method-override']);

/** Why a header name may not be set on a connection, or undefined when it may. */
export function upstreamHeaderRefusal(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (ALLOWED_NAMES.has(lower)) return undefined;
  if (lower.startsWith('x-') && !lower.startsWith('x-forwarded-') && !RESERVED_X_NAMES.has(lower)) return undefined;
  return `header '${name}' may not be set: allowed are Authorization, Cookie, Api-Key and custom X-* headers`;
}

/** The first header name given twice in different letter case (HTTP names are case-insensitive). */
export function duplicateHeaderName(names: string[]): string | undefined {
  const seen = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    if (seen.has(lower)) return name;
    seen.add(lower);
  }
  return undefined;
}

export interface UrlWithoutCredentials {
  /** The URL with its `user:password@` removed: what is stored and returned. */
  url: string;
  /** `Basic …` for the removed credentials (what a URL's user info means in HTTP), when there were any. */
  authorization?: string;
}

/**
 * Takes `user:password@` out of an upstream URL, so the credentials are sealed
 * with the other upstream headers and never returned or logged with the URL
 * (SPEC §14).
 */
export function splitUrlCredentials(raw: string): UrlWithoutCredentials {
  const url = new URL(raw);
  if (!url.username && !url.password) return { url: raw };
  const credentials = `${decoded(url.username)}:${decoded(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.toString(), authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` };
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
