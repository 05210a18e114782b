import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { baseProperties } from './base.js';

/**
 * The definition of a tool its namespace approved (or, when `pinnedHash` is
 * NULL, a tool seen but never approved). Kept apart from the catalogue, which
 * is replaced on every refresh, so a tool that disappears and comes back
 * changed is still caught.
 */
export const ToolPinSchema = defineEntity({
  name: 'ToolPin',
  tableName: 'tool_pins',
  uniques: [{ name: 'tool_pins_connection_tool_unique', properties: ['connectionId', 'toolName'] }],
  properties: {
    ...baseProperties,
    connectionId: p.uuid(),
    namespace: p.string().length(128),
    toolName: p.string().length(256),
    pinnedHash: p.string().length(64).nullable(),
    pinnedDefinition: p.json<Record<string, unknown>>().nullable(),
    /** The definition last rejected: listing it again keeps the tool rejected, without asking anew. */
    rejectedHash: p.string().length(64).nullable(),
  },
});

export type ToolPin = InferEntity<typeof ToolPinSchema>;
