import type { IncomingHttpHeaders } from 'node:http';
import { AuthorizationError } from '../errors/index.js';

/**
 * A browser's CORS preflight from an origin that `TMWS_CORS_ORIGINS` does not
 * list is refused with a clear 403 naming the setting, instead of an empty 204
 * or GraphQL's "only GET and POST" 405, which send a developer looking in the
 * wrong place. Returns undefined for anything else (including allowed preflights,
 * which @fastify/cors answers).
 */
export function preflightRefusal(
  method: string,
  headers: IncomingHttpHeaders,
  corsOrigins: readonly string[],
): AuthorizationError | undefined {
  if (method !== 'OPTIONS' || !headers['access-control-request-method']) return undefined;
  const origin = headers.origin;
  if (!origin || corsOrigins.includes('*') || corsOrigins.includes(origin)) return undefined;
  const message =
    corsOrigins.length === 0
      ? `Cross-origin requests are off: start the gateway with TMWS_CORS_ORIGINS='["${origin}"]' to allow this origin`
      : `Origin ${origin} is not in TMWS_CORS_ORIGINS`;
  return new AuthorizationError(message, { origin }, { reason: 'cors_origin_not_allowed' });
}
