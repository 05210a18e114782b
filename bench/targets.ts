/**
 * The three ways of calling the upstream `echo` tool that the bench compares:
 * directly with the MCP SDK (the physical limit), through the gateway's REST
 * execute route, and through its GraphQL `executeTool` mutation. Each target
 * turns one call into an `Operation` that rejects when the call did not
 * succeed, so a broken path can never pass for a fast one.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Pool } from 'undici';
import type { Operation } from './load-generator.js';

export interface Target {
  readonly name: string;
  readonly operation: Operation;
  close(): Promise<void>;
}

/** The tool and arguments every target sends. */
export const ECHO_TOOL = 'echo';
export const ECHO_ARGUMENTS = { message: 'tmws-bench' } as const;

/**
 * The SDK transport hands every POST its session-long AbortSignal; fetch adds
 * a listener per request that only goes away with garbage collection, so under
 * load thousands pile up (MaxListenersExceededWarning) and slow the baseline
 * down. The gateway's upstream fetch drops that signal for POSTs; the baseline
 * gets the same treatment, so it is not handicapped by it.
 */
const fetchWithoutPostSignal: typeof fetch = (input, init) => fetch(input, init?.method === 'POST' ? { ...init, signal: null } : init);

/** One SDK session shared by all callers, like the gateway's one session per connection. */
export async function createDirectTarget(mcpUrl: string): Promise<Target> {
  const client = new Client({ name: 'tmws-bench-direct', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { fetch: fetchWithoutPostSignal }));
  return {
    name: 'direct',
    operation: async () => {
      const result = await client.callTool({ name: ECHO_TOOL, arguments: ECHO_ARGUMENTS });
      if (result.isError) throw new Error('direct echo reported isError');
    },
    close: () => client.close(),
  };
}

export interface GatewayEndpoint {
  url: string;
  token: string;
  connectionId: string;
  /** Highest concurrency the bench will use: one keep-alive socket per caller, opened lazily. */
  maxConcurrency: number;
}

/** Keep-alive HTTP/1.1 without pipelining, so no call ever waits for a socket. */
function keepAlivePool(gateway: GatewayEndpoint): Pool {
  return new Pool(gateway.url, { connections: gateway.maxConcurrency, pipelining: 1, keepAliveTimeout: 60_000 });
}

export function createRestTarget(name: string, gateway: GatewayEndpoint): Target {
  const pool = keepAlivePool(gateway);
  const path = `/api/v1/mcp/connections/${gateway.connectionId}/tools/${ECHO_TOOL}/execute`;
  const headers = { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ arguments: ECHO_ARGUMENTS });
  return {
    name,
    operation: async () => {
      const response = await pool.request({ method: 'POST', path, headers, body });
      const payload = (await response.body.json()) as { result?: { status?: string } };
      if (response.statusCode !== 200 || payload.result?.status !== 'completed') {
        throw new Error(`REST execute answered ${response.statusCode}: ${JSON.stringify(payload).slice(0, 300)}`);
      }
    },
    close: () => pool.close(),
  };
}

/** The lean selection: what a caller that only needs the outcome asks for. */
export const EXECUTE_TOOL_MUTATION = 'mutation($input: ExecuteToolInput!){ executeTool(input:$input){ id status isError } }';

/**
 * A dashboard's row (SPEC §9): every leaf of the execution and of its
 * connection. The connection's `tools` is left out: it is the whole stored
 * catalogue (every tool's schemas), a list no row of executions shows.
 */
export const EXECUTE_TOOL_ROW_MUTATION =
  'mutation($input: ExecuteToolInput!){ executeTool(input:$input){ ' +
  'id agentId connectionId toolName source status isError arguments result content structuredContent resultTruncated ' +
  'progress total progressMessage errorCode errorMessage requestId startedAt finishedAt durationMs ' +
  'connection { id serverName status namespace agentId url timeout errorMessage connectedAt disconnectedAt createdAt updatedAt } } }';

interface ExecuteToolPayload {
  data?: { executeTool?: { status?: string; connection?: { id?: string } } };
  errors?: unknown;
}

/** `executeTool` with the given selection; a row selection must also bring back the execution's connection. */
export function createGraphqlTarget(name: string, gateway: GatewayEndpoint, query = EXECUTE_TOOL_MUTATION): Target {
  const pool = keepAlivePool(gateway);
  const headers = { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json', accept: 'application/json' };
  const body = JSON.stringify({
    query,
    variables: { input: { connectionId: gateway.connectionId, toolName: ECHO_TOOL, arguments: ECHO_ARGUMENTS } },
  });
  const wantsConnection = query.includes('connection {');
  return {
    name,
    operation: async () => {
      const response = await pool.request({ method: 'POST', path: '/graphql', headers, body });
      const payload = (await response.body.json()) as ExecuteToolPayload;
      const execution = payload.data?.executeTool;
      const complete = execution?.status === 'COMPLETED' && (!wantsConnection || execution.connection?.id === gateway.connectionId);
      if (response.statusCode !== 200 || payload.errors || !complete) {
        throw new Error(`GraphQL executeTool answered ${response.statusCode}: ${JSON.stringify(payload).slice(0, 300)}`);
      }
    },
    close: () => pool.close(),
  };
}

/**
 * The gateway's downstream MCP endpoint (SPEC §11): one SDK session on `/mcp`,
 * calling the aggregated `<server_name>__echo` — the same client code as `direct`.
 */
export async function createMcpTarget(name: string, gateway: GatewayEndpoint, serverName: string): Promise<Target> {
  const client = new Client({ name: 'tmws-bench-mcp', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
      fetch: fetchWithoutPostSignal,
      requestInit: { headers: { authorization: `Bearer ${gateway.token}` } },
    }),
  );
  const tool = `${serverName}__${ECHO_TOOL}`;
  return {
    name,
    operation: async () => {
      const result = await client.callTool({ name: tool, arguments: ECHO_ARGUMENTS });
      if (result.isError) throw new Error(`MCP ${tool} reported isError: ${JSON.stringify(result.content).slice(0, 300)}`);
    },
    close: () => client.close(),
  };
}

/** Registers the upstream on a gateway (REST create) and returns the connection id. */
export async function registerConnection(gateway: { url: string; token: string }, mcpUrl: string, serverName: string): Promise<string> {
  const response = await fetch(`${gateway.url}/api/v1/mcp/connections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ server_name: serverName, url: mcpUrl, timeout: 30 }),
  });
  const payload = (await response.json()) as { id?: string; status?: string };
  if (response.status !== 201 || !payload.id) {
    throw new Error(`creating the bench connection failed (${response.status}): ${JSON.stringify(payload).slice(0, 500)}`);
  }
  return payload.id;
}

/** Whether the gateway serves GraphQL yet (the API may not have landed in this checkout). */
export function graphqlAvailable(gateway: { url: string; token: string }): Promise<boolean> {
  return served(`${gateway.url}/graphql`, gateway.token, { query: '{ __typename }' });
}

/** Whether the gateway serves /mcp (a checkout given to --compare may predate it). */
export function mcpAvailable(gateway: { url: string; token: string }): Promise<boolean> {
  return served(`${gateway.url}/mcp`, gateway.token, { jsonrpc: '2.0', id: 1, method: 'ping' });
}

async function served(url: string, token: string, body: unknown): Promise<boolean> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(body),
  }).catch(() => undefined);
  if (!response) return false;
  await response.body?.cancel();
  return response.status !== 404;
}
