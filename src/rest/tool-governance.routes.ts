import type { FastifyInstance } from 'fastify';
import { parseOrThrow } from '../common/wire-parse.js';
import type { Services } from '../services/container.js';
import type { ToolReviewView } from '../services/tool-governance/tool-governance.js';
import { authenticate } from './guards.js';
import { requirePrincipal } from './request-context.js';
import { requireObject, toolDecisionBody } from './schemas.js';

type ToolParams = { id: string; tool_name: string };

/**
 * Tool governance over REST: an admin of the namespace approves or rejects a
 * held tool's definition (GraphQL has the same, plus the review list, the
 * policy and the audit).
 */
export function registerToolGovernanceRoutes(app: FastifyInstance, services: Services, base: string): void {
  const auth = authenticate(services);
  for (const decision of ['approve', 'reject'] as const) {
    app.post<{ Params: ToolParams }>(`${base}/connections/:id/tools/:tool_name/${decision}`, { onRequest: [auth] }, async (request) => {
      const principal = requirePrincipal(request.principal);
      const body = parseOrThrow(toolDecisionBody, requireObject(request.body ?? {}));
      const decide = decision === 'approve' ? services.governance.approve : services.governance.reject;
      const review = await decide.call(services.governance, principal, request.params.id, request.params.tool_name, body.definition_hash);
      return reviewView(review);
    });
  }
}

function reviewView(review: ToolReviewView) {
  return {
    connection_id: review.connectionId,
    tool_name: review.toolName,
    review_state: review.reviewState,
    definition_hash: review.definitionHash,
  };
}
