import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** A rule denying tools whose annotation has a value, for callers of the given roles. */
export interface AnnotationDenial {
  annotation: string;
  value: unknown;
  roles: string[];
}

/** A namespace's tool policy, set by its admins. A namespace without a row has the defaults (everything allowed). */
export const ToolPolicySchema = defineEntity({
  name: 'ToolPolicy',
  tableName: 'tool_policies',
  properties: {
    namespace: p.string().length(128).primary(),
    /** `server_name/tool` globs; empty = every tool. */
    allow: p.json<string[]>(),
    deny: p.json<string[]>(),
    denyAnnotations: p.json<AnnotationDenial[]>(),
    maxConnectionsPerAgent: p.integer().nullable(),
    quarantineNewTools: p.boolean().default(false),
    updatedBy: p.string().length(128),
    updatedAt: p.datetime(),
  },
});

export type ToolPolicy = InferEntity<typeof ToolPolicySchema>;
