import type { Principal } from '../../auth/principal.js';
import { builder } from '../builder.js';
import type { AuthenticatedContext } from '../context.js';

/** What the API shows of an agent: its identity, never anything secret. */
export interface AgentModel {
  id: string;
  namespace: string;
  name: string;
  role: Principal['role'];
  status: 'active' | 'inactive';
}

export const AgentRole = builder.enumType('AgentRole', {
  values: {
    AGENT: { value: 'agent', description: 'Manages and executes its own connections.' },
    ADMIN: { value: 'admin', description: 'May also read, disconnect and cancel on every connection of its namespace.' },
  } as const,
});

export const AgentStatus = builder.enumType('AgentStatus', {
  values: { ACTIVE: { value: 'active' }, INACTIVE: { value: 'inactive' } } as const,
});

export const AgentRef = builder.objectRef<AgentModel>('Agent').implement({
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
    resolve: (_root, _args, context) => currentAgent(context),
  }),
);

async function currentAgent({ services, principal }: AuthenticatedContext): Promise<AgentModel> {
  const agent = await services.agents.findById(principal.agentId);
  // With authentication disabled (development/test only) the anonymous principal has no row.
  if (!agent) return { id: principal.agentId, namespace: principal.namespace, name: principal.agentId, role: principal.role, status: 'active' };
  return { id: agent.id, namespace: agent.namespace, name: agent.name, role: agent.role, status: agent.status };
}
