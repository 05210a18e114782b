import type { AgentRole } from './principal.js';

/** What authentication needs to know of an agent; the database record is authoritative. */
export interface AgentRecord {
  readonly id: string;
  readonly namespace: string;
  readonly role: AgentRole;
  readonly status: 'active' | 'inactive';
}

/**
 * The port through which `auth/` reads agents. Declared here and implemented
 * by the agent repository, so `auth/` never imports `db/` (which imports the
 * Principal from here).
 */
export interface AgentLookup {
  findById(id: string): Promise<AgentRecord | null>;
}
