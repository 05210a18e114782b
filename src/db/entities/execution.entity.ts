import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { baseProperties } from './base.js';

export const EXECUTION_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const EXECUTION_SOURCES = ['REST', 'GRAPHQL', 'MCP'] as const;
export type ExecutionSource = (typeof EXECUTION_SOURCES)[number];

/**
 * The audit trail of one tool call: who, where, what, with which arguments,
 * how it went and how long it took. `result` keeps the relayed upstream result
 * (bounded in size, see executions service).
 */
export const ExecutionSchema = defineEntity({
  name: 'Execution',
  tableName: 'executions',
  // Each list and count the doors ask for is one range of one index, in the list's order: a page
  // reads 50 rows and a count reads index entries only (agent_id is in each, for an agent's own
  // executions), however long a namespace's history is. On SQLite those reads block the event loop,
  // so a dashboard counting a busy namespace would stall every other tenant's calls. The status
  // index also serves the sweep of RUNNING rows. No index more than before: one WAL frame each per write.
  indexes: [
    { name: 'executions_namespace_started_index', properties: ['namespace', 'startedAt', 'agentId'] },
    { name: 'executions_connection_index', properties: ['connectionId', 'startedAt', 'namespace', 'agentId'] },
    { name: 'executions_status_index', properties: ['status', 'namespace', 'startedAt', 'agentId'] },
  ],
  properties: {
    ...baseProperties,
    namespace: p.string().length(128),
    agentId: p.string().length(128),
    connectionId: p.uuid(),
    toolName: p.string().length(256),
    arguments: p.json<Record<string, unknown>>(),
    status: p.enum([...EXECUTION_STATUSES]).default('RUNNING'),
    source: p.enum([...EXECUTION_SOURCES]).default('REST'),
    requestId: p.string().length(128).nullable(),
    progress: p.float().nullable(),
    progressTotal: p.float().nullable(),
    progressMessage: p.text().nullable(),
    isError: p.boolean().default(false),
    result: p.json<Record<string, unknown>>().nullable(),
    errorCode: p.string().length(64).nullable(),
    errorMessage: p.text().nullable(),
    startedAt: p.datetime(),
    /** The gateway instance running it (SPEC §10 leases); null on rows from before leases existed. */
    instanceId: p.string().length(64).nullable(),
    finishedAt: p.datetime().nullable(),
    durationMs: p.integer().nullable(),
  },
});

export type Execution = InferEntity<typeof ExecutionSchema>;
