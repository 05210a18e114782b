import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const GOVERNANCE_ACTIONS = ['tool_approved', 'tool_rejected', 'policy_updated'] as const;
export type GovernanceAction = (typeof GOVERNANCE_ACTIONS)[number];

/** Who approved or rejected which tool definition, or changed the policy, and when. Append-only. */
export const GovernanceAuditSchema = defineEntity({
  name: 'GovernanceAudit',
  tableName: 'governance_audit',
  indexes: [{ name: 'governance_audit_namespace_created_index', properties: ['namespace', 'createdAt'] }],
  properties: {
    id: p.uuid().primary(),
    namespace: p.string().length(128),
    actorAgentId: p.string().length(128),
    action: p.enum([...GOVERNANCE_ACTIONS]),
    connectionId: p.uuid().nullable(),
    toolName: p.string().length(256).nullable(),
    /** The approved/rejected definition hash, or the policy as set. */
    details: p.json<Record<string, unknown>>(),
    createdAt: p.datetime(),
  },
});

export type GovernanceAudit = InferEntity<typeof GovernanceAuditSchema>;
