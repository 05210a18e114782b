import type { Principal } from '../../auth/principal.js';
import { LoadingCache } from '../../common/loading-cache.js';
import type { GovernanceAudit, McpConnection, Tool, ToolReviewState } from '../../db/entities/index.js';
import type { CatalogueReviewer, ConnectionRepository } from '../../db/repositories/connection.repository.js';
import type { Page } from '../../db/repositories/find-page.js';
import type { AuditQuery, ToolGovernanceRepository } from '../../db/repositories/tool-governance.repository.js';
import { AuthorizationError, ToolDeniedError, ToolQuarantinedError } from '../../errors/index.js';
import type { EventBus } from '../event-bus.js';
import { assessTools, reviewCatalogue, type CatalogueReview } from './catalogue-review.js';
import { canonicalDefinition, type ToolDefinition } from '../../common/tool-definition.js';
import { definitionDiff } from './definition-diff.js';
import { DEFAULT_TOOL_POLICY, policyDenial, validateToolPolicy, type ToolPolicyInput, type ToolPolicyRules } from './tool-policy.js';

/**
 * How long a namespace's policy read from the database is trusted. This
 * instance drops it at once when its admins change it; the TTL bounds how long
 * another instance takes to follow.
 */
export const POLICY_TTL_MS = 5_000;

/** Whether a caller may list and call a tool, and if not, the error a call gets. */
export type ToolVerdict = { usable: true } | { usable: false; error: ToolQuarantinedError | ToolDeniedError };

/** The verdicts for one caller, with its namespace's policy loaded: synchronous, for filtering lists. */
export type VerdictFor = (connection: Pick<McpConnection, 'id' | 'serverName'>, tool: Tool) => ToolVerdict;

export interface ToolPolicyView extends ToolPolicyRules {
  namespace: string;
  updatedBy: string | null;
  updatedAt: Date | null;
}

/** A held tool as its reviewers see it: what was approved, what the upstream lists now, and the difference. */
export interface ToolReviewView {
  connectionId: string;
  toolName: string;
  reviewState: ToolReviewState;
  reasons: string[];
  definitionHash: string | null;
  pinnedHash: string | null;
  pinnedDefinition: Record<string, unknown> | null;
  currentDefinition: Record<string, unknown>;
  diff: string;
}

export interface ToolGovernanceDeps {
  repository: ToolGovernanceRepository;
  connections: Pick<ConnectionRepository, 'findReadable'>;
  events: EventBus;
  /** Called after a decision, so cached catalogues (the execute path's) see it at once. */
  onCatalogueDecided: (connectionId: string, namespace: string, ownerAgentId: string) => void;
}

/**
 * Tool governance: pins, the description scan, the namespace policy and its
 * audit. Every door asks the same two questions here — may this caller see
 * and call this tool (`verdicts`), and how is a fresh listing reviewed
 * (`reviewer`) — so what is listed is exactly what is callable.
 */
export class ToolGovernance {
  private readonly policies = new LoadingCache<string, ToolPolicyView>(POLICY_TTL_MS);

  constructor(private readonly deps: ToolGovernanceDeps) {}

  /** The namespace's policy (the defaults when none was set). Readable by every agent of the namespace. */
  policy(principal: Principal): Promise<ToolPolicyView> {
    return this.policies.get(principal.namespace, async () => {
      const row = await this.deps.repository.policy(principal);
      if (!row) return { ...DEFAULT_TOOL_POLICY, namespace: principal.namespace, updatedBy: null, updatedAt: null };
      return {
        namespace: row.namespace,
        allow: row.allow,
        deny: row.deny,
        denyAnnotations: row.denyAnnotations,
        maxConnectionsPerAgent: row.maxConnectionsPerAgent ?? null,
        quarantineNewTools: row.quarantineNewTools,
        updatedBy: row.updatedBy,
        updatedAt: row.updatedAt,
      };
    });
  }

  /** Replaces the namespace's policy (admins only); recorded in the audit. Unset fields take their defaults. */
  async setPolicy(principal: Principal, input: ToolPolicyInput): Promise<ToolPolicyView> {
    requireAdmin(principal);
    const rules = validateToolPolicy(input);
    const row = await this.deps.repository.savePolicy(principal, rules);
    this.policies.delete(principal.namespace);
    this.deps.events.pubsub.publish('namespace-catalogue', principal.namespace, { connectionId: '', agentId: '*' });
    return { ...rules, namespace: row.namespace, updatedBy: row.updatedBy, updatedAt: row.updatedAt };
  }

  /** The verdict function for `principal`: review state first (TOOL_QUARANTINED), then the policy (TOOL_DENIED). */
  async verdicts(principal: Principal): Promise<VerdictFor> {
    const policy = await this.policy(principal);
    return (connection, tool) => {
      if (tool.reviewState !== 'approved') {
        return { usable: false, error: new ToolQuarantinedError(tool.name, connection.id, tool.reviewState, tool.reviewReasons ?? []) };
      }
      const denial = policyDenial(policy, principal.role, connection.serverName, tool);
      return denial === null ? { usable: true } : { usable: false, error: new ToolDeniedError(tool.name, connection.id, denial) };
    };
  }

  /** The tools of `connection` that `principal` may list and call. */
  async usableTools(principal: Principal, connection: Pick<McpConnection, 'id' | 'serverName'>, tools: Tool[]): Promise<Tool[]> {
    const verdictOf = await this.verdicts(principal);
    return tools.filter((tool) => verdictOf(connection, tool).usable);
  }

  /**
   * How a fresh listing of a connection owned by `owner` is reviewed against
   * its pins. `firstDiscovery` is the connection's creation: its tools are
   * what its owner chose to connect, and are pinned as listed (unless flagged).
   */
  async reviewer(
    owner: Principal,
    tools: readonly ToolDefinition[],
    firstDiscovery: boolean,
  ): Promise<CatalogueReviewer & { result?: CatalogueReview }> {
    const [{ quarantineNewTools }, incoming] = await Promise.all([this.policy(owner), assessTools(tools)]);
    const review: CatalogueReviewer & { result?: CatalogueReview } = (known) => {
      review.result = reviewCatalogue({ incoming, ...known, firstDiscovery, quarantineNewTools });
      return review.result;
    };
    return review;
  }

  /** Tells the namespace's reviewers (toolQuarantined subscribers) what a refresh held back. */
  announce(connection: McpConnection, stored: Tool[], newlyQuarantined: readonly string[]): void {
    const held = new Set(newlyQuarantined);
    for (const tool of stored.filter((t) => held.has(t.name))) {
      this.deps.events.pubsub.publish('namespace-tool-quarantined', connection.namespace, {
        connectionId: connection.id,
        agentId: connection.agentId,
        serverName: connection.serverName,
        toolName: tool.name,
        reasons: tool.reviewReasons ?? [],
        at: new Date().toISOString(),
      });
    }
  }

  /** Held tools of the namespace (or of one connection), with pinned and new definitions and their diff. Admins only. */
  async pendingReviews(principal: Principal, connectionId?: string): Promise<ToolReviewView[]> {
    requireAdmin(principal);
    if (connectionId !== undefined) await this.deps.connections.findReadable(principal, connectionId);
    const held = await this.deps.repository.heldTools(principal, connectionId);
    return held.map(({ tool, pin }) => reviewView(tool, pin?.pinnedHash ?? null, pin?.pinnedDefinition ?? null));
  }

  /** Pins the held definition: the tool is listed and callable again on every door. Admins of the namespace only. */
  approve(principal: Principal, connectionId: string, toolName: string, expectedHash?: string): Promise<ToolReviewView> {
    return this.decide(principal, connectionId, toolName, 'approve', expectedHash);
  }

  /** Refuses the held definition: the tool stays unusable until the upstream lists the pinned one again. */
  reject(principal: Principal, connectionId: string, toolName: string, expectedHash?: string): Promise<ToolReviewView> {
    return this.decide(principal, connectionId, toolName, 'reject', expectedHash);
  }

  /** The namespace's approvals, rejections and policy changes, newest first. Admins only. */
  async audit(principal: Principal, query: AuditQuery): Promise<Page<GovernanceAudit>> {
    requireAdmin(principal);
    return this.deps.repository.audit(principal, query);
  }

  private async decide(
    principal: Principal,
    connectionId: string,
    toolName: string,
    decision: 'approve' | 'reject',
    expectedHash?: string,
  ): Promise<ToolReviewView> {
    requireAdmin(principal);
    // 404 / 403 exactly as for any other read of a connection: another namespace's admin learns nothing more.
    const connection = await this.deps.connections.findReadable(principal, connectionId);
    const tool = await this.deps.repository.decide(principal, {
      connectionId,
      toolName,
      decision,
      ...(expectedHash !== undefined ? { expectedHash } : {}),
    });
    this.deps.onCatalogueDecided(connectionId, connection.namespace, connection.agentId);
    if (decision === 'approve') return reviewView(tool, tool.definitionHash ?? null, canonicalDefinition(tool));
    // A rejected tool stays held against its old pin: answer with the same view toolReviews gives.
    const held = (await this.deps.repository.heldTools(principal, connectionId)).find((entry) => entry.tool.name === toolName);
    return reviewView(tool, held?.pin?.pinnedHash ?? null, held?.pin?.pinnedDefinition ?? null);
  }
}

/** What an admin reviews of one tool: its state and reasons, the pinned and current definitions and their diff. */
function reviewView(tool: Tool, pinnedHash: string | null, pinnedDefinition: ToolReviewView['pinnedDefinition']): ToolReviewView {
  return {
    connectionId: tool.connectionId,
    toolName: tool.name,
    reviewState: tool.reviewState,
    reasons: tool.reviewReasons ?? [],
    definitionHash: tool.definitionHash ?? null,
    pinnedHash,
    pinnedDefinition,
    currentDefinition: canonicalDefinition(tool),
    diff: definitionDiff(pinnedDefinition, tool),
  };
}

function requireAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new AuthorizationError('Only an admin of the namespace may review tools and set the tool policy');
}
