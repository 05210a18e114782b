import type { ServerResponse } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, RateLimitExceededError, ServiceUnavailableError } from '../errors/index.js';
import { renderErrorBody } from '../http/error-body.js';
import { knownErrorOf } from '../http/server.js';
import type { Services } from '../services/container.js';

/** JSON-RPC code the SDK uses for "Session not found" (404). */
export const SESSION_NOT_FOUND_CODE = -32001;
/** Implementation-defined server error (JSON-RPC reserves -32000…-32099 for those). */
export const SERVER_ERROR_CODE = -32000;
/** JSON-RPC: the body is not valid JSON. */
export const PARSE_ERROR_CODE = -32700;

/** Where the RFC 9728 protected-resource metadata of this gateway is served. */
export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';

/**
 * Every refusal on `/mcp` before the MCP layer: the HTTP status an HTTP client
 * acts on, and a JSON-RPC error body an MCP client can show, whose `data` is the
 * gateway's standard error body (same codes as REST).
 */
export function refuse(request: FastifyRequest, reply: FastifyReply, error: AppError, jsonRpcCode = SERVER_ERROR_CODE): FastifyReply {
  if (error.httpStatus === 401) {
    reply.header('WWW-Authenticate', `Bearer resource_metadata="${request.publicOrigin}${PROTECTED_RESOURCE_PATH}"`);
  }
  const retryAfter =
    error instanceof RateLimitExceededError || error instanceof ServiceUnavailableError ? error.retryAfterSeconds : undefined;
  if (retryAfter !== undefined) reply.header('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
  return reply
    .code(error.httpStatus)
    .type('application/json; charset=utf-8')
    .send({
      jsonrpc: '2.0',
      id: requestIdOf(request.body),
      error: { code: jsonRpcCode, message: error.message, data: renderErrorBody(error, request.id) },
    });
}

/**
 * The error handler of the `/mcp` routes: what Fastify refuses before the
 * route runs (a body that is not JSON, nested too deep, too large) and
 * anything a route raises is answered like every other `/mcp` refusal, a
 * JSON-RPC error with the gateway's error body as `data` — a body that could
 * not be read is a JSON-RPC parse error (-32700).
 */
export function mcpErrorHandler(logger: Services['logger']): RouteErrorHandler {
  const answer = async (error: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const known = await knownErrorOf(error, request, reply, logger);
    const unreadable = known.code === 'VALIDATION_ERROR' && known.field === 'body';
    return refuse(request, reply, known, unreadable ? PARSE_ERROR_CODE : SERVER_ERROR_CODE);
  };
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- Fastify awaits the promise a route's errorHandler returns (as setErrorHandler's); the option's type says void.
  return answer;
}

type RouteErrorHandler = (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void;

/** The JSON-RPC id of a single request body, so a client can match the error to its request; null otherwise. */
function requestIdOf(body: unknown): string | number | null {
  const id = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { id?: unknown }).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** Headers Fastify's hooks set on the reply (request id, security, CORS, rate limit), for a hijacked response. */
export function copyReplyHeaders(reply: FastifyReply, raw: ServerResponse): void {
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) raw.setHeader(name, value);
  }
}
