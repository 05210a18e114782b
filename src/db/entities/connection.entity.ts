import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { baseProperties } from './base.js';

export const CONNECTION_STATUSES = ['connecting', 'active', 'disconnected', 'error'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/**
 * A registered upstream MCP server, owned by one agent inside its namespace.
 * `liveName` equals `serverName` while the connection is live and is NULL once
 * disconnected: the unique index on (agent_id, live_name) enforces "one live
 * connection per name per agent" in the database itself, on SQLite and
 * PostgreSQL alike (NULLs never collide), so a disconnected name is free at once.
 */
export const McpConnectionSchema = defineEntity({
  name: 'McpConnection',
  tableName: 'mcp_connections',
  uniques: [{ name: 'mcp_connections_agent_live_name_unique', properties: ['agentId', 'liveName'] }],
  indexes: [{ name: 'mcp_connections_namespace_agent_index', properties: ['namespace', 'agentId'] }],
  properties: {
    ...baseProperties,
    namespace: p.string().length(128),
    agentId: p.string().length(128),
    serverName: p.string().length(100),
    liveName: p.string().length(100).nullable(),
    url: p.text(),
    timeoutSeconds: p.integer().default(30),
    /** AES-GCM sealed upstream headers; never returned by any API. */
    headersSealed: p.text().nullable(),
    status: p.enum([...CONNECTION_STATUSES]).default('connecting'),
    errorMessage: p.text().nullable(),
    connectedAt: p.datetime().nullable(),
    disconnectedAt: p.datetime().nullable(),
  },
});

export type McpConnection = InferEntity<typeof McpConnectionSchema>;
