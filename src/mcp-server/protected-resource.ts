import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PROTECTED_RESOURCE_PATH } from './http-answers.js';

/**
 * RFC 9728 protected-resource metadata, served without authentication: what a
 * 401 on `/mcp` points to (`WWW-Authenticate: Bearer resource_metadata=…`).
 * The gateway issues its own HS256 tokens (`npm run token`) and has no OAuth
 * authorization server, so `authorization_servers` is absent: a client learns
 * that a bearer token in the Authorization header is expected, and where to use it.
 * Served at the well-known path and at its path-suffixed form for `/mcp`, which
 * the MCP SDK client asks first.
 */
export function registerProtectedResourceMetadata(app: FastifyInstance, resourcePath: string): void {
  const handler = async (request: FastifyRequest) => ({
    resource: `${request.publicOrigin}${resourcePath}`,
    bearer_methods_supported: ['header'],
    resource_name: 'TMWS Gateway MCP endpoint',
  });
  app.get(PROTECTED_RESOURCE_PATH, handler);
  app.get(`${PROTECTED_RESOURCE_PATH}${resourcePath}`, handler);
}
