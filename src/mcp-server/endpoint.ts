import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import type { AuthenticatedCaller } from '../auth/authenticate.js';
import {
  AppError,
  AuthorizationError,
  RateLimitExceededError,
  ServiceUnavailableError,
  ValidationError,
  isAppError,
} from '../errors/index.js';
import { callerOf } from '../http/caller.js';
import type { Services } from '../services/container.js';
import { createAggregatedServer, DEFAULT_PAGE_SIZE, type AggregatedServerContext } from './aggregated-server.js';
import { CallerCatalogues } from './caller-catalogues.js';
import { answerInvalidToolCall, answerPlainToolCall, plainToolCall, toolCallParamsProblem } from './direct-tool-call.js';
import { mcpGatewayPort, type McpGatewayPort } from './gateway-port.js';
import { copyReplyHeaders, mcpErrorHandler, refuse, SESSION_NOT_FOUND_CODE } from './http-answers.js';
import { InFlightCalls } from './in-flight-calls.js';
import { registerProtectedResourceMetadata } from './protected-resource.js';
import { bucketCosts, initializeParams, wantsProgress } from './request-buckets.js';
import { registerPassthroughEndpoint } from './passthrough-endpoint.js';
import type { McpSessionState } from './session-id.js';
import { SessionRegistry } from './session-registry.js';

export const MCP_PATH = '/mcp';

export interface McpEndpointOptions {
  /** Tools per `tools/list` page. @default DEFAULT_PAGE_SIZE */
  pageSize?: number;
}

export interface Caller {
  caller: AuthenticatedCaller;
  sessionId: string | undefined;
  /** The state sealed in the session id, when there is one. */
  session?: McpSessionState | undefined;
}

/**
 * The downstream MCP endpoint (SPEC §11): Streamable HTTP on `/mcp` with the
 * caller's aggregated catalogue. Each request gets its own SDK server and
 * stateless transport (a plain `tools/call` is answered without them, see
 * direct-tool-call.ts); the session lives in its sealed id (see session-id.ts),
 * so any instance serves any request of any session.
 */
export function registerMcpEndpoint(app: FastifyInstance, services: Services, options: McpEndpointOptions = {}): { close(): void } {
  const port = mcpGatewayPort(services);
  const onError = mcpErrorHandler(port.logger);
  const sessions = new SessionRegistry(port);
  const inFlight = new InFlightCalls(port);
  const catalogues = new CallerCatalogues(port);
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  registerProtectedResourceMetadata(app, MCP_PATH);

  const contextOf = (request: FastifyRequest, caller: Caller): AggregatedServerContext => ({
    port,
    catalogues,
    inFlight,
    principal: caller.caller.principal,
    sessionId: caller.sessionId,
    searchOnly: (request.query as Record<string, unknown>)['tools'] === 'search',
    requestId: request.id,
    pageSize,
  });

  const serve = async (request: FastifyRequest, reply: FastifyReply, caller: Caller, attach?: (server: Server) => () => void) => {
    const server = createAggregatedServer(contextOf(request, caller));
    // An SSE response only when something may be sent before the answer (progress); a plain JSON answer costs less.
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: !wantsProgress(request.body),
    });
    await server.connect(transport);
    const stopped = attach?.(server) ?? (() => {});
    reply.hijack();
    copyReplyHeaders(reply, reply.raw);
    reply.raw.on('close', () => {
      stopped();
      void server.close();
    });
    await transport.handleRequest(request.raw, reply.raw, request.body);
  };

  app.post(MCP_PATH, { errorHandler: onError }, async (request, reply) => {
    const caller = await admit(request, reply, port, sessions);
    if (!caller) return reply;
    const costs = bucketCosts(request.body);
    try {
      for (const [bucket, cost] of costs)
        await port.consume(bucket, caller.caller.principal, callerOf(request, port.trustedProxies).clientIp, cost);
    } catch (error) {
      return refuseLimited(request, reply, port, error);
    }
    const init = initializeParams(request.body);
    if (init) {
      const protocolVersion = SUPPORTED_PROTOCOL_VERSIONS.includes(init.protocolVersion) ? init.protocolVersion : LATEST_PROTOCOL_VERSION;
      const sessionId = sessions.ids.mint({
        agentId: caller.caller.principal.agentId,
        protocolVersion,
        clientCapabilities: init.capabilities,
      });
      reply.header('mcp-session-id', sessionId);
      caller.sessionId = sessionId;
    }
    const call = plainToolCall(request);
    if (call) {
      await answerPlainToolCall(reply, contextOf(request, caller), call);
      return reply;
    }
    // Only a call that is not plain can have params MCP does not allow: the everyday call is checked once.
    const invalid = toolCallParamsProblem(request);
    if (invalid) return answerInvalidToolCall(reply, invalid);
    await serve(request, reply, caller);
    return reply;
  });

  app.get(MCP_PATH, { errorHandler: onError }, async (request, reply) => {
    const caller = await admit(request, reply, port, sessions);
    if (!caller) return reply;
    await serve(request, reply, caller, (server) => followCatalogue(port, sessions, caller, server));
    return reply;
  });

  app.delete(MCP_PATH, { errorHandler: onError }, async (request, reply) => {
    const caller = await admit(request, reply, port, sessions);
    if (!caller) return reply;
    if (!caller.sessionId) return refuse(request, reply, ValidationError.field('mcp-session-id', 'DELETE needs the Mcp-Session-Id header'));
    sessions.end(caller.sessionId);
    return reply.code(200).send();
  });

  registerPassthroughEndpoint(app, { port, sessions, inFlight });

  return {
    close() {
      inFlight.close();
      sessions.close();
    },
  };
}

/**
 * The checks every `/mcp` request passes, in order: Origin (DNS rebinding), the
 * bearer token (SPEC §3), then the session, which must be genuine, the caller's,
 * and of this endpoint (`connectionId` for a passthrough one, none for `/mcp`).
 * Answers the refusal itself and returns undefined when one fails.
 */
export async function admit(
  request: FastifyRequest,
  reply: FastifyReply,
  port: McpGatewayPort,
  sessions: SessionRegistry,
  connectionId?: string,
): Promise<Caller | undefined> {
  const origin = request.headers.origin;
  if (origin !== undefined && !port.corsOrigins.includes('*') && !port.corsOrigins.includes(origin)) {
    refuse(
      request,
      reply,
      new AuthorizationError(`Origin ${origin.slice(0, 200)} is not in TMWS_CORS_ORIGINS`, { reason: 'origin_not_allowed' }),
    );
    return undefined;
  }
  let caller: AuthenticatedCaller;
  try {
    caller = await port.authenticate(callerOf(request, port.trustedProxies).authorization);
  } catch (error) {
    if (!isAppError(error)) throw error;
    refuse(request, reply, error);
    return undefined;
  }
  const header = request.headers['mcp-session-id'];
  const sessionId = Array.isArray(header) ? header[0] : header;
  const session = sessionId === undefined ? undefined : sessions.open(sessionId, caller.principal.agentId);
  if (sessionId !== undefined && (!session || session.link?.connectionId !== connectionId)) {
    refuse(request, reply, sessionNotFound(), SESSION_NOT_FOUND_CODE);
    return undefined;
  }
  return { caller, sessionId, session };
}

function sessionNotFound(): AppError {
  return new AppError('NOT_FOUND', 404, 'Session not found: initialize a new session', { reason: 'session_not_found' });
}

/**
 * Rate-limited → HTTP 429 with Retry-After (what HTTP clients, proxies and the
 * SDK's transport act on) and a JSON-RPC error body; a limiter that cannot
 * decide → 503 (fail secure).
 */
export function refuseLimited(request: FastifyRequest, reply: FastifyReply, port: McpGatewayPort, error: unknown): FastifyReply {
  if (error instanceof RateLimitExceededError) {
    reply.header('X-RateLimit-Limit', String(error.limit)).header('X-RateLimit-Remaining', '0');
    reply.header('X-RateLimit-Reset', String(Math.max(0, Math.ceil(error.retryAfterSeconds))));
    return refuse(request, reply, error);
  }
  if (isAppError(error)) return refuse(request, reply, error);
  port.logger.error({ err: error, requestId: request.id }, 'rate limiter failed');
  return refuse(request, reply, new ServiceUnavailableError('Rate limiter unavailable; retry shortly'));
}

/**
 * The GET stream's purpose: `notifications/tools/list_changed` whenever one of
 * the caller's connections changes its catalogue or status, on any instance.
 * The stream ends when the session ends, the token expires, or the agent may no
 * longer act (checked every STREAM_RECHECK_MS and at each change).
 */
function followCatalogue(port: McpGatewayPort, sessions: SessionRegistry, caller: Caller, server: Server): () => void {
  const close = () => void server.close();
  let pending = false;
  // A refresh touches several rows at once (status, catalogue): one notification per turn is enough.
  const changed = () => {
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      port.revalidate(caller.caller).then(() => server.sendToolListChanged().catch(() => undefined), close);
    });
  };
  const stops = [port.onCatalogueChange(caller.caller.principal, changed), keepStreamAuthorised(port, sessions, caller, close)];
  return () => stops.forEach((stop) => stop());
}

/**
 * Like GraphQL subscriptions (SPEC §3), a GET stream is re-authorised
 * continuously: `close` runs within seconds of the token expiring or the agent
 * being deactivated, deleted or moved, and when its session ends (DELETE on any
 * instance). Returns the function that stops watching.
 */
export function keepStreamAuthorised(port: McpGatewayPort, sessions: SessionRegistry, caller: Caller, close: () => void): () => void {
  const { principal } = caller.caller;
  const recheck = setInterval(() => {
    port.revalidate(caller.caller).then((now) => {
      if (now.namespace !== principal.namespace || now.agentId !== principal.agentId) close();
    }, close);
  }, STREAM_RECHECK_MS);
  const stops = [() => clearInterval(recheck)];
  if (caller.sessionId) stops.push(sessions.addStream(caller.sessionId, close));
  return () => stops.forEach((stop) => stop());
}

/** How often an open GET stream re-checks its caller. */
export const STREAM_RECHECK_MS = 1_000;
