import type { McpConnection, Tool } from '../services/domain.js';

/** ISO-8601 UTC with milliseconds and `Z`, or null. */
export function isoOrNull(value: Date | null | undefined): string | null {
  return value ? value.toISOString() : null;
}

export interface ToolView {
  name: string;
  description: string | null;
  input_schema: Record<string, unknown>;
}

export function toolView(tool: Tool): ToolView {
  return { name: tool.name, description: tool.description ?? null, input_schema: tool.inputSchema };
}

/** The v2.3.0 connection object. Upstream headers are never part of it. */
export function connectionView(connection: McpConnection, tools: Tool[] | undefined) {
  return {
    id: connection.id,
    server_name: connection.serverName,
    status: connection.status,
    namespace: connection.namespace,
    agent_id: connection.agentId,
    url: connection.url,
    config: { url: connection.url, timeout: connection.timeoutSeconds },
    tools: (tools ?? []).map(toolView),
    error_message: connection.errorMessage ?? null,
    connected_at: isoOrNull(connection.connectedAt),
    disconnected_at: isoOrNull(connection.disconnectedAt),
    created_at: isoOrNull(connection.createdAt),
    updated_at: isoOrNull(connection.updatedAt),
  };
}
