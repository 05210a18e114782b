import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { baseProperties } from './base.js';

/**
 * Where a tool stands with the namespace's reviewers: `approved` tools are
 * listed and callable; `quarantined` ones (changed since approval, flagged by
 * the description scan, or new under a cautious policy) and `rejected` ones
 * are neither, on any door.
 */
export const TOOL_REVIEW_STATES = ['approved', 'quarantined', 'rejected'] as const;
export type ToolReviewState = (typeof TOOL_REVIEW_STATES)[number];

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
    /** SHA-256 (hex) of the canonical definition listed; NULL for rows stored before pinning existed. */
    definitionHash: p.string().length(64).nullable(),
    reviewState: p.enum([...TOOL_REVIEW_STATES]).default('approved'),
    /** Why the tool is not approved (the scan's findings, "changed since approval", …). */
    reviewReasons: p.json<string[]>().nullable(),
  },
});

export type Tool = InferEntity<typeof ToolSchema>;
