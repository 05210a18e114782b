import cors from '@fastify/cors';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AppError, RouteNotFoundError, ValidationError, isAppError } from '../errors/index.js';
import type { Services } from '../services/container.js';
import { answerClientError } from './client-error.js';
import { closeAfterDrain } from './drain-request.js';
import { registerJsonBodyParser } from './json-body.js';
import { fromFrameworkError, renderErrorBody, retryAfterOf } from './error-body.js';
import { preflightRefusal } from './cors-preflight.js';
import { publicOriginOf } from './public-origin.js';
import './request-context.js';
import { requestIdOf } from './request-id.js';

/** SPEC §4: request bodies above 1 MiB are refused with 413. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Longest path segment matched as a parameter (a tool name percent-encoded at worst three bytes a character). */
export const MAX_PATH_PARAM_LENGTH = 512;

/** Routes whose latency histogram should not be split by raw URL (unmatched paths collapse into one label). */
const UNMATCHED_ROUTE = 'unmatched';

/**
 * The HTTP host shared by REST, GraphQL, health and metrics: request ids,
 * security headers, CORS, body limits, error rendering and HTTP metrics.
 */
export async function createHttpServer(services: Services): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: BODY_LIMIT_BYTES,
    logger: false,
    // Request ids come from X-Request-ID (validated) or are minted; see the onRequest hook.
    genReqId: requestIdOf,
    return503OnClosing: true,
    // Only idle keep-alive sockets are closed at once; app.close() drains the busy ones, then closes them.
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false } },
    // Fastify's default (100 characters) refused a tool name of 101–128 (SEP-986 allows 128) as a bad path.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    clientErrorHandler: answerClientError,
    // A path Fastify cannot decode (`/connections/%ZZ`): the gateway's 400, not Fastify's own body.
    frameworkErrors: (_error, request, reply) => {
      reply.header('X-Request-ID', request.id);
      sendError(reply, request, ValidationError.field('path', 'The URL path is not validly percent-encoded'));
    },
  });
  registerJsonBodyParser(app);
  app.decorateRequest('principal', undefined);
  app.decorateRequest('requestId', '');
  const { trustedProxies } = services.config.http;
  app.decorateRequest('publicOrigin', {
    getter(this: FastifyRequest) {
      return publicOriginOf(this.raw, this.host, trustedProxies);
    },
  });

  app.addHook('onRequest', async (request, reply) => {
    request.requestId = request.id;
    reply.header('X-Request-ID', request.id);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'no-referrer');
    if (request.url.startsWith('/api/') || request.url.startsWith('/graphql')) {
      reply.header('Cache-Control', 'no-store');
    }
    // An empty segment where an id goes (`/connections/`, `/connections//tools`) names no route,
    // not a connection whose id is "" (which read as "Connection  not found").
    const params = request.params as Record<string, string> | undefined;
    for (const name in params) {
      if (params[name] === '' && name !== '*') {
        return sendError(reply, request, routeNotFound(request));
      }
    }
  });

  // Before @fastify/cors, which answers the preflights it allows.
  app.addHook('onRequest', async (request, reply) => {
    const refusal = preflightRefusal(request.method, request.headers, services.config.http.corsOrigins);
    if (refusal) return sendError(reply, request, refusal);
  });
  await app.register(cors, {
    // No configured origins → no CORS headers at all; `*` (development only) never with credentials.
    origin: services.config.http.corsOrigins.includes('*')
      ? true
      : services.config.http.corsOrigins.length > 0
        ? services.config.http.corsOrigins
        : false,
    credentials: services.config.http.corsOrigins.length > 0 && !services.config.http.corsOrigins.includes('*'),
    exposedHeaders: [
      'X-Request-ID',
      'Location',
      'Retry-After',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
      'Mcp-Session-Id',
      'WWW-Authenticate',
    ],
    // The Mcp-* and Last-Event-ID headers: browser-based MCP clients of /mcp (SPEC §11).
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-ID', 'Accept', 'Mcp-Session-Id', 'Mcp-Protocol-Version', 'Last-Event-ID'],
    methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
  });

  const { metrics, logger } = services;
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    logRequest(logger, request.id, labels, reply.elapsedTime);
  });

  app.setNotFoundHandler(async (request, reply) => sendError(reply, request, routeNotFound(request)));

  app.setErrorHandler(async (error: FastifyError, request, reply) =>
    sendError(reply, request, await knownErrorOf(error, request, reply, logger)),
  );

  return app;
}

/**
 * The gateway's error for whatever a route, a hook or Fastify itself raised
 * (a body that is not JSON, too deep or too large). Anything else is logged
 * and becomes a masked 500. Before a 413, or a refusal sent before the body
 * was read, the rest of the body is read (bounded), so the client sees its
 * answer instead of a reset.
 */
export async function knownErrorOf(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Services['logger'],
): Promise<AppError> {
  const known = isAppError(error) ? error : fromFrameworkError(error, BODY_LIMIT_BYTES);
  // A 413, or a refusal before the body was read (the token or the rate limit, in onRequest): the rest of the body
  // is read, bounded, and the connection closed; left to Node, an unread body is read to its end, however long.
  if (known?.httpStatus === 413 || bodyUnread(request)) await closeAfterDrain(request.raw, reply.raw);
  if (known) return known;
  logger.error({ err: error, requestId: request.id, route: request.routeOptions.url }, 'unhandled error');
  return new AppError('INTERNAL_ERROR', 500, 'Internal server error');
}

/** The request announced a body that nobody has read yet. */
function bodyUnread(request: FastifyRequest): boolean {
  const { raw } = request;
  if (raw.complete || raw.readableEnded) return false;
  return Number(raw.headers['content-length']) > 0 || raw.headers['transfer-encoding'] !== undefined;
}

/** Probes poll these every few seconds: logged at debug so they do not drown the requests people make. */
const PROBE_ROUTES = new Set(['/health', '/health/ready', '/metrics']);

/**
 * One line per request: method, route pattern (never the raw URL, whose query may
 * carry a search or a stray credential), status, duration and request id. Never a
 * header value, a body or tool arguments.
 */
function logRequest(
  logger: Services['logger'],
  requestId: string,
  labels: { method: string; route: string; status: string },
  elapsedMs: number,
): void {
  const level = PROBE_ROUTES.has(labels.route) ? 'debug' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  const durationMs = Math.round(elapsedMs * 10) / 10;
  logger[level]({ requestId, method: labels.method, route: labels.route, status: Number(labels.status), durationMs }, 'request');
}

/** The NOT_FOUND of a request no route serves, naming its path without the query (which may carry a credential). */
export function routeNotFound(request: FastifyRequest): RouteNotFoundError {
  return new RouteNotFoundError(request.method, request.url.split('?')[0] ?? request.url);
}

/** The headers every error answer carries, whatever its body's format: Retry-After, and WWW-Authenticate on a 401. */
export function setErrorHeaders(reply: FastifyReply, error: AppError): void {
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined) reply.header('Retry-After', String(retryAfter));
  if (error.httpStatus === 401) reply.header('WWW-Authenticate', 'Bearer realm="tmws-gateway"');
}

/** Renders an AppError as the v2.3.0 body with its status and headers. */
export function sendError(reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply {
  setErrorHeaders(reply, error);
  return reply.code(error.httpStatus).type('application/json; charset=utf-8').send(renderErrorBody(error, request.id));
}
