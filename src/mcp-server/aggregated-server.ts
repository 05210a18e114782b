import { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import {
  CallToolRequestSchema,
  CancelledNotificationSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolRequest,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Principal } from '../auth/principal.js';
import { isAppError } from '../errors/index.js';
import { pageByName, type AggregatedTool } from './catalogue.js';
import type { CallerCatalogues } from './caller-catalogues.js';
import type { McpGatewayPort } from './gateway-port.js';
import { InFlightCalls } from './in-flight-calls.js';
import { CALL_TOOL, META_TOOLS, SEARCH_TOOLS } from './meta-tools.js';

export const SERVER_INFO = { name: 'tmws-gateway', version: '2.3.0' } as const;

/** Tools per `tools/list` page. */
export const DEFAULT_PAGE_SIZE = 100;

export interface AggregatedServerContext {
  port: McpGatewayPort;
  catalogues: CallerCatalogues;
  inFlight: InFlightCalls;
  principal: Principal;
  sessionId: string | undefined;
  /** `/mcp?tools=search`: list only the meta-tools. */
  searchOnly: boolean;
  /** The HTTP request id, stored on the Execution row. */
  requestId: string;
  pageSize: number;
}

/** What a `tools/call` uses of the SDK's request context: a call answered without an SDK `Server` (direct-tool-call.ts) brings these alone. */
export type CallExtra = Pick<RequestHandlerExtra<ServerRequest, ServerNotification>, 'requestId' | '_meta' | 'sendNotification'>;

/**
 * One JSON Schema validator for every per-request `Server`. The SDK otherwise
 * builds a fresh Ajv (with all its formats) in each `Server` constructor —
 * about a tenth of the gateway's CPU per `/mcp` call — for elicitation, which
 * this server never sends. Its compiled-schema cache is the same either way.
 */
const jsonSchemaValidator = new AjvJsonSchemaValidator();

/**
 * One SDK `Server` answering the caller's aggregated catalogue. Built per HTTP
 * request (and per GET stream): it holds nothing a later request needs, which
 * is what lets any instance serve any request of a session.
 */
export function createAggregatedServer(ctx: AggregatedServerContext): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: true } },
    jsonSchemaValidator,
    instructions: `Tools of your gateway connections, named <server_name>__<tool>. With many tools, use ${SEARCH_TOOLS} then ${CALL_TOOL}.`,
  });
  server.setRequestHandler(ListToolsRequestSchema, async (request) => listTools(ctx, request.params?.cursor));
  // The low-level Server re-parses every tools/call result with zod, which re-shapes it (and costs CPU on the hot
  // path); results are the upstream's, relayed verbatim (SPEC §6), so the base Protocol registration is used.
  Protocol.prototype.setRequestHandler.call(server, CallToolRequestSchema, (request: CallToolRequest, extra) =>
    callTool(ctx, request.params.name, request.params.arguments ?? {}, extra),
  );
  // Cancellations arrive in requests of their own, perhaps on another instance than the call.
  server.setNotificationHandler(CancelledNotificationSchema, (notification) => {
    const { requestId, reason } = notification.params;
    if (requestId === undefined) return;
    ctx.inFlight.cancel(InFlightCalls.keyOf(ctx.principal.agentId, ctx.sessionId, requestId), reason ?? 'cancelled by the MCP client');
  });
  return server;
}

async function listTools(ctx: AggregatedServerContext, cursor: string | undefined): Promise<{ tools: Tool[]; nextCursor?: string }> {
  const listed: { name: string; tool: Tool }[] = META_TOOLS.map((tool) => ({ name: tool.name, tool }));
  if (!ctx.searchOnly) {
    const catalogue = await ctx.catalogues.get(ctx.principal, true);
    listed.push(...catalogue.tools.map((entry) => ({ name: entry.name, tool: toWire(entry) })));
  }
  listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const page = pageByName(listed, cursor, ctx.pageSize);
  if (!page) throw new McpError(ErrorCode.InvalidParams, 'Invalid cursor');
  const tools = page.items.map((item) => item.tool);
  return page.nextCursor ? { tools, nextCursor: page.nextCursor } : { tools };
}

/** The stored tool under its aggregated name; schemas and annotations as the upstream sent them. */
function toWire(entry: AggregatedTool): Tool {
  const { tool } = entry;
  const wire: Record<string, unknown> = { name: entry.name, inputSchema: tool.inputSchema };
  if (tool.title) wire.title = tool.title;
  if (tool.description !== null && tool.description !== undefined) wire.description = tool.description;
  if (tool.outputSchema) wire.outputSchema = tool.outputSchema;
  if (tool.annotations) wire.annotations = tool.annotations;
  return wire as Tool;
}

export async function callTool(
  ctx: AggregatedServerContext,
  name: string,
  args: Record<string, unknown>,
  extra: CallExtra,
): Promise<CallToolResult> {
  if (name === SEARCH_TOOLS) return searchTools(ctx, args);
  if (name === CALL_TOOL) {
    const inner = args.arguments ?? {};
    if (typeof args.name !== 'string' || typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
      return toolError('VALIDATION_ERROR', `${CALL_TOOL} needs a tool name in "name" and, optionally, an "arguments" object`);
    }
    if (args.name === SEARCH_TOOLS) return searchTools(ctx, inner as Record<string, unknown>);
    return callAggregated(ctx, args.name, inner as Record<string, unknown>, extra);
  }
  return callAggregated(ctx, name, args, extra);
}

async function resolve(ctx: AggregatedServerContext, name: string): Promise<AggregatedTool> {
  const cached = await ctx.catalogues.get(ctx.principal);
  const found = cached.byName.get(name) ?? (await ctx.catalogues.get(ctx.principal, true)).byName.get(name);
  if (!found) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name.slice(0, 200)}`);
  return found;
}

async function callAggregated(
  ctx: AggregatedServerContext,
  name: string,
  args: Record<string, unknown>,
  extra: CallExtra,
): Promise<CallToolResult> {
  const target = await resolve(ctx, name);
  const requestKey = InFlightCalls.keyOf(ctx.principal.agentId, ctx.sessionId, extra.requestId);
  let release = () => {};
  let unfollow = () => {};
  try {
    const started = await ctx.port.startCall(ctx.principal, {
      connectionId: target.connectionId,
      toolName: target.tool.name,
      arguments: args,
      requestId: ctx.requestId,
    });
    release = ctx.inFlight.add(requestKey, { principal: ctx.principal, executionId: started.executionId });
    const progressToken = extra._meta?.progressToken;
    if (progressToken !== undefined) unfollow = relayProgress(ctx, started.executionId, progressToken, extra);
    const { execution, result } = await started.done;
    if (result) return result as CallToolResult;
    // Cancelled: the client that cancelled ignores any answer; another reader learns why.
    return toolError(execution.errorCode ?? 'CANCELLED', execution.errorMessage ?? 'The call was cancelled');
  } catch (error) {
    return failedCall(ctx, error);
  } finally {
    unfollow();
    release();
  }
}

function relayProgress(ctx: AggregatedServerContext, executionId: string, progressToken: string | number, extra: CallExtra): () => void {
  return ctx.port.followExecution(executionId, (event) => {
    if (event.type !== 'PROGRESS' || event.progress === null) return;
    const params: Record<string, unknown> = { progressToken, progress: event.progress };
    if (event.total !== null) params.total = event.total;
    if (event.message !== null) params.message = event.message;
    extra.sendNotification({ method: 'notifications/progress', params } as ServerNotification).catch(() => undefined);
  });
}

/**
 * Errors of the gateway or the upstream become tool errors (`isError: true`) that
 * a model can read and act on; an unknown tool stays a protocol error (MCP
 * specification, "Error Handling"); anything unexpected is masked.
 */
export function failedCall(ctx: Pick<AggregatedServerContext, 'port' | 'requestId'>, error: unknown): CallToolResult {
  if (error instanceof McpError) throw error;
  if (isAppError(error)) {
    if (error.code === 'TOOL_NOT_FOUND') throw new McpError(ErrorCode.InvalidParams, error.message);
    return toolError(error.code, error.message, error.details);
  }
  ctx.port.logger.error({ err: error, requestId: ctx.requestId }, 'MCP tool call failed unexpectedly');
  throw new McpError(ErrorCode.InternalError, 'Internal error');
}

export function toolError(code: string, message: string, details: Record<string, unknown> = {}): CallToolResult {
  return {
    content: [{ type: 'text', text: `${code}: ${message}` }],
    structuredContent: { error_code: code, message, details },
    isError: true,
  };
}

async function searchTools(ctx: AggregatedServerContext, args: Record<string, unknown>): Promise<CallToolResult> {
  try {
    // Search covers what the caller may read; only names callable here are returned (an admin's search also
    // matches its agents' connections, which it may not execute on).
    const [matches, catalogue] = await Promise.all([
      ctx.port.search(ctx.principal, args.query, args.limit),
      ctx.catalogues.get(ctx.principal),
    ]);
    const names = new Map<string, AggregatedTool>();
    for (const entry of catalogue.tools) names.set(`${entry.connectionId}\u0000${entry.tool.name}`, entry);
    const results = matches.flatMap((match) => {
      const entry = names.get(`${match.connectionId}\u0000${match.toolName}`);
      return entry ? [{ name: entry.name, description: match.description, score: match.score }] : [];
    });
    return { content: [{ type: 'text', text: JSON.stringify({ results }) }], structuredContent: { results } };
  } catch (error) {
    return failedCall(ctx, error);
  }
}
