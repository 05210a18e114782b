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

export interface CallToolOptions {
  onProgress?: (p: ProgressUpdate) => void;
  /** Aborting sends `notifications/cancelled` upstream and rejects with UpstreamCancelledError. */
  signal?: AbortSignal;
  /** Idle timeout of this call (reset on every progress notification); defaults to target.timeoutMs. */
  timeoutMs?: number;
  /**
   * Hard cap on the whole call even while progress keeps arriving.
   * @default undefined (no cap: a tool that keeps reporting progress may run as long as it needs)
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
