import type { AgentProfile } from '../../services/agent-profiles.js';
import { builder } from '../builder.js';

export const AgentRole = builder.enumType('AgentRole', {
  values: {
    AGENT: { value: 'agent', description: 'Manages and executes its own connections.' },
    ADMIN: { value: 'admin', description: 'May also read, disconnect and cancel on every connection of its namespace.' },
  } as const,
});

export const AgentStatus = builder.enumType('AgentStatus', {
  values: { ACTIVE: { value: 'active' }, INACTIVE: { value: 'inactive' } } as const,
});

export const AgentRef = builder.objectRef<AgentProfile>('Agent').implement({
  description: 'An AI agent. Namespace and role are read from the database, never from the token.',
  authScopes: { authenticated: true },
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The agent id (the token subject): 1-128 of letters, digits, . _ : @ -.' }),
    namespace: t.exposeString('namespace'),
    name: t.exposeString('name'),
    role: t.expose('role', { type: AgentRole }),
    status: t.expose('status', { type: AgentStatus }),
  }),
});

builder.queryField('me', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: AgentRef,
    description: 'The authenticated agent.',
    resolve: (_root, _args, { services, principal }) => services.agentProfiles.profileOf(principal),
  }),
);
