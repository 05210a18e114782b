/**
 * What the services need from the outside world, as small interfaces. The MCP
 * client pool and the vector index satisfy them; tests and future front doors
 * (a downstream MCP endpoint) reuse the same services unchanged.
 */
import type { CallToolOptions, UpstreamCallResult, UpstreamStatus, UpstreamTarget, UpstreamTool } from '../mcp/types.js';
import type { LinkSession, UpstreamLink } from '../mcp/upstream-link.js';
import type { ToolIndex } from '../vectors/tool-index.js';

export type { ProgressUpdate, UpstreamCallResult, UpstreamTarget, UpstreamTool } from '../mcp/types.js';
export type { LinkSession, UpstreamLink } from '../mcp/upstream-link.js';
export type { IndexedConnection, ToolMatch } from '../vectors/tool-index.js';

export interface UpstreamClient {
  connect(target: UpstreamTarget): Promise<UpstreamTool[]>;
  listTools(target: UpstreamTarget): Promise<UpstreamTool[]>;
  callTool(target: UpstreamTarget, name: string, args: Record<string, unknown>, opts?: CallToolOptions): Promise<UpstreamCallResult>;
  disconnect(connectionId: string): Promise<void>;
  onToolsChanged(listener: (connectionId: string, tools: UpstreamTool[]) => void): () => void;
  onStatusChanged(listener: (connectionId: string, status: UpstreamStatus, message?: string) => void): () => void;
  /** A raw link for the MCP passthrough endpoint; absent on clients that cannot relay raw messages. */
  openLink?(target: UpstreamTarget, session: LinkSession): Promise<UpstreamLink>;
  close(): Promise<void>;
}

export type ToolSearchIndex = Pick<ToolIndex, 'replaceConnectionTools' | 'removeConnection' | 'search' | 'health' | 'close'>;
