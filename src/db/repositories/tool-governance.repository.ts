import { randomUUID } from 'node:crypto';
import type { EntityManager, FilterQuery, Transaction } from '@mikro-orm/core';
import type { Principal } from '../../auth/principal.js';
import { canonicalDefinition } from '../../common/tool-definition.js';
import { ToolNotFoundError, ToolNotQuarantinedError } from '../../errors/index.js';
import {
  GovernanceAuditSchema,
  McpConnectionSchema,
  ToolPinSchema,
  ToolPolicySchema,
  ToolSchema,
  type GovernanceAction,
  type GovernanceAudit,
  type Tool,
  type ToolPin,
  type ToolPolicy,
} from '../entities/index.js';
import { findPage, type Page, type PageRequest } from './find-page.js';

export interface PolicyValues {
  allow: string[];
  deny: string[];
  denyAnnotations: ToolPolicy['denyAnnotations'];
  maxConnectionsPerAgent: number | null;
  quarantineNewTools: boolean;
}

/** A tool held back from use, with what was approved before (if anything). */
export interface HeldTool {
  tool: Tool;
  pin: ToolPin | null;
}

export interface ToolDecision {
  connectionId: string;
  toolName: string;
  decision: 'approve' | 'reject';
  /** When given, the decision applies only if the held definition still has this hash. */
  expectedHash?: string;
}

export interface AuditQuery extends PageRequest {
  action?: GovernanceAction;
}

/**
 * Pins, policies and the governance audit of one namespace. Every method
 * takes the verified principal; role checks (admin only) are the service's.
 * Writes are native operations in explicit transactions, like the
 * connection repository's (no flush, no AsyncLocalStorage).
 */
export class ToolGovernanceRepository {
  constructor(private readonly em: EntityManager) {}

  async policy(principal: Principal): Promise<ToolPolicy | null> {
    return this.em.fork().findOne(ToolPolicySchema, { namespace: principal.namespace });
  }

  /** Stores the namespace's policy and its audit entry in one transaction. */
  async savePolicy(principal: Principal, values: PolicyValues): Promise<ToolPolicy> {
    return this.inTransaction(async (em, ctx) => {
      const row = { namespace: principal.namespace, ...values, updatedBy: principal.agentId, updatedAt: new Date() };
      const existing = await em.findOne(ToolPolicySchema, { namespace: principal.namespace }, { ctx });
      if (existing) await em.nativeUpdate(ToolPolicySchema, { namespace: principal.namespace }, row, { ctx });
      else await em.insert(ToolPolicySchema, row, { ctx });
      await this.record(em, ctx, principal, 'policy_updated', { policy: values });
      return em.create(ToolPolicySchema, row, { persist: false });
    });
  }

  /** Tools of the namespace not approved, oldest catalogue first; optionally of one connection. */
  async heldTools(principal: Principal, connectionId?: string): Promise<HeldTool[]> {
    const em = this.em.fork();
    const where: FilterQuery<Tool> = { namespace: principal.namespace, reviewState: { $ne: 'approved' } };
    const live = await em.find(
      McpConnectionSchema,
      { namespace: principal.namespace, status: { $in: ['active', 'error'] } },
      { fields: ['id'] },
    );
    where.connectionId =
      connectionId === undefined ? { $in: live.map((c) => c.id) } : live.some((c) => c.id === connectionId) ? connectionId : { $in: [] };
    const tools = await em.find(ToolSchema, where, { orderBy: { connectionId: 'asc', position: 'asc' }, limit: 500 });
    if (tools.length === 0) return [];
    const pins = await em.find(ToolPinSchema, {
      namespace: principal.namespace,
      connectionId: { $in: [...new Set(tools.map((t) => t.connectionId))] },
    });
    const pinOf = new Map(pins.map((pin) => [`${pin.connectionId}\u0000${pin.toolName}`, pin]));
    return tools.map((tool) => ({ tool, pin: pinOf.get(`${tool.connectionId}\u0000${tool.name}`) ?? null }));
  }

  /**
   * Approves (pins the held definition) or rejects (remembers it as refused)
   * a held tool, and records who did it, in one transaction that takes the
   * connection's row lock first, like a catalogue refresh.
   */
  async decide(principal: Principal, decision: ToolDecision): Promise<Tool> {
    return this.inTransaction(async (em, ctx) => {
      const { connectionId, toolName } = decision;
      await em.getConnection().execute('update mcp_connections set id = id where id = ?', [connectionId], 'run', ctx);
      const tool = await em.findOne(ToolSchema, { namespace: principal.namespace, connectionId, name: toolName }, { ctx });
      if (!tool) throw new ToolNotFoundError(toolName, connectionId);
      if (tool.reviewState === 'approved') throw new ToolNotQuarantinedError(toolName, connectionId);
      if (decision.expectedHash !== undefined && decision.expectedHash !== tool.definitionHash) {
        throw new ToolNotQuarantinedError(toolName, connectionId, `Tool '${toolName}' changed again since that definition was shown`);
      }
      const hash = tool.definitionHash ?? null;
      const pinChanges =
        decision.decision === 'approve'
          ? { pinnedHash: hash, pinnedDefinition: canonicalDefinition(tool), rejectedHash: null }
          : { rejectedHash: hash };
      await this.upsertPin(em, ctx, principal, tool, pinChanges);
      const toolChanges =
        decision.decision === 'approve'
          ? { reviewState: 'approved' as const, reviewReasons: null }
          : { reviewState: 'rejected' as const, reviewReasons: ['this definition was rejected by an admin'] };
      await em.nativeUpdate(ToolSchema, { id: tool.id }, { ...toolChanges, updatedAt: new Date() }, { ctx });
      const action = decision.decision === 'approve' ? 'tool_approved' : 'tool_rejected';
      await this.record(em, ctx, principal, action, { definition_hash: hash }, { connectionId, toolName });
      return Object.assign(tool, toolChanges);
    });
  }

  /** The namespace's governance audit, newest first. */
  async audit(principal: Principal, query: AuditQuery): Promise<Page<GovernanceAudit>> {
    const where: FilterQuery<GovernanceAudit> = { namespace: principal.namespace };
    if (query.action) where.action = query.action;
    return findPage(this.em.fork(), GovernanceAuditSchema, where, 'createdAt', query);
  }

  private async upsertPin(
    em: EntityManager,
    ctx: Transaction<unknown>,
    principal: Principal,
    tool: Tool,
    changes: Partial<Pick<ToolPin, 'pinnedHash' | 'pinnedDefinition' | 'rejectedHash'>>,
  ): Promise<void> {
    const where = { namespace: principal.namespace, connectionId: tool.connectionId, toolName: tool.name };
    const now = new Date();
    const updated = await em.nativeUpdate(ToolPinSchema, where, { ...changes, updatedAt: now }, { ctx });
    if (updated > 0) return;
    const pin = { pinnedHash: null, pinnedDefinition: null, rejectedHash: null, ...changes };
    await em.insert(ToolPinSchema, { id: randomUUID(), createdAt: now, updatedAt: now, ...where, ...pin }, { ctx });
  }

  private async record(
    em: EntityManager,
    ctx: Transaction<unknown>,
    principal: Principal,
    action: GovernanceAction,
    details: Record<string, unknown>,
    subject: { connectionId?: string; toolName?: string } = {},
  ): Promise<void> {
    await em.insert(
      GovernanceAuditSchema,
      {
        id: randomUUID(),
        namespace: principal.namespace,
        actorAgentId: principal.agentId,
        action,
        connectionId: subject.connectionId ?? null,
        toolName: subject.toolName ?? null,
        details,
        createdAt: new Date(),
      },
      { ctx },
    );
  }

  private async inTransaction<T>(work: (em: EntityManager, ctx: Transaction<unknown>) => Promise<T>): Promise<T> {
    const em = this.em.fork();
    const connection = em.getConnection();
    const ctx: Transaction<unknown> = await connection.begin();
    try {
      const result = await work(em, ctx);
      await connection.commit(ctx);
      return result;
    } catch (error) {
      await connection.rollback(ctx).catch(() => undefined);
      throw error;
    }
  }
}

/**
 * Counts for the `mcp_tools_quarantined` gauge: the gateway's own reading
 * across namespaces, kept apart from the request-facing repository.
 */
export class GovernanceStatistics {
  constructor(private readonly em: EntityManager) {}

  /** Quarantined tools of live connections (a disconnected connection's catalogue is only a record). */
  async countQuarantined(): Promise<number> {
    const em = this.em.fork();
    // Quarantined rows are few (each waits for a person), so reading them is cheaper than a join is to write portably.
    const held = await em.find(ToolSchema, { reviewState: 'quarantined' }, { fields: ['connectionId'] });
    if (held.length === 0) return 0;
    const ids = [...new Set(held.map((tool) => tool.connectionId))];
    const live = await em.find(McpConnectionSchema, { id: { $in: ids }, status: { $in: ['active', 'error'] } }, { fields: ['id'] });
    const liveIds = new Set(live.map((row) => row.id));
    return held.filter((tool) => liveIds.has(tool.connectionId)).length;
  }
}
