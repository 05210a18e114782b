import type { FastifyInstance } from 'fastify';
import { parseOrThrow } from '../common/wire-parse.js';
import type { Services } from '../services/container.js';
import { primaryResultValue } from '../services/tool-result.js';
import type { CreateConnectionCommand } from '../services/validation.js';
import { connectionView } from './connection-view.js';
import { authenticate, rateLimit } from './guards.js';
import { parseConnectionListQuery, parseSearchLimit, stringParam } from './query.js';
import { requirePrincipal } from './request-context.js';
import { createConnectionBody, executeToolBody, requireObject } from './schemas.js';
import { registerToolGovernanceRoutes } from './tool-governance.routes.js';

export const REST_BASE = '/api/v1/mcp';

type IdParams = { id: string };
type ToolParams = { id: string; tool_name: string };
type QueryString = Record<string, string | string[] | undefined>;

/** The v2.3.0 REST bridge: each handler parses, calls one service, renders. */
export function registerConnectionRoutes(app: FastifyInstance, services: Services): void {
  const auth = authenticate(services);
  const { connections, executions, toolSearch } = services;

  app.post(`${REST_BASE}/connections`, { onRequest: [auth, rateLimit(services, 'mcp_create_connection')] }, async (request, reply) => {
    const principal = requirePrincipal(request.principal);
    const created = await connections.create(principal, createCommand(request.body));
    reply.header('Location', `${REST_BASE}/connections/${created.connection.id}`);
    return reply.code(201).send(connectionView(created.connection, created.tools));
  });

  app.get<{ Querystring: QueryString }>(`${REST_BASE}/connections`, { onRequest: [auth] }, async (request) => {
    const principal = requirePrincipal(request.principal);
    const page = await connections.list(principal, parseConnectionListQuery(request.query));
    const tools = await connections.toolsOf(
      principal,
      page.rows.map((c) => c.id),
    );
    return {
      connections: page.rows.map((c) =>
        connectionView(
          c,
          tools.filter((t) => t.connectionId === c.id),
        ),
      ),
      total: page.total,
    };
  });

  app.get<{ Params: IdParams }>(`${REST_BASE}/connections/:id`, { onRequest: [auth] }, async (request) => {
    const found = await connections.get(requirePrincipal(request.principal), request.params.id);
    return connectionView(found.connection, found.tools);
  });

  app.get<{ Params: IdParams }>(
    `${REST_BASE}/connections/:id/tools`,
    { onRequest: [auth, rateLimit(services, 'mcp_discover_tools')] },
    async (request) => {
      const found = await connections.discover(requirePrincipal(request.principal), request.params.id);
      return connectionView(found.connection, found.tools);
    },
  );

  app.post<{ Params: ToolParams }>(
    `${REST_BASE}/connections/:id/tools/:tool_name/execute`,
    { onRequest: [auth, rateLimit(services, 'mcp_execute_tool')] },
    async (request) => {
      const principal = requirePrincipal(request.principal);
      const body = parseOrThrow(executeToolBody, requireObject(request.body ?? {}));
      const { execution, result } = await executions.execute(principal, {
        connectionId: request.params.id,
        toolName: request.params.tool_name,
        arguments: (body.arguments ?? {}) as Record<string, unknown>,
        source: 'REST',
        requestId: request.id,
      });
      return {
        connection_id: execution.connectionId,
        tool_name: execution.toolName,
        execution_id: execution.id,
        result: {
          status: result?.isError ? 'error' : execution.status === 'COMPLETED' ? 'completed' : execution.status.toLowerCase(),
          result: result ? primaryResultValue(result) : null,
          content: result?.content ?? [],
          is_error: result?.isError ?? false,
          execution_time_ms: execution.durationMs ?? 0,
        },
      };
    },
  );

  app.delete<{ Params: IdParams }>(
    `${REST_BASE}/connections/:id`,
    { onRequest: [auth, rateLimit(services, 'mcp_disconnect')] },
    async (request, reply) => {
      await connections.disconnect(requirePrincipal(request.principal), request.params.id);
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: QueryString }>(
    `${REST_BASE}/tools/search`,
    { onRequest: [auth, rateLimit(services, 'mcp_discover_tools')] },
    async (request) => {
      const matches = await toolSearch.search(
        requirePrincipal(request.principal),
        stringParam(request.query, 'q') ?? '',
        parseSearchLimit(stringParam(request.query, 'limit')),
      );
      return {
        results: matches.map((m) => ({
          connection_id: m.connectionId,
          server_name: m.serverName,
          tool_name: m.toolName,
          description: m.description,
          score: m.score,
        })),
      };
    },
  );

  registerToolGovernanceRoutes(app, services, REST_BASE);
}

/** The v2.3.0 body in the services' terms: snake_case to camelCase, claims kept for the service to check. */
function createCommand(raw: unknown): CreateConnectionCommand {
  const body = parseOrThrow(createConnectionBody, requireObject(raw));
  const command: CreateConnectionCommand = { serverName: body.server_name, url: body.url };
  if (body.timeout !== undefined) command.timeoutSeconds = body.timeout;
  if (body.headers !== undefined) command.headers = body.headers;
  if (body.namespace !== undefined) command.namespace = body.namespace;
  if (body.agent_id !== undefined) command.agentId = body.agent_id;
  return command;
}
