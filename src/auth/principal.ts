/**
 * The verified caller. Built only from the database after the token checks out;
 * never from the token's claims or the request body. Every repository method
 * takes one, so an unscoped query cannot be written.
 */
export type AgentRole = 'agent' | 'admin';

export interface Principal {
  readonly agentId: string;
  readonly namespace: string;
  readonly role: AgentRole;
}

/** Whether `principal` may read or manage a resource owned by `ownerAgentId` in `namespace`. */
export function canManage(principal: Principal, resource: { namespace: string; agentId: string }): boolean {
  if (resource.namespace !== principal.namespace) return false;
  return resource.agentId === principal.agentId || principal.role === 'admin';
}

/** Executing a tool is reserved to the connection's owner, even for admins (SPEC §3). */
export function canExecute(principal: Principal, resource: { namespace: string; agentId: string }): boolean {
  return resource.namespace === principal.namespace && resource.agentId === principal.agentId;
}
