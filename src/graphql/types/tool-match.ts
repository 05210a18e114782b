import type { ToolMatch } from '../../services/ports.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { requirePrincipal } from '../context.js';
import { connectionOf, McpConnectionRef } from './connection.js';
import { ToolRef } from './tool.js';

const toolKey = (connectionId: string, toolName: string) => `${connectionId}\u0000${toolName}`;

/** Catalogue rows for (connection, tool) keys in one query; a tool removed since indexing resolves to null. */
async function loadMatchedTools(keys: string[], context: GraphQLContext) {
  const connectionIds = [...new Set(keys.map((key) => key.split('\u0000')[0]!))];
  const tools = await context.services.connections.toolsOf(requirePrincipal(context), connectionIds);
  const byKey = new Map(tools.map((tool) => [toolKey(tool.connectionId, tool.name), tool]));
  return keys.map((key) => byKey.get(key) ?? null);
}

export const ToolMatchRef = builder.objectRef<ToolMatch>('ToolMatch').implement({
  description: 'A tool of one of the caller’s live connections, ranked by semantic similarity to a query.',
  authScopes: { authenticated: true },
  fields: (t) => ({
    connectionId: t.exposeID('connectionId'),
    connection: t.field({
      type: McpConnectionRef,
      resolve: (match, _args, context) => connectionOf(context, match.connectionId),
    }),
    tool: t.loadable({
      type: ToolRef,
      nullable: true,
      description: 'The matched tool from the stored catalogue (null if it disappeared since it was indexed).',
      loaderOptions: { cache: false },
      load: (keys: string[], context) => loadMatchedTools(keys, context),
      resolve: (match) => toolKey(match.connectionId, match.toolName),
    }),
    serverName: t.exposeString('serverName'),
    toolName: t.exposeString('toolName'),
    description: t.string({ nullable: true, resolve: (m) => m.description }),
    score: t.exposeFloat('score', { description: 'Similarity in [0, 1]; higher is better.' }),
  }),
});

builder.queryField('searchTools', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: [ToolMatchRef],
    nullable: true,
    description:
      'Semantic search over the caller’s live tools, best first. SERVICE_UNAVAILABLE when the vector store is down. Bucket mcp_discover_tools.',
    args: {
      query: t.arg.string({ required: true, description: 'What the tool should do, in plain words (1-1000 characters).' }),
      limit: t.arg.int({ description: 'Number of matches, 1-50. @default 10' }),
    },
    resolve: async (root, args, context, info) => {
      await context.drawRateLimit('mcp_discover_tools', { parent: root, args, context, info });
      // The domain's field names (query, limit) are this field's argument names.
      return context.services.toolSearch.search(context.principal, args.query, args.limit ?? undefined);
    },
  }),
);
