import type { EntityManager } from '@mikro-orm/core';
import type { AgentLookup } from '../../auth/agent-lookup.js';
import { AgentSchema, type Agent } from '../entities/index.js';

export interface AgentInput {
  id: string;
  namespace: string;
  name: string;
  role: Agent['role'];
  status: Agent['status'];
}

/**
 * Agents are the one table read without a principal: this is where the
 * principal comes from (authentication) and where operators create them (CLI).
 */
export class AgentRepository implements AgentLookup {
  constructor(private readonly em: EntityManager) {}

  async findById(id: string): Promise<Agent | null> {
    return this.em.fork().findOne(AgentSchema, { id });
  }

  /** True once any agent exists: start-up names the command that creates the first one otherwise. */
  async hasAny(): Promise<boolean> {
    return (await this.em.fork().count(AgentSchema, {})) > 0;
  }

  /** Creates the agent or updates it in place (the CLI is idempotent). */
  async upsert(input: AgentInput): Promise<Agent> {
    const em = this.em.fork();
    const existing = await em.findOne(AgentSchema, { id: input.id });
    if (existing) {
      em.assign(existing, { namespace: input.namespace, name: input.name, role: input.role, status: input.status });
      await em.flush();
      return existing;
    }
    const agent = em.create(AgentSchema, input);
    await em.flush();
    return agent;
  }
}
