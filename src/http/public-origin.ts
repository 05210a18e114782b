import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { isTrustedPeer } from './client-ip.js';

/**
 * The origin (`scheme://host`) clients use to reach the gateway, for the URLs
 * it hands out (the MCP endpoint's protected-resource metadata and its
 * `WWW-Authenticate`). The host is the request's Host. The scheme is `https`
 * on a TLS socket; behind a trusted proxy (TMWS_TRUSTED_PROXIES, the deploy
 * pack's nginx terminating TLS) it is the proxy's `X-Forwarded-Proto`, the
 * scheme the client used. From any other peer that header is ignored: a client
 * could write anything there.
 */
export function publicOriginOf(raw: IncomingMessage, host: string, trustedProxies: readonly string[]): string {
  return `${schemeOf(raw, trustedProxies)}://${host}`;
}

function schemeOf(raw: IncomingMessage, trustedProxies: readonly string[]): 'http' | 'https' {
  if ((raw.socket as Partial<TLSSocket>).encrypted) return 'https';
  const forwarded = raw.headers['x-forwarded-proto'];
  if (forwarded === undefined || !isTrustedPeer(raw.socket.remoteAddress ?? '', trustedProxies)) return 'http';
  // A chain of proxies may list one per hop; the first is the one the client reached.
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https' ? 'https' : 'http';
}
