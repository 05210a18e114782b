import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { withTimeout } from '../common/deadline.js';
import { ExternalServiceError, ValidationError, isAppError } from '../errors/index.js';
import { callerOf } from '../http/caller.js';
import { toAppError } from '../mcp/errors.js';
import { admit, keepStreamAuthorised, refuseLimited, type Caller } from './endpoint.js';
import type { McpGatewayPort, UpstreamLink } from './gateway-port.js';
import { copyReplyHeaders, mcpErrorHandler, refuse } from './http-answers.js';
import type { InFlightCalls } from './in-flight-calls.js';
import { PassthroughRelay } from './passthrough-relay.js';
import { bucketCosts, initializeParams } from './request-buckets.js';
import type { SessionRegistry } from './session-registry.js';

/** The route; `/mcp` itself is endpoint.ts's MCP_PATH (not imported here: endpoint.ts imports this module). */
export const PASSTHROUGH_PATH = '/mcp/connections/:id';

interface Deps {
  port: McpGatewayPort;
  sessions: SessionRegistry;
  inFlight: InFlightCalls;
}

/**
 * `/mcp/connections/{id}` (SPEC §11): one connection passed through under its
 * original names. No instance keeps anything between requests: the downstream
 * session id seals the upstream session id, and each request opens its own
 * link to it (upstream-link.ts), so any instance serves any request, the
 * client's answers to server requests included (they go up as POSTs on the
 * upstream session, which routes them).
 */
export function registerPassthroughEndpoint(app: FastifyInstance, deps: Deps): void {
  const { port, sessions } = deps;
  const onError = mcpErrorHandler(port.logger);

  app.post(PASSTHROUGH_PATH, { errorHandler: onError }, async (request, reply) => {
    const connectionId = connectionIdOf(request);
    const caller = await admit(request, reply, port, sessions, connectionId);
    if (!caller) return reply;
    try {
      for (const [bucket, cost] of bucketCosts(request.body))
        await port.consume(bucket, caller.caller.principal, callerOf(request, port.trustedProxies).clientIp, cost);
    } catch (error) {
      return refuseLimited(request, reply, port, error);
    }
    const relay = await openRelay(request, reply, deps, caller, connectionId);
    if (!relay) return reply;
    const init = initializeParams(request.body);
    if (init) {
      try {
        relay.initializeAnswer = await initialize(relay, request.body as JSONRPCMessage);
      } catch (error) {
        await relay.ctx.link.close();
        return refuseUpstream(request, reply, error);
      }
      const result = (relay.initializeAnswer as { result?: { protocolVersion?: unknown } }).result;
      if (result) {
        const sessionId = sessions.ids.mint({
          agentId: caller.caller.principal.agentId,
          protocolVersion: typeof result.protocolVersion === 'string' ? result.protocolVersion : init.protocolVersion,
          clientCapabilities: init.capabilities,
          link: { connectionId, upstreamSessionId: relay.ctx.link.session.sessionId },
        });
        reply.header('mcp-session-id', sessionId);
        relay.ctx.sessionId = sessionId;
        relay.ctx.clientCapabilities = init.capabilities;
      }
    }
    // Always an event stream: the upstream may send progress, logs or its own requests before it answers.
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: false });
    transport.onmessage = (message) => relay.receive(message, transport);
    await transport.start();
    reply.hijack();
    copyReplyHeaders(reply, reply.raw);
    reply.raw.on('close', () => {
      void relay
        .abandon()
        .then(() => relay.settled())
        .finally(() => relay.ctx.link.close());
    });
    await transport.handleRequest(request.raw, reply.raw, request.body);
    return reply;
  });

  app.get(PASSTHROUGH_PATH, { errorHandler: onError }, async (request, reply) => {
    const admitted = await admitToSession(request, reply, deps, 'GET');
    if (!admitted) return reply;
    const { caller, connectionId } = admitted;
    const relay = await openRelay(request, reply, deps, caller, connectionId);
    if (!relay) return reply;
    const { link } = relay.ctx;
    // The stream is written here rather than by the SDK transport: its messages are the upstream's, as they come.
    const stream = { send: (message: JSONRPCMessage) => writeEvent(reply.raw, message) };
    let queue: JSONRPCMessage[] | undefined = [];
    const onMessage = (message: JSONRPCMessage) => (queue ? queue.push(message) : relay.fromUpstreamStream(message, stream));
    let opened!: (isOpen: boolean) => void;
    const upstreamOpen = new Promise<boolean>((resolve) => (opened = resolve));
    const listening = link.listen(onMessage, () => opened(true));
    let isOpen: boolean;
    try {
      isOpen = await Promise.race([upstreamOpen, listening.then(() => false)]);
    } catch (error) {
      await link.close();
      return refuseUpstream(request, reply, error);
    }
    if (!isOpen) {
      await link.close();
      return reply.code(405).header('allow', 'POST, DELETE').send();
    }
    reply.hijack();
    copyReplyHeaders(reply, reply.raw);
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    reply.raw.flushHeaders();
    const end = () => {
      if (!reply.raw.writableEnded) reply.raw.end();
    };
    const unwatch = keepStreamAuthorised(port, sessions, caller, end);
    reply.raw.on('close', () => {
      unwatch();
      void relay.endStream();
      void link.close();
    });
    // The upstream ended its stream: so does this one, and the client reconnects as it would to the upstream.
    listening.then(end, end);
    const waiting = queue;
    queue = undefined;
    for (const message of waiting) relay.fromUpstreamStream(message, stream);
    return reply;
  });

  app.delete(PASSTHROUGH_PATH, { errorHandler: onError }, async (request, reply) => {
    const admitted = await admitToSession(request, reply, deps, 'DELETE');
    if (!admitted) return reply;
    const { caller, connectionId } = admitted;
    sessions.end(caller.sessionId!);
    // The upstream session ends too, best effort: the downstream one is over whatever the upstream answers.
    const upstreamSessionId = caller.session?.link?.upstreamSessionId;
    if (upstreamSessionId) {
      const session = { sessionId: upstreamSessionId, protocolVersion: caller.session?.protocolVersion };
      const link = await port.openLink(caller.caller.principal, connectionId, session).catch(() => undefined);
      await link?.terminate().catch(() => undefined);
      await link?.close();
    }
    return reply.code(200).send();
  });
}

function connectionIdOf(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}

/** GET and DELETE act on a session: `admit`, and a session id is required. */
async function admitToSession(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: Deps,
  method: string,
): Promise<{ caller: Caller; connectionId: string } | undefined> {
  const connectionId = connectionIdOf(request);
  const caller = await admit(request, reply, deps.port, deps.sessions, connectionId);
  if (!caller) return undefined;
  if (caller.sessionId) return { caller, connectionId };
  refuse(
    request,
    reply,
    ValidationError.field('mcp-session-id', `${method} needs the Mcp-Session-Id header of a session initialized on this endpoint`),
  );
  return undefined;
}

/** The link to the connection's upstream, in the session's upstream session; refuses (404/403/409…) itself. */
async function openRelay(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: Deps,
  caller: Caller,
  connectionId: string,
): Promise<PassthroughRelay | undefined> {
  const { principal } = caller.caller;
  let link: UpstreamLink;
  try {
    link = await deps.port.openLink(principal, connectionId, {
      sessionId: caller.session?.link?.upstreamSessionId,
      protocolVersion: caller.session?.protocolVersion,
    });
  } catch (error) {
    refuseUpstream(request, reply, error);
    return undefined;
  }
  return new PassthroughRelay({
    port: deps.port,
    inFlight: deps.inFlight,
    link,
    principal,
    connectionId,
    sessionId: caller.sessionId,
    clientCapabilities: caller.session?.clientCapabilities ?? {},
    requestId: request.id,
    timeoutMs: link.timeoutMs,
    maxCallMs: link.maxCallMs,
  });
}

/**
 * Forwards the client's `initialize` as it is (its capabilities and version are the upstream's to negotiate),
 * within the connection's timeout, as the pool opens its own sessions.
 */
async function initialize(relay: PassthroughRelay, message: JSONRPCMessage): Promise<JSONRPCMessage> {
  let answer: JSONRPCMessage | undefined;
  const id = (message as { id: string | number }).id;
  const { link, connectionId } = relay.ctx;
  const answered = link.post(
    message,
    (one) => {
      if (!('method' in one) && one.id === id) answer = one;
    },
    id,
  );
  await withTimeout(answered, link.timeoutMs, () =>
    toAppError({ kind: 'timeout', error: undefined }, connectionId, 'initialize', 'request'),
  );
  if (!answer) throw new ExternalServiceError('upstream_error', 'The upstream did not answer initialize');
  return answer;
}

function refuseUpstream(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  if (isAppError(error)) return refuse(request, reply, error);
  throw error;
}

function writeEvent(raw: ServerResponse, message: JSONRPCMessage): Promise<void> {
  if (!raw.writableEnded) raw.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  return Promise.resolve();
}
