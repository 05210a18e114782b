/**
 * Public types of the upstream MCP layer. The service layer (connections,
 * executions) builds on these; keep them transport-agnostic.
 */

/** Everything needed to (re-)open an upstream session; built from the stored connection. */
export interface UpstreamTarget {
  connectionId: string;
  /** The full MCP endpoint as the user gave it, e.g. `http://host:3001/mcp` or `http://host/sse`. */
  url: string;
  /** Budget for connect/list, and the default per-call timeout (reset by progress). */
  timeoutMs: number;
  /** Sent on every request to the upstream (auth); never logged. */
  headers?: Record<string, string>;
}

export interface UpstreamTool {
  name: string;
  title?: string;
  description: string | null;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
}

/** An upstream `notifications/message` (MCP logging) sent during a call, relayed as is. */
export interface LogEntry {
  level: string;
  logger?: string;
  data: unknown;
}

export interface CallToolOptions {
  onProgress?: (p: ProgressUpdate) => void;
  /**
   * Upstream log messages of this call. Attributed only while this is the
   * session's sole call in flight (see UpstreamSession.callTool).
   */
  onLog?: (entry: LogEntry) => void;
  /** Aborting sends `notifications/cancelled` upstream and rejects with UpstreamCancelledError. */
  signal?: AbortSignal;
  /** Idle timeout of this call (reset on every progress notification); defaults to target.timeoutMs. */
  timeoutMs?: number;
  /**
   * Hard cap on the whole call even while progress keeps arriving.
   * @default the pool's `limits.maxCallMs` (TMWS_MAX_CALL_SECONDS)
   */
  maxTotalTimeoutMs?: number;
}

/** The upstream CallToolResult relayed faithfully (content, structuredContent, isError, _meta), never re-shaped. */
export interface UpstreamCallResult {
  content: unknown[];
  structuredContent?: Record<string, unknown>;
  isError: boolean;
  _meta?: Record<string, unknown>;
}

/**
 * Bounds on what one upstream may send (SPEC §14).
 */
export interface UpstreamLimits {
  /** Largest upstream message or tool result, counted while it streams (TMWS_MAX_RESULT_BYTES). @default 10 MiB */
  maxMessageBytes: number;
  /** Most tools kept from one connection's `tools/list` (TMWS_MAX_TOOLS_PER_CONNECTION). @default 1000 */
  maxTools: number;
  /** A call's total life, progress or not (TMWS_MAX_CALL_SECONDS), in ms. @default 900 000 */
  maxCallMs: number;
}

/** What a session itself enforces. */
export type SessionLimits = Pick<UpstreamLimits, 'maxMessageBytes' | 'maxTools'>;

export const DEFAULT_UPSTREAM_LIMITS: UpstreamLimits = {
  maxMessageBytes: 10 * 1024 * 1024,
  maxTools: 1000,
  maxCallMs: 900_000,
};

export type UpstreamStatus = 'active' | 'error';

export interface SsrfPolicy {
  /** true in production: refuse non-public addresses unless exempted. */
  enforce: boolean;
  /** Exemptions: hostnames (`mcp.internal`, `*.corp.example`), IPs or CIDRs (`10.1.0.0/16`). */
  allowedHosts: string[];
  /**
   * A name that does not resolve is refused exactly like one that resolves to a
   * non-public address (same status, code and message), so answers never tell
   * which internal host names exist. On in production.
   * @default false
   */
  uniformRefusals?: boolean;
}

/** Which wire protocol a session ended up speaking. */
export type UpstreamTransportKind = 'streamable-http' | 'sse';
