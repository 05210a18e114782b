import DataLoader from 'dataloader';
import { canManage } from '../../auth/principal.js';
import type { McpConnection } from '../../services/domain.js';
import { ConnectionNotFoundError } from '../../errors/index.js';
import type { ConnectionStatusPayload } from '../../services/event-bus.js';
import { builder } from '../builder.js';
import { requirePrincipal, type GraphQLContext } from '../context.js';
import { inArgumentTerms } from '../errors.js';
import { createConnectionCommand, CREATE_CONNECTION_FIELDS } from '../inputs.js';
import { openEventQueue, withCleanup } from '../event-stream.js';
import { authorisedEvents, unlessRevoked, type AccessRevoked } from '../subscription-access.js';
import { pageWindow, toConnection } from '../pagination.js';
import { ToolRef } from './tool.js';

export const ConnectionStatus = builder.enumType('ConnectionStatus', {
  values: {
    CONNECTING: { value: 'connecting', description: 'Handshake with the upstream in progress.' },
    ACTIVE: { value: 'active', description: 'Live: tools may be discovered and executed.' },
    DISCONNECTED: { value: 'disconnected', description: 'Closed by its owner or an admin; kept for the record.' },
    ERROR: { value: 'error', description: 'The upstream failed; discover or execute retries it.' },
  } as const,
});

export const McpConnectionRef = builder.objectRef<McpConnection>('McpConnection').implement({
  description: 'A registered upstream MCP server, owned by one agent inside its namespace.',
  authScopes: { authenticated: true },
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The connection UUID (the same as in REST).' }),
    serverName: t.exposeString('serverName'),
    status: t.expose('status', { type: ConnectionStatus }),
    namespace: t.exposeString('namespace'),
    agentId: t.exposeString('agentId', { description: 'The owning agent.' }),
    url: t.exposeString('url'),
    timeout: t.exposeInt('timeoutSeconds', { description: 'Upstream timeout in seconds.' }),
    tools: t.loadableGroup({
      type: ToolRef,
      description: 'The stored tool catalogue (refreshed by refreshTools and upstream notifications).',
      // Uncached: a subscription reuses its context for every event, and must not see stale catalogues.
      loaderOptions: { cache: false },
      load: (connectionIds: string[], context: GraphQLContext) =>
        context.services.connections.toolsOf(requirePrincipal(context), connectionIds),
      group: (tool) => tool.connectionId,
      resolve: (connection) => connection.id,
    }),
    errorMessage: t.string({ nullable: true, resolve: (c) => c.errorMessage ?? null }),
    connectedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.connectedAt ?? null }),
    disconnectedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.disconnectedAt ?? null }),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (c) => c.updatedAt }),
  }),
});

/** Batch loader body shared by every field that points at a connection (no N+1). */
async function loadConnections(ids: readonly string[], context: GraphQLContext): Promise<(McpConnection | Error)[]> {
  const rows = await context.services.connections.readMany(requirePrincipal(context), ids);
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? new ConnectionNotFoundError(id));
}

/**
 * The connection of a nested field (an execution's, a search match's), batched
 * per request: one `readMany` for every row of a page. The loader hangs off the
 * context itself rather than off a WeakMap keyed by the context (Pothos's
 * `t.loadable`): V8's young-generation collector treats WeakMap values as
 * strong, so a loader there — and, through its closure, the request's context,
 * resolve info and variables — survived the scavenges after every request and
 * was promoted to the old generation (bench/README.md, tenth round).
 */
export function connectionOf(context: GraphQLContext, id: string): Promise<McpConnection> {
  context.connectionLoader ??= new DataLoader<string, McpConnection>((ids) => loadConnections(ids, context), { cache: false });
  return context.connectionLoader.load(id);
}

const McpConnectionConnection = builder.connectionObject(
  { type: McpConnectionRef, name: 'McpConnectionConnection' },
  { name: 'McpConnectionEdge' },
);

builder.queryFields((t) => {
  const authed = t.withAuth({ authenticated: true });
  return {
    connections: authed.field({
      type: McpConnectionConnection,
      nullable: true,
      description: 'The caller’s connections (all of the namespace for admins), newest first. Live ones unless `status` says otherwise.',
      args: {
        status: t.arg({ type: ConnectionStatus, description: 'Only this status. Default: every status but DISCONNECTED.' }),
        first: t.arg.int({ description: 'Page size, 1-100. @default 20' }),
        after: t.arg.string({ description: 'Cursor of the last item of the previous page.' }),
      },
      resolve: async (_root, args, { services, principal }) => {
        const window = pageWindow('connections', args);
        const page = await services.connections.list(principal, { ...(args.status ? { status: args.status } : {}), ...window });
        return toConnection('connections', page, window);
      },
    }),
    connection: authed.field({
      nullable: true,
      type: McpConnectionRef,
      description: 'One connection. AUTHORIZATION_ERROR when it belongs to someone else, CONNECTION_NOT_FOUND when it does not exist.',
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, args, { services, principal }) => services.connections.read(principal, args.id),
    }),
  };
});

const CreateConnectionInput = builder.inputType('CreateConnectionInput', {
  fields: (t) => ({
    serverName: t.string({ required: true, description: '1-100 of letters, digits, - and _; unique among the caller’s live connections.' }),
    url: t.string({ required: true, description: 'http(s) URL of the upstream MCP endpoint.' }),
    timeout: t.int({ description: 'Upstream timeout in seconds, 5-300. @default 30' }),
    headers: t.field({
      type: 'JSON',
      description: 'Object of HTTP headers sent upstream (e.g. authorization); stored encrypted, never returned.',
    }),
  }),
});

builder.mutationFields((t) => {
  const authed = t.withAuth({ authenticated: true });
  return {
    createConnection: authed.field({
      nullable: true,
      type: McpConnectionRef,
      description: 'Connects to an MCP server, lists its tools and stores both. Bucket mcp_create_connection.',
      args: { input: t.arg({ type: CreateConnectionInput, required: true }) },
      resolve: async (root, args, context, info) => {
        await context.drawRateLimit('mcp_create_connection', { parent: root, args, context, info });
        const command = createConnectionCommand(args.input);
        const created = await inArgumentTerms(context.services.connections.create(context.principal, command), CREATE_CONNECTION_FIELDS);
        return created.connection;
      },
    }),
    disconnect: authed.field({
      nullable: true,
      type: McpConnectionRef,
      description: 'Closes the upstream session; the connection becomes DISCONNECTED (idempotent). Bucket mcp_disconnect.',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (root, args, context, info) => {
        await context.drawRateLimit('mcp_disconnect', { parent: root, args, context, info });
        return context.services.connections.disconnect(context.principal, args.id);
      },
    }),
    refreshTools: authed.field({
      nullable: true,
      type: McpConnectionRef,
      description: 'Re-lists the tools from the upstream (EXTERNAL_SERVICE_ERROR when unreachable). Bucket mcp_discover_tools.',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (root, args, context, info) => {
        await context.drawRateLimit('mcp_discover_tools', { parent: root, args, context, info });
        const refreshed = await context.services.connections.discover(context.principal, args.id);
        return refreshed.connection;
      },
    }),
  };
});

builder.subscriptionField('connectionStatusChanged', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: McpConnectionRef,
    description:
      'Each status change of a connection the caller may read (its own; the whole namespace for admins). Ends with UNAUTHENTICATED or AUTHORIZATION_ERROR once the caller may no longer read them.',
    subscribe: (_root, _args, context) => {
      const queue = openEventQueue(context.services.events.pubsub.subscribe('namespace-connections', context.principal.namespace));
      const readable = authorisedEvents(queue, context, (current, event: ConnectionStatusPayload) => canManage(current, event));
      return withCleanup(readable, () => queue.close());
    },
    resolve: async (payload: ConnectionStatusPayload | AccessRevoked, _args, { services, principal }) => {
      const event = unlessRevoked(payload);
      const row = await services.connections.read(principal, event.connectionId);
      // The event's status is the one this notification is about, even if another change followed.
      return Object.assign(row, { status: event.status, errorMessage: event.errorMessage });
    },
  }),
);
