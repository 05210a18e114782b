import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const AGENT_ROLES = ['agent', 'admin'] as const;
export const AGENT_STATUSES = ['active', 'inactive'] as const;

/** An AI agent. Its namespace and role are authoritative here, never in a token. */
export const AgentSchema = defineEntity({
  name: 'Agent',
  tableName: 'agents',
  properties: {
    id: p.string().length(128).primary(),
    namespace: p.string().length(128).index(),
    name: p.string().length(200),
    role: p.enum([...AGENT_ROLES]).default('agent'),
    status: p.enum([...AGENT_STATUSES]).default('active'),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});

export type Agent = InferEntity<typeof AgentSchema>;
