import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { baseProperties } from './base.js';

/** One tool of a connection's catalogue, as last listed from the upstream. */
export const ToolSchema = defineEntity({
  name: 'Tool',
  tableName: 'tools',
  uniques: [{ name: 'tools_connection_name_unique', properties: ['connectionId', 'name'] }],
  properties: {
    ...baseProperties,
    connectionId: p.uuid().index(),
    namespace: p.string().length(128),
    name: p.string().length(256),
    title: p.text().nullable(),
    description: p.text().nullable(),
    inputSchema: p.json<Record<string, unknown>>(),
    outputSchema: p.json<Record<string, unknown>>().nullable(),
    annotations: p.json<Record<string, unknown>>().nullable(),
    position: p.integer().default(0),
  },
});

export type Tool = InferEntity<typeof ToolSchema>;
