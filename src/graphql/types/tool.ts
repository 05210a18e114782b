import type { Tool } from '../../services/domain.js';
import { builder } from '../builder.js';

export const ToolRef = builder.objectRef<Tool>('Tool').implement({
  description: 'One tool of a connection’s catalogue, as last listed from the upstream MCP server.',
  authScopes: { authenticated: true },
  fields: (t) => ({
    name: t.exposeString('name'),
    title: t.string({ nullable: true, resolve: (tool) => tool.title ?? null }),
    description: t.string({ nullable: true, resolve: (tool) => tool.description ?? null }),
    inputSchema: t.field({ type: 'JSON', description: 'JSON Schema of the arguments.', resolve: (tool) => tool.inputSchema }),
    outputSchema: t.field({ type: 'JSON', nullable: true, resolve: (tool) => tool.outputSchema ?? null }),
    annotations: t.field({ type: 'JSON', nullable: true, resolve: (tool) => tool.annotations ?? null }),
  }),
});
