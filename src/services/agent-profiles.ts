import type { Principal } from '../auth/principal.js';
import type { AgentRepository } from '../db/repositories/agent.repository.js';

/** What the API shows of an agent: its identity, never anything secret. */
export interface AgentProfile {
  id: string;
  namespace: string;
  name: string;
  role: Principal['role'];
  status: 'active' | 'inactive';
}

/** Reads agents as the doors may show them. */
export class AgentProfileService {
  constructor(private readonly agents: Pick<AgentRepository, 'findById'>) {}

  /** The caller's own profile; only ever its own, so it needs no other check. */
  async profileOf(principal: Principal): Promise<AgentProfile> {
    const agent = await this.agents.findById(principal.agentId);
    // With authentication disabled (development/test only) the anonymous principal has no row.
    if (!agent) {
      return { id: principal.agentId, namespace: principal.namespace, name: principal.agentId, role: principal.role, status: 'active' };
    }
    return { id: agent.id, namespace: agent.namespace, name: agent.name, role: agent.role, status: agent.status };
  }
}
