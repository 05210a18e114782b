import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport, SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ErrorCode,
  LoggingMessageNotificationSchema,
  McpError,
  ToolListChangedNotificationSchema,
  type JSONRPCMessage,
  type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ExternalServiceError, type AppError } from '../errors/index.js';
import { withTimeout } from '../common/deadline.js';
import type { Logger } from '../observability/logger.js';
import { classifyFailure, toAppError, upstreamRequestTimedOut, type Failure } from './errors.js';
import { connectionFetch, type PinnedFetch } from './pinned-fetch.js';
import { assertUpstreamUrlAllowed, type HostResolver } from './ssrf-guard.js';
import type {
  LogEntry,
  SessionLimits,
  SsrfPolicy,
  UpstreamCallResult,
  UpstreamTarget,
  UpstreamTool,
  UpstreamTransportKind,
} from './types.js';

/** An upstream log message's params as the gateway relays them: level, logger (when a string) and data, as is. */
function toLogEntry(params: { level?: unknown; logger?: unknown; data?: unknown }): LogEntry {
  const entry: LogEntry = { level: String(params.level), data: params.data };
  if (typeof params.logger === 'string') entry.logger = params.logger;
  return entry;
}

/** Safety bound on `tools/list` pagination: a server looping on cursors must not hang a connect. */
export const MAX_TOOL_PAGES = 100;
/** Liveness probe (ping) after a stream error; capped so a dead upstream is noticed quickly. */
export const DEFAULT_PROBE_TIMEOUT_MS = 5_000;
/** Bound on the session DELETE sent when disconnecting; the SDK sends it without a timeout. */
export const DEFAULT_TERMINATE_TIMEOUT_MS = 3_000;
/** Probes closer together than this are skipped (a flapping GET stream must not become a ping storm). */
const MIN_PROBE_INTERVAL_MS = 1_000;

/**
 * The SDK's GET-stream resumption: a couple of quick retries. Recovery of a
 * dead session is the pool's job (new session), not the stream's.
 */
const STREAM_RECONNECTION = {
  initialReconnectionDelay: 500,
  maxReconnectionDelay: 5_000,
  reconnectionDelayGrowFactor: 2,
  maxRetries: 2,
};

/*
 * Result schemas: deliberately looser than the SDK's. The gateway relays upstream
 * results faithfully, so a content block type this SDK version does not know, or
 * extra fields, must pass through untouched; and Client.callTool/listTools are
 * bypassed because they validate structuredContent against a validator cache that
 * `listTools` rebuilds per page (wrong under pagination) and would reject results
 * the upstream chose to send.
 */
const RelayedCallToolResultSchema = z.looseObject({
  content: z.array(z.unknown()).default([]),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
  _meta: z.record(z.string(), z.unknown()).optional(),
});

const ListedToolSchema = z.looseObject({
  name: z.string(),
  title: z.string().optional(),
  description: z.string().optional(),
  inputSchema: z.record(z.string(), z.unknown()).optional(),
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  annotations: z.record(z.string(), z.unknown()).optional(),
});

const ListToolsPageSchema = z.looseObject({
  tools: z.array(ListedToolSchema),
  nextCursor: z.string().optional(),
});

function toUpstreamTool(tool: z.infer<typeof ListedToolSchema>): UpstreamTool {
  const result: UpstreamTool = {
    name: tool.name,
    description: tool.description ?? null,
    inputSchema: tool.inputSchema ?? { type: 'object' },
  };
  if (tool.title !== undefined) result.title = tool.title;
  if (tool.outputSchema !== undefined) result.outputSchema = tool.outputSchema;
  if (tool.annotations !== undefined) result.annotations = tool.annotations;
  return result;
}

export interface SessionEvents {
  /** The session is unusable (detected by a probe or a failed request); called once. */
  onDead(session: UpstreamSession, failure: Failure): void;
  onToolListChanged(session: UpstreamSession): void;
}

export interface OpenSessionOptions {
  target: UpstreamTarget;
  policy: SsrfPolicy;
  clientInfo: { name: string; version: string };
  logger: Logger;
  resolver?: HostResolver | undefined;
  /** Epoch ms by which the session must be initialized. */
  deadline: number;
  events: SessionEvents;
  limits: SessionLimits;
}

type McpTransport = StreamableHTTPClientTransport | SSEClientTransport;
type CloseReason = 'disconnected' | 'dead';

interface Attempt {
  kind: UpstreamTransportKind;
  url: URL;
}

/** URL for logs: no userinfo, query or fragment (they may carry secrets). */
export function redactUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * Order of transports to try (SPEC §6): Streamable HTTP on the URL as given;
 * on an answer typical of a legacy server, HTTP+SSE on the same URL, then on a
 * sibling `sse` path. A URL that already ends in `/sse` is tried as SSE first.
 */
export function transportAttempts(url: URL): Attempt[] {
  const sibling = new URL('sse', url);
  sibling.search = url.search;
  const sse: Attempt[] = [{ kind: 'sse', url }];
  if (sibling.href !== url.href) sse.push({ kind: 'sse', url: sibling });
  const streamable: Attempt = { kind: 'streamable-http', url };
  return /\/sse\/?$/.test(url.pathname) ? [...sse, streamable] : [streamable, ...sse];
}

/** Failures that mean "this endpoint does not speak that transport", worth trying the next one. */
function suggestsOtherTransport(failure: Failure): boolean {
  return failure.kind === 'http_status' || failure.kind === 'protocol_error';
}

/**
 * One live MCP client session to one upstream (one Client, one transport, one
 * pinned connection pool). It knows how to open itself (transport negotiation),
 * notices its own death, and closes idempotently; retry and recovery policy
 * live in the pool.
 */
export class UpstreamSession {
  private state: 'open' | CloseReason = 'open';
  private closing: Promise<void> | undefined;
  private probing = false;
  private lastProbeAt = 0;
  /** Why the session died, when it did (markDead). */
  private deathFailure: Failure | undefined;
  /** The calls in flight on this session, by JSON-RPC request id, with their log listener. */
  private readonly callLogs = new Map<number | string, ((entry: LogEntry) => void) | undefined>();
  /** The id of the last tools/call request the SDK sent (see watchCallIds). */
  private sentCallId: number | string | undefined;

  private constructor(
    readonly target: UpstreamTarget,
    readonly kind: UpstreamTransportKind,
    readonly endpoint: URL,
    private readonly client: Client,
    private readonly transport: McpTransport,
    private readonly pinned: PinnedFetch,
    private readonly logger: Logger,
    private readonly events: SessionEvents,
    private readonly limits: SessionLimits,
  ) {
    client.onerror = (error) => this.onTransportError(error);
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      if (this.state === 'open') this.events.onToolListChanged(this);
    });
    // Log messages: read from each call's own stream (Streamable HTTP), else see onLogMessage.
    this.watchCallIds();
    pinned.onRequestLog = (requestId, params) => this.callLogs.get(requestId)?.(toLogEntry(params));
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => this.onLogMessage(notification));
  }

  /**
   * The SDK numbers a request and sends it synchronously inside
   * `client.request()`, but does not return the number: the transport's
   * `send` notes it for callTool.
   */
  private watchCallIds(): void {
    const transport = this.transport as { send(message: JSONRPCMessage, options?: unknown): Promise<void> };
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      if ('method' in message && message.method === 'tools/call' && 'id' in message) this.sentCallId = message.id;
      return send(message, options);
    };
  }

  /**
   * Over Streamable HTTP a call's log messages come on its own POST stream
   * and are read there (sse-log-tap.ts); the SDK's copy is ignored here. The
   * legacy SSE transport carries every message on one stream, and a log
   * message names no request: it is attributed to a call only while that is
   * the session's sole call in flight, and otherwise dropped rather than
   * shown to the wrong execution — possibly another agent's.
   */
  private onLogMessage({ params }: LoggingMessageNotification): void {
    if (this.kind !== 'sse' || this.callLogs.size !== 1) return;
    const [onLog] = this.callLogs.values();
    onLog?.(toLogEntry(params));
  }

  /** Validates the URL (SSRF), pins its addresses, negotiates the transport and initializes. */
  static async open(options: OpenSessionOptions): Promise<UpstreamSession> {
    const { target, policy, deadline } = options;
    const resolved = await withTimeout(
      assertUpstreamUrlAllowed(target.url, policy, options.resolver),
      deadline - Date.now(),
      upstreamRequestTimedOut,
    );
    const pinned = connectionFetch(resolved, options);
    try {
      const { client, transport, attempt } = await negotiate(options, resolved.url, pinned);
      const session = new UpstreamSession(
        target,
        attempt.kind,
        attempt.url,
        client,
        transport,
        pinned,
        options.logger,
        options.events,
        options.limits,
      );
      options.logger.info(
        { connectionId: target.connectionId, transport: attempt.kind, url: redactUrl(attempt.url) },
        'upstream MCP session opened',
      );
      return session;
    } catch (error) {
      await pinned.close();
      throw error;
    }
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  get closeReason(): CloseReason | undefined {
    return this.state === 'open' ? undefined : this.state;
  }

  /**
   * The error that killed the session when it is more telling than "closed"
   * for the requests it took down (a legacy SSE stream refused as too large).
   */
  get deathError(): AppError | undefined {
    return this.deathFailure?.kind === 'app_error' ? (this.deathFailure.error as AppError) : undefined;
  }

  /**
   * Lists every tool, following `nextCursor`, all pages within `deadline`.
   * More than `limits.maxTools` tools is an error (SPEC §14): pagination stops
   * there and nothing of the catalogue is kept.
   */
  async listTools(deadline: number): Promise<UpstreamTool[]> {
    // A server without the tools capability has no tools; asking would only earn "method not found".
    if (!this.client.getServerCapabilities()?.tools) return [];
    const tools: UpstreamTool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const timeout = deadline - Date.now();
      if (timeout <= 0) throw new McpError(ErrorCode.RequestTimeout, 'Request timed out');
      const result = await this.client.request(
        { method: 'tools/list', params: cursor === undefined ? {} : { cursor } },
        ListToolsPageSchema,
        { timeout },
      );
      if (tools.length + result.tools.length > this.limits.maxTools) throw this.tooManyTools();
      for (const tool of result.tools) tools.push(toUpstreamTool(tool));
      if (!result.nextCursor) return tools;
      if (result.nextCursor === cursor) break; // a cursor that does not advance would loop forever
      cursor = result.nextCursor;
    }
    throw toAppError(
      { kind: 'protocol_error', error: new Error('tools/list pagination did not terminate') },
      this.target.connectionId,
      'tools/list',
      'request',
    );
  }

  private tooManyTools(): ExternalServiceError {
    const limit = this.limits.maxTools;
    return new ExternalServiceError(
      'too_many_tools',
      `Upstream offers more than ${limit} tools, the gateway's limit per connection (TMWS_MAX_TOOLS_PER_CONNECTION)`,
      { connection_id: this.target.connectionId, limit },
    );
  }

  /**
   * Hot path: one SDK request, no logging, no extra allocation beyond the
   * params object (and one map entry, so the call's log messages find it).
   * `options` must carry `onprogress` so a progressToken is sent.
   */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    options: RequestOptions,
    onLog?: (entry: LogEntry) => void,
  ): Promise<UpstreamCallResult> {
    this.sentCallId = undefined;
    const pending = this.client.request({ method: 'tools/call', params: { name, arguments: args } }, RelayedCallToolResultSchema, options);
    // Sent synchronously (watchCallIds): registered before any answer can arrive.
    const id = this.sentCallId;
    if (id !== undefined) this.callLogs.set(id, onLog);
    try {
      const result = await pending;
      result.isError ??= false;
      return result as UpstreamCallResult;
    } finally {
      if (id !== undefined) this.callLogs.delete(id);
    }
  }

  /** Marks the session dead (once) and tells the pool; pending requests are failed by close(). */
  markDead(failure: Failure): void {
    if (this.state !== 'open') return;
    this.state = 'dead';
    this.deathFailure = failure;
    this.events.onDead(this, failure);
  }

  /**
   * Idempotent. `terminate`: send the Streamable HTTP DELETE (bounded) so the
   * upstream frees the session; skipped for a dead session, which has no
   * server-side state left to free (and would only make us wait).
   */
  close(reason: CloseReason = 'disconnected'): Promise<void> {
    if (this.state === 'open') this.state = reason;
    this.closing ??= this.shutdown(reason === 'disconnected');
    return this.closing;
  }

  private async shutdown(terminate: boolean): Promise<void> {
    if (terminate && this.transport instanceof StreamableHTTPClientTransport) {
      const deadline = Date.now() + Math.min(this.target.timeoutMs, DEFAULT_TERMINATE_TIMEOUT_MS);
      await withTimeout(this.transport.terminateSession(), deadline - Date.now(), upstreamRequestTimedOut).catch(() => undefined);
    }
    // Closing the client aborts in-flight fetches and rejects pending requests (ConnectionClosed).
    await this.client.close().catch(() => undefined);
    await this.pinned.close();
  }

  private onTransportError(error: Error): void {
    if (this.state !== 'open') return;
    this.logger.debug({ connectionId: this.target.connectionId, err: error.message }, 'upstream transport error');
    // A legacy SSE session lives exactly as long as its event stream: the server
    // forgets the session when the stream drops, so a stream error is death.
    if (this.kind === 'sse' && error instanceof SseError) {
      // The stream was refused as too large: that is what the requests it carried should hear.
      const tooLarge = this.pinned.lastTooLarge;
      this.markDead(tooLarge ? { kind: 'app_error', error: tooLarge } : { kind: 'connection_lost', error });
      return;
    }
    // Streamable HTTP streams are optional and resumable, so a stream error alone
    // proves nothing; a ping decides. If the process died, requests still
    // waiting on their response streams are failed now instead of at timeout.
    // Protocol noise (e.g. a late progress notification) is not a reason to probe.
    if (isConnectionTrouble(error)) void this.probe();
  }

  private async probe(): Promise<void> {
    const now = Date.now();
    if (this.probing || now - this.lastProbeAt < MIN_PROBE_INTERVAL_MS) return;
    this.probing = true;
    this.lastProbeAt = now;
    try {
      await this.client.ping({ timeout: Math.min(this.target.timeoutMs, DEFAULT_PROBE_TIMEOUT_MS) });
    } catch (error) {
      const failure = classifyFailure(error, true);
      // An rpc error means the server answered: alive.
      if (failure.kind !== 'rpc_error' && failure.kind !== 'app_error') this.markDead(failure);
    } finally {
      this.probing = false;
    }
  }
}

const CONNECTION_TROUBLE = /SSE stream|reconnect|fetch failed|terminated|socket|ECONN|Error POSTing/i;

function isConnectionTrouble(error: Error): boolean {
  return error instanceof StreamableHTTPError || error instanceof SseError || CONNECTION_TROUBLE.test(error.message);
}

interface Negotiated {
  client: Client;
  transport: McpTransport;
  attempt: Attempt;
}

async function negotiate(options: OpenSessionOptions, url: URL, pinned: PinnedFetch): Promise<Negotiated> {
  let firstFailure: Failure | undefined;
  for (const attempt of transportAttempts(url)) {
    try {
      return await connectWith(options, attempt, pinned);
    } catch (error) {
      // The SSE transport folds fetch errors into an ErrorEvent; a redirect refusal is read back here.
      const failure = classifyFailure(pinned.lastRefusal ?? error, false);
      if (!suggestsOtherTransport(failure)) throw toAppError(failure, options.target.connectionId, 'connect', 'open');
      firstFailure ??= failure;
      options.logger.debug(
        { connectionId: options.target.connectionId, transport: attempt.kind, status: failure.status },
        'upstream transport attempt rejected, trying the next one',
      );
    }
  }
  // Report the first (Streamable HTTP) answer: it is the most telling one.
  throw toAppError(firstFailure ?? { kind: 'unknown', error: undefined }, options.target.connectionId, 'connect', 'open');
}

async function connectWith(options: OpenSessionOptions, attempt: Attempt, pinned: PinnedFetch): Promise<Negotiated> {
  const { target, deadline, clientInfo } = options;
  const requestInit: RequestInit | undefined = target.headers ? { headers: target.headers } : undefined;
  const transport: McpTransport =
    attempt.kind === 'streamable-http'
      ? new StreamableHTTPClientTransport(attempt.url, {
          fetch: pinned.fetch,
          requestInit,
          reconnectionOptions: STREAM_RECONNECTION,
        })
      : new SSEClientTransport(attempt.url, { fetch: pinned.fetch, requestInit });
  // A new Client per attempt: a Client that failed to connect keeps protocol state.
  const client = new Client(clientInfo, { capabilities: {} });
  const close = () => void client.close().catch(() => undefined);
  try {
    // The SDK bounds `initialize` by `timeout`, but neither opening the SSE stream
    // nor the `notifications/initialized` POST; the deadline covers all of it.
    await withTimeout(
      client.connect(transport, { timeout: Math.max(1, deadline - Date.now()) }),
      deadline - Date.now(),
      upstreamRequestTimedOut,
      close,
    );
    return { client, transport, attempt };
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
}
