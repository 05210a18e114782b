/**
 * What the services need from the outside world, as small structural
 * interfaces. The MCP client pool, the vector index and the rate limiter
 * satisfy them; tests and future front doors (a downstream MCP endpoint)
 * reuse the same services unchanged.
 */
import type { Principal } from '../auth/principal.js';

export interface UpstreamTarget {
  connectionId: string;
  url: string;
  timeoutMs: number;
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

export interface UpstreamCallResult {
  content: unknown[];
  structuredContent?: Record<string, unknown>;
  isError: boolean;
  _meta?: Record<string, unknown>;
}

export interface UpstreamClient {
  connect(target: UpstreamTarget): Promise<UpstreamTool[]>;
  listTools(target: UpstreamTarget): Promise<UpstreamTool[]>;
  callTool(
    target: UpstreamTarget,
    name: string,
    args: Record<string, unknown>,
    opts?: { onProgress?: (p: ProgressUpdate) => void; signal?: AbortSignal; timeoutMs?: number },
  ): Promise<UpstreamCallResult>;
  disconnect(connectionId: string): Promise<void>;
  onToolsChanged(listener: (connectionId: string, tools: UpstreamTool[]) => void): () => void;
  onStatusChanged(listener: (connectionId: string, status: 'active' | 'error', message?: string) => void): () => void;
  close(): Promise<void>;
}

export interface IndexedConnection {
  id: string;
  serverName: string;
  namespace: string;
  agentId: string;
}

export interface ToolMatch {
  connectionId: string;
  serverName: string;
  toolName: string;
  description: string | null;
  score: number;
}

export interface ToolSearchIndex {
  replaceConnectionTools(
    connection: IndexedConnection,
    tools: { name: string; title?: string; description: string | null; inputSchema: Record<string, unknown> }[],
  ): Promise<void>;
  removeConnection(connection: Pick<IndexedConnection, 'id' | 'namespace'>): Promise<void>;
  search(principal: Principal, query: string, limit: number): Promise<ToolMatch[]>;
  health(): Promise<'ok' | 'down'>;
  close(): Promise<void>;
}
