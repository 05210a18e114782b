import type { Execution } from '../../services/domain.js';
import type { UpstreamCallResult } from '../../services/ports.js';
import { primaryResultValue } from '../../services/tool-result.js';
import { builder } from '../builder.js';
import type { AuthenticatedContext } from '../context.js';
import { inArgumentTerms } from '../errors.js';
import { pageWindow, toConnection } from '../pagination.js';
import { connectionOf, McpConnectionRef } from './connection.js';

export const ExecutionStatus = builder.enumType('ExecutionStatus', {
  values: {
    RUNNING: { value: 'RUNNING' },
    COMPLETED: { value: 'COMPLETED', description: 'The upstream answered; `isError` tells whether the tool reported an error.' },
    FAILED: { value: 'FAILED', description: 'The gateway or the transport failed (see errorCode).' },
    CANCELLED: { value: 'CANCELLED' },
    TIMED_OUT: { value: 'TIMED_OUT' },
  } as const,
});

export const ExecutionSource = builder.enumType('ExecutionSource', {
  description: 'The front door the execution came through.',
  values: { REST: { value: 'REST' }, GRAPHQL: { value: 'GRAPHQL' }, MCP: { value: 'MCP' } } as const,
});

/**
 * Results of calls made in this request, as relayed by the upstream. The
 * stored copy is bounded in size; the caller of executeTool always gets all of it.
 */
const liveResults = new WeakMap<Execution, UpstreamCallResult>();

/** The upstream result of an execution: live when at hand, else the stored copy unless it was summarised. */
function relayedResult(execution: Execution): UpstreamCallResult | null {
  const live = liveResults.get(execution);
  if (live) return live;
  const stored = execution.result;
  if (!stored || stored.truncated === true) return null;
  const result: UpstreamCallResult = {
    content: Array.isArray(stored.content) ? stored.content : [],
    isError: stored.isError === true,
  };
  if (stored.structuredContent !== undefined) result.structuredContent = stored.structuredContent as Record<string, unknown>;
  return result;
}

export const ExecutionRef = builder.objectRef<Execution>('Execution').implement({
  description: 'One tool call through the gateway: the audit record, its progress and its result.',
  authScopes: { authenticated: true },
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The execution UUID (REST `execution_id`).' }),
    connectionId: t.exposeID('connectionId'),
    connection: t.field({
      type: McpConnectionRef,
      resolve: (execution, _args, context) => connectionOf(context, execution.connectionId),
    }),
    agentId: t.exposeString('agentId', { description: 'The agent that ran it (the connection owner).' }),
    toolName: t.exposeString('toolName'),
    source: t.expose('source', { type: ExecutionSource }),
    status: t.expose('status', { type: ExecutionStatus }),
    isError: t.exposeBoolean('isError', { description: 'The tool itself reported an error (MCP `isError`); status stays COMPLETED.' }),
    arguments: t.field({ type: 'JSON', resolve: (e) => e.arguments }),
    result: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'The v2.3 primary value: structuredContent when present, else the parsed JSON of a single text block, else that text, else the content array.',
      resolve: (e) => {
        const relayed = relayedResult(e);
        return relayed ? primaryResultValue(relayed) : null;
      },
    }),
    content: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The MCP content array, as relayed.',
      resolve: (e) => relayedResult(e)?.content ?? null,
    }),
    structuredContent: t.field({
      type: 'JSON',
      nullable: true,
      resolve: (e) => relayedResult(e)?.structuredContent ?? null,
    }),
    resultTruncated: t.boolean({
      description: 'The stored result exceeded the audit size bound and was summarised; result and content are then null.',
      resolve: (e) => !liveResults.has(e) && e.result?.truncated === true,
    }),
    progress: t.float({ nullable: true, resolve: (e) => e.progress ?? null }),
    total: t.float({ nullable: true, resolve: (e) => e.progressTotal ?? null }),
    progressMessage: t.string({ nullable: true, resolve: (e) => e.progressMessage ?? null }),
    errorCode: t.string({ nullable: true, resolve: (e) => e.errorCode ?? null }),
    errorMessage: t.string({ nullable: true, resolve: (e) => e.errorMessage ?? null }),
    requestId: t.string({
      nullable: true,
      description:
        'The request id (X-Request-ID) of the request that started it: the id in the caller’s answer headers and in the gateway’s log lines (for WebSocket, the id of the socket’s upgrade request).',
      resolve: (e) => e.requestId ?? null,
    }),
    startedAt: t.field({ type: 'DateTime', resolve: (e) => e.startedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.finishedAt ?? null }),
    durationMs: t.int({ nullable: true, resolve: (e) => e.durationMs ?? null }),
  }),
});

const ExecutionConnection = builder.connectionObject({ type: ExecutionRef, name: 'ExecutionConnection' }, { name: 'ExecutionEdge' });

builder.queryFields((t) => {
  const authed = t.withAuth({ authenticated: true });
  return {
    executions: authed.field({
      type: ExecutionConnection,
      nullable: true,
      description: 'Executions the caller may read (its own; the namespace’s for admins), newest first.',
      args: {
        connectionId: t.arg.id({ description: 'Only executions on this connection (which the caller must be able to read).' }),
        status: t.arg({ type: ExecutionStatus }),
        first: t.arg.int({ description: 'Page size, 1-100. @default 20' }),
        after: t.arg.string({ description: 'Cursor of the last item of the previous page.' }),
      },
      resolve: async (_root, args, { services, principal }) => {
        const window = pageWindow('executions', args);
        const page = await services.executions.list(principal, {
          ...(args.connectionId ? { connectionId: args.connectionId } : {}),
          ...(args.status ? { status: args.status } : {}),
          ...window,
        });
        return toConnection('executions', page, window);
      },
    }),
    execution: authed.field({
      nullable: true,
      type: ExecutionRef,
      description: 'One execution. AUTHORIZATION_ERROR when it is someone else’s, EXECUTION_NOT_FOUND when it does not exist.',
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, args, { services, principal }) => services.executions.get(principal, args.id),
    }),
  };
});

const ExecuteToolInput = builder.inputType('ExecuteToolInput', {
  fields: (t) => ({
    connectionId: t.id({ required: true }),
    toolName: t.string({ required: true }),
    arguments: t.field({ type: 'JSON', description: 'A JSON object checked against the tool’s input schema. @default {}' }),
  }),
});

type ExecuteToolArgs = { connectionId: string; toolName: string; arguments?: unknown };

function callRequest(context: AuthenticatedContext, input: ExecuteToolArgs) {
  return {
    connectionId: input.connectionId,
    toolName: input.toolName,
    arguments: (input.arguments ?? {}) as Record<string, unknown>,
    source: 'GRAPHQL' as const,
    requestId: context.requestId,
  };
}

/** Where the fields of an execute command are in ExecuteToolInput. */
const EXECUTE_INPUT_FIELDS = { arguments: 'input.arguments' };

builder.mutationFields((t) => {
  const authed = t.withAuth({ authenticated: true });
  return {
    executeTool: authed.field({
      nullable: true,
      type: ExecutionRef,
      description: 'Executes a tool on one of the caller’s connections and waits for the finished execution. Bucket mcp_execute_tool.',
      args: { input: t.arg({ type: ExecuteToolInput, required: true }) },
      resolve: async (root, args, context, info) => {
        await context.drawRateLimit('mcp_execute_tool', { parent: root, args, context, info });
        // Waits for the outcome: no need to write the RUNNING row separately first.
        const call = context.services.executions.execute(context.principal, callRequest(context, args.input));
        const { execution, result } = await inArgumentTerms(call, EXECUTE_INPUT_FIELDS);
        if (result) liveResults.set(execution, result);
        return execution;
      },
    }),
    startExecution: authed.field({
      nullable: true,
      type: ExecutionRef,
      description: 'Starts a tool execution and returns it at once (RUNNING); follow it with executionProgress. Bucket mcp_execute_tool.',
      args: { input: t.arg({ type: ExecuteToolInput, required: true }) },
      resolve: async (root, args, context, info) => {
        await context.drawRateLimit('mcp_execute_tool', { parent: root, args, context, info });
        const call = context.services.executions.start(context.principal, callRequest(context, args.input));
        const { execution, done } = await inArgumentTerms(call, EXECUTE_INPUT_FIELDS);
        // The outcome is recorded on the execution and published; nobody awaits it here.
        done.catch(() => undefined);
        return execution;
      },
    }),
    cancelExecution: authed.field({
      nullable: true,
      type: ExecutionRef,
      description:
        'Cancels a running execution (owner, or an admin of its namespace): the upstream receives notifications/cancelled and the execution ends CANCELLED. A finished execution is returned unchanged. Bucket mcp_disconnect.',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (root, args, context, info) => {
        await context.drawRateLimit('mcp_disconnect', { parent: root, args, context, info });
        return context.services.executions.cancel(context.principal, args.id);
      },
    }),
  };
});
