import type { Plugin } from 'graphql-yoga';
import { isAppError } from '../../errors/index.js';
import { callerOf, callerOfFetch } from '../../http/caller.js';
import type { Services } from '../../services/container.js';
import { verifyCaller, type GatewayServerContext } from '../caller.js';
import { mapError } from '../errors.js';

/** Sent with every 401, as on the REST routes. */
export const WWW_AUTHENTICATE = 'Bearer realm="tmws-gateway"';

/**
 * Authenticates every GraphQL HTTP request before it is parsed, so that a
 * missing, invalid or expired token — or an unknown or inactive agent — is an
 * HTTP 401 with `WWW-Authenticate: Bearer` and a GraphQL `errors` body whose
 * `extensions.code` is UNAUTHENTICATED, not a 200 with an error inside.
 * CORS preflights are answered earlier by Fastify; GraphiQL's HTML page (outside
 * production) is served by Yoga before this hook and needs no token itself.
 */
export function useAgentAuthentication(services: Services): Plugin<Record<string, never>, GatewayServerContext> {
  const { config, logger } = services;
  return {
    async onRequest({ request, serverContext, endResponse, fetchAPI }) {
      if (request.method === 'OPTIONS') return;
      const caller = serverContext.req ? callerOf(serverContext.req, config.http.trustedProxies) : callerOfFetch(request);
      const { requestId } = caller;
      serverContext.requestId = requestId;
      serverContext.clientIp = caller.clientIp;
      try {
        serverContext.caller = await verifyCaller(services, caller.authorization, false);
      } catch (error) {
        if (!isAppError(error)) logger.error({ err: error, requestId }, 'GraphQL authentication failed unexpectedly');
        const status = isAppError(error) ? error.httpStatus : 500;
        const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
        if (status === 401) headers['www-authenticate'] = WWW_AUTHENTICATE;
        const mapped = mapError(error, requestId).error;
        const retryAfter = mapped.extensions.retryAfter;
        if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
        const body = { errors: [mapped.toJSON()] };
        endResponse(new fetchAPI.Response(JSON.stringify(body), { status, headers }));
      }
    },
  };
}
