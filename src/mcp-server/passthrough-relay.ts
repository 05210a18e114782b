import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ErrorCode, McpError, type JSONRPCMessage, type JSONRPCRequest, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal.js';
import { withTimeout } from '../common/deadline.js';
import { ExternalServiceError, isAppError, type AppError } from '../errors/index.js';
import { renderErrorBody } from '../http/error-body.js';
import { toAppError } from '../mcp/errors.js';
import { PROGRESS_INTERVAL_MS, type CoalescerPace } from '../services/progress-coalescer.js';
import { failedCall } from './aggregated-server.js';
import type { McpGatewayPort, ToolCallRunner, UpstreamLink } from './gateway-port.js';
import { InFlightCalls } from './in-flight-calls.js';
import { ProgressByToken } from './progress-by-token.js';

/** Server-to-client requests and the client capability each needs (MCP "Client Features"). */
const NEEDS_CAPABILITY: Record<string, string> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

/**
 * Progress relayed to the client: ≤ 10 in any second (SPEC §14), and a run of up
 * to 10 quick steps passes as it comes — a client (and the conformance suite)
 * sees every step of a short task, and a flood only at that rate.
 */
const RELAYED_PROGRESS_PACE: CoalescerPace = { intervalMs: PROGRESS_INTERVAL_MS, burst: 10 };

export interface RelayContext {
  port: McpGatewayPort;
  inFlight: InFlightCalls;
  link: UpstreamLink;
  principal: Principal;
  connectionId: string;
  /** The downstream session; set once `initialize` has minted it. */
  sessionId: string | undefined;
  /** As the client declared them in `initialize`. */
  clientCapabilities: Record<string, unknown>;
  /** The HTTP request id, stored on Execution rows. */
  requestId: string;
  /** Idle bound of one upstream request (the connection's timeout), reset by every message it sends. */
  timeoutMs: number;
  /** Bound on one upstream request's whole life, messages or not (TMWS_MAX_CALL_SECONDS, SPEC §14). */
  maxCallMs: number;
}

/** Where messages for the client go: the SDK transport of a POST, or a GET stream. */
export type Downstream = Pick<StreamableHTTPServerTransport, 'send'>;

/**
 * Relays the JSON-RPC messages of one downstream HTTP request to the
 * connection's upstream session and back, unchanged: ids, params, results,
 * errors, `_meta`. What the gateway adds: `tools/call` becomes an Execution
 * (source MCP), server-to-client requests reach the client only when it
 * declared the capability (the upstream gets a MethodNotFound error
 * otherwise), and a cancelled call is cancelled on whichever instance runs it.
 */
export class PassthroughRelay {
  /** Forwards of notifications and answers still on their way upstream. */
  private readonly forwarding = new Set<Promise<void>>();
  /** Executions of this request's tool calls still running, with their outcome. */
  private readonly running = new Map<string, Promise<unknown>>();
  /** Progress arriving on the upstream's GET stream (a GET request's relay only). */
  private streamProgress: ProgressByToken | undefined;
  /** Set for `initialize`: its answer was obtained before the session id could be minted. */
  initializeAnswer: JSONRPCMessage | undefined;

  constructor(readonly ctx: RelayContext) {}

  /** Whatever the downstream client sent. */
  receive(message: JSONRPCMessage, downstream: Downstream): void {
    if ('method' in message && 'id' in message) {
      void this.request(message, downstream);
      return;
    }
    if ('method' in message && message.method === 'notifications/cancelled') this.cancelCall(message.params);
    // A notification, or the client's answer to a relayed server request: the upstream session routes it.
    this.forward(message);
  }

  /** Sends a message upstream that expects no answer; `settled()` waits for it. */
  private forward(message: JSONRPCMessage): void {
    const sent = this.ctx.link
      .post(message, () => undefined)
      .catch((error: unknown) => {
        this.ctx.port.logger.debug({ err: error, connectionId: this.ctx.connectionId }, 'passthrough could not forward a message');
      });
    this.forwarding.add(sent);
    void sent.finally(() => this.forwarding.delete(sent));
  }

  /**
   * A message of the upstream's own GET stream: relayed on the downstream GET
   * stream, progress at the pace of a request's own stream.
   */
  fromUpstreamStream(message: JSONRPCMessage, downstream: Downstream): void {
    if (!('method' in message)) return;
    if ('id' in message && !this.mayAsk(message)) return;
    const relay = (one: JSONRPCMessage) => void downstream.send(one).catch(() => undefined);
    if (message.method !== 'notifications/progress') return relay(message);
    this.streamProgress ??= new ProgressByToken(relay, RELAYED_PROGRESS_PACE);
    this.pushProgress(this.streamProgress, message);
  }

  private pushProgress(progress: ProgressByToken, message: JSONRPCMessage): void {
    if (!progress.push(message)) {
      this.ctx.port.logger.debug({ connectionId: this.ctx.connectionId }, 'passthrough dropped progress: too many progress tokens at once');
    }
  }

  /** The downstream GET stream ended: pending progress is flushed and its timers stop. */
  async endStream(): Promise<void> {
    await this.streamProgress?.close();
  }

  /** Resolves once every forward has reached the upstream (or failed). */
  async settled(): Promise<void> {
    await Promise.all([...this.forwarding]);
  }

  /**
   * The client went away before its calls were answered: they end CANCELLED
   * (and the upstream is told), rather than failing on the closed link —
   * which would read as an upstream that is down.
   */
  async abandon(): Promise<void> {
    const { port, principal } = this.ctx;
    await Promise.all(
      [...this.running].map(async ([executionId, done]) => {
        await port.cancelCall(principal, executionId, 'the MCP client closed its request').catch(() => undefined);
        await done.catch(() => undefined);
      }),
    );
  }

  private async request(message: JSONRPCRequest, downstream: Downstream): Promise<void> {
    const answer = (reply: JSONRPCMessage) => void downstream.send(reply).catch(() => undefined);
    if (message.method === 'initialize' && this.initializeAnswer) return answer(this.initializeAnswer);
    try {
      const reply = message.method === 'tools/call' ? await this.callTool(message, downstream) : await this.exchange(message, downstream);
      answer(message.method === 'tools/list' ? await this.callableOnly(reply) : reply);
    } catch (error) {
      answer(errorReply(message.id, error, this.ctx));
    }
  }

  /**
   * Sends one request upstream and relays what comes back before its answer
   * (progress, log messages, server requests) on the downstream request's stream.
   * Two bounds, as for the other doors (SPEC §14): the connection's timeout
   * without any message from the upstream, and TMWS_MAX_CALL_SECONDS in all,
   * however much progress arrives. Progress reaches the client coalesced
   * (RELAYED_PROGRESS_PACE, per progress token, ProgressByToken), the latest kept and the last
   * one sent before the answer: an upstream's flood would otherwise be relayed
   * as fast as it comes, to a client that may be slower than the gateway.
   */
  private async exchange(
    message: JSONRPCRequest,
    downstream: Downstream,
    watch: (message: JSONRPCMessage) => void = () => undefined,
    signal?: AbortSignal,
  ): Promise<JSONRPCMessage> {
    let reply: JSONRPCMessage | undefined;
    let timer: NodeJS.Timeout | undefined;
    let over = false;
    let fail: (error: Error) => void = () => undefined;
    const stopped = new Promise<never>((_, reject) => (fail = reject));
    const idle = () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(timedOut(this.ctx, message.method)), this.ctx.timeoutMs);
    };
    const onAbort = () => fail(new ExternalServiceError('cancelled', String(signal?.reason ?? 'cancelled')));
    signal?.addEventListener('abort', onAbort, { once: true });
    const relay = (one: JSONRPCMessage) => void downstream.send(one, { relatedRequestId: message.id }).catch(() => undefined);
    const progress = new ProgressByToken(relay, RELAYED_PROGRESS_PACE);
    idle();
    try {
      const onMessage = (one: JSONRPCMessage) => {
        // The request is over (answered, timed out, cancelled): what the upstream still sends has no one to go to.
        if (over) return;
        idle();
        if (!('method' in one)) {
          if (one.id === message.id) reply = one;
          return;
        }
        watch(one);
        if ('id' in one && !this.mayAsk(one)) return;
        if (one.method === 'notifications/progress') return this.pushProgress(progress, one);
        relay(one);
      };
      const answered = Promise.race([this.ctx.link.post(message, onMessage, message.id), stopped]);
      await withTimeout(answered, this.ctx.maxCallMs, () => timedOut(this.ctx, message.method));
    } catch (error) {
      // Timed out or cancelled here: the upstream stops working on it too.
      if (error instanceof ExternalServiceError && (error.reason === 'timeout' || error.reason === 'cancelled')) {
        this.forward({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: message.id, reason: error.message } });
      }
      throw error;
    } finally {
      over = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // The last progress goes out before the answer (or the error).
      await progress.close();
    }
    if (!reply) {
      throw new ExternalServiceError('upstream_error', 'The upstream ended its answer stream without answering', {
        connection_id: this.ctx.connectionId,
      });
    }
    return reply;
  }

  /**
   * `tools/call` runs as an Execution (source MCP) whose runner is this
   * relay: the row, its progress and log events and its cancellation work as
   * for REST and GraphQL, while the upstream's answer goes back verbatim.
   */
  private async callTool(message: JSONRPCRequest, downstream: Downstream): Promise<JSONRPCMessage> {
    const { ctx } = this;
    const params = (message.params ?? {}) as { name?: unknown; arguments?: unknown };
    if (typeof params.name !== 'string') return rpcError(message.id, ErrorCode.InvalidParams, 'tools/call needs a tool name');
    let reply: JSONRPCMessage | undefined;
    const via: ToolCallRunner = async (_target, options) => {
      reply = await this.exchange(
        message,
        downstream,
        (one) => {
          if (!('method' in one) || 'id' in one) return;
          const p = (one.params ?? {}) as Record<string, unknown>;
          if (one.method === 'notifications/progress' && typeof p.progress === 'number') {
            options.onProgress?.({
              progress: p.progress,
              ...(typeof p.total === 'number' ? { total: p.total } : {}),
              ...(typeof p.message === 'string' ? { message: p.message } : {}),
            });
          }
          if (one.method === 'notifications/message') {
            options.onLog?.({ level: String(p.level), data: p.data, ...(typeof p.logger === 'string' ? { logger: p.logger } : {}) });
          }
        },
        options.signal,
      );
      if ('error' in reply) throw new ExternalServiceError('upstream_error', reply.error.message, { code: reply.error.code });
      return (reply as { result: unknown }).result as Awaited<ReturnType<ToolCallRunner>>;
    };
    let release = () => {};
    try {
      const args = params.arguments ?? {};
      const started = await ctx.port.startCall(ctx.principal, {
        connectionId: ctx.connectionId,
        toolName: params.name,
        arguments: args as Record<string, unknown>,
        requestId: ctx.requestId,
        via,
      });
      const unlist = ctx.inFlight.add(InFlightCalls.keyOf(ctx.principal.agentId, ctx.sessionId, message.id), {
        principal: ctx.principal,
        executionId: started.executionId,
      });
      this.running.set(started.executionId, started.done);
      release = () => {
        unlist();
        this.running.delete(started.executionId);
      };
      const { execution } = await started.done;
      return reply ?? rpcError(message.id, ErrorCode.InternalError, execution.errorMessage ?? 'The call was cancelled');
    } catch (error) {
      // The upstream's own JSON-RPC error goes back as it was sent.
      if (reply) return reply;
      return { jsonrpc: '2.0', id: message.id, result: failedCall(ctx, error) };
    } finally {
      release();
    }
  }

  /**
   * `tools/list` shows only what `tools/call` accepts here: tools of the
   * gateway's catalogue the caller may call. A held (quarantined) or denied
   * tool, and one the upstream added since the last discovery, are left out —
   * the latter appears once the catalogue is refreshed (its `list_changed`).
   */
  private async callableOnly(reply: JSONRPCMessage): Promise<JSONRPCMessage> {
    if (!('result' in reply) || !Array.isArray(reply.result.tools)) return reply;
    const callable = await this.ctx.port.callableToolNames(this.ctx.principal, this.ctx.connectionId);
    const tools = (reply.result.tools as { name?: unknown }[]).filter((tool) => typeof tool.name === 'string' && callable.has(tool.name));
    return { ...reply, result: { ...reply.result, tools } };
  }

  /** A server request the client cannot answer is refused to the upstream here (MethodNotFound, as an SDK client would). */
  private mayAsk(request: JSONRPCRequest): boolean {
    const capability = NEEDS_CAPABILITY[request.method];
    if (!capability || this.ctx.clientCapabilities[capability] !== undefined) return true;
    const refusal = rpcError(request.id, ErrorCode.MethodNotFound, `The MCP client did not declare the ${capability} capability`);
    this.forward(refusal);
    return false;
  }

  /** The client cancelled one of its requests: a running tool call ends CANCELLED on whichever instance runs it. */
  private cancelCall(params: unknown): void {
    const { requestId, reason } = (params ?? {}) as { requestId?: RequestId; reason?: unknown };
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
    const key = InFlightCalls.keyOf(this.ctx.principal.agentId, this.ctx.sessionId, requestId);
    this.ctx.inFlight.cancel(key, typeof reason === 'string' ? reason : 'cancelled by the MCP client');
  }
}

function rpcError(id: RequestId, code: number, message: string, data?: unknown): JSONRPCMessage {
  return { jsonrpc: '2.0', id, error: { code, message, ...(data === undefined ? {} : { data }) } };
}

/** The error the pooled calls of `/mcp`, REST and GraphQL give on a timeout, so every door reads the same. */
function timedOut(ctx: RelayContext, method: string): AppError {
  return toAppError({ kind: 'timeout', error: undefined }, ctx.connectionId, method, 'request');
}

/** A request the gateway could not relay: a JSON-RPC error whose data is the gateway's error body. */
function errorReply(id: RequestId, error: unknown, ctx: RelayContext): JSONRPCMessage {
  // McpError's message carries an "MCP error <code>: " prefix the client's SDK adds again.
  if (error instanceof McpError) return rpcError(id, error.code, error.message.replace(/^MCP error -?\d+: /, ''));
  if (isAppError(error)) {
    const code = error.reason === 'timeout' ? ErrorCode.RequestTimeout : ErrorCode.InternalError;
    return rpcError(id, code, error.message, renderErrorBody(error, ctx.requestId));
  }
  ctx.port.logger.error({ err: error, requestId: ctx.requestId }, 'MCP passthrough request failed unexpectedly');
  return rpcError(id, ErrorCode.InternalError, 'Internal error');
}
