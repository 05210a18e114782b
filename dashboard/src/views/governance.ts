import {
  GovernanceAdminDocument,
  GovernanceAuditListDocument,
  ToolPolicyViewDocument,
  ToolQuarantinedDocument,
  ToolReviewsOfDocument,
  type ToolPolicyFieldsFragment,
  type ToolReviewCardFragment,
} from '../../gql/graphql.js';
import type { ApiError } from '../api.js';
import type { View, ViewContext } from '../context.js';
import { h, notice, replace } from '../dom.js';
import { auditTable } from '../governance/audit.js';
import { policyForm, policySummary } from '../governance/policy.js';
import { reviewCard } from '../governance/reviews.js';

/**
 * Tool governance: the namespace's policy for every agent (read-only); for its
 * admins also the held tools to approve or reject (live: toolQuarantined),
 * the policy form and the audit.
 */
export const governanceView: View = async (context) => {
  if (context.me.role !== 'ADMIN') return agentView(context);
  return adminView(context);
};

async function agentView({ api, main }: ViewContext): Promise<void> {
  const { toolPolicy } = await api.request(ToolPolicyViewDocument);
  replace(
    main,
    h('h2', {}, `Tool governance of ${toolPolicy.namespace}`),
    h(
      'p',
      { class: 'notice info' },
      'Reviews of changed or suspicious tools and changes to this policy are for admins of the namespace. A tool held for review, or denied by this policy, does not appear in your tool lists until an admin allows it.',
    ),
    h('h3', {}, 'Policy'),
    policySummary(toolPolicy),
  );
}

async function adminView(context: ViewContext): Promise<void> {
  const { api, main } = context;
  const names = new Map<string, string>();
  const cards = new Map<string, HTMLElement>();
  const reviewList = h('div', { class: 'reviews' });
  const reviewStatus = h('div', { 'aria-live': 'polite' });
  const policyBox = h('div');
  const auditBox = h('div');
  const empty = h(
    'p',
    { class: 'empty' },
    'No tool is held for review. When an upstream changes a pinned tool, or lists one the scan flags, it appears here (live) for you to approve or reject.',
  );
  const showReviews = () => replace(reviewList, cards.size === 0 ? empty : null, ...cards.values());

  const refreshAudit = () =>
    api
      .request(GovernanceAuditListDocument)
      .then(({ governanceAudit }) =>
        replace(
          auditBox,
          auditTable(
            governanceAudit!.edges.map((e) => e.node),
            governanceAudit!.totalCount,
          ),
        ),
      )
      .catch((error: ApiError) => replace(auditBox, notice('error', error.message)));

  // A decision re-draws the card (REJECTED keeps it, with Approve still offered) or removes it (APPROVED).
  const upsert = (review: ToolReviewCardFragment) => {
    const key = `${review.connectionId}/${review.toolName}`;
    if (review.reviewState === 'APPROVED') cards.delete(key);
    else
      cards.set(
        key,
        reviewCard(
          context,
          review,
          names.get(review.connectionId) ?? review.connectionId,
          (decided, message) => {
            replace(reviewStatus, notice('ok', message));
            if (decided.reviewState === 'APPROVED') upsert(decided);
            else void reread(decided.connectionId, decided.toolName);
            void refreshAudit();
          },
          (message) => {
            replace(reviewStatus, notice('error', message));
            void reread(review.connectionId, review.toolName);
          },
        ),
      );
    showReviews();
  };

  // The full review (pinned side, diff, hash) is read from toolReviews: a live event carries none of it, and a
  // rejection's answer carries no pinned side.
  const reread = (connectionId: string, toolName: string) =>
    api
      .request(ToolReviewsOfDocument, { connectionId })
      .then(({ toolReviews }) => {
        const held = toolReviews!.find((r) => r.toolName === toolName);
        if (held) return upsert(held);
        cards.delete(`${connectionId}/${toolName}`); // decided meanwhile (another admin, another tab)
        showReviews();
      })
      .catch((error: ApiError) => replace(reviewStatus, notice('error', error.message)));

  const drawPolicy = (policy: ToolPolicyFieldsFragment) =>
    replace(
      policyBox,
      policySummary(policy),
      h(
        'details',
        { class: 'edit-policy' },
        h('summary', {}, 'Edit the policy'),
        policyForm(context, policy, (saved) => {
          drawPolicy(saved);
          void refreshAudit();
        }),
      ),
    );

  // Subscribe first, so a tool held while the page loads is not missed.
  context.onLeave(
    api.subscribe(
      ToolQuarantinedDocument,
      {},
      ({ toolQuarantined: event }) => {
        names.set(event.connectionId, event.serverName);
        void reread(event.connectionId, event.toolName);
      },
      (error) => replace(reviewStatus, notice('error', error.message)),
    ),
  );

  const data = await api.request(GovernanceAdminDocument);
  for (const { node } of data.connections!.edges) names.set(node.id, node.serverName);
  replace(
    main,
    h('h2', {}, `Tool governance of ${data.toolPolicy.namespace}`),
    h('h3', {}, 'Held for review'),
    reviewStatus,
    reviewList,
    h('h3', {}, 'Policy'),
    policyBox,
    h('h3', {}, 'Audit'),
    auditBox,
  );
  for (const review of data.toolReviews!) upsert(review);
  showReviews();
  drawPolicy(data.toolPolicy);
  replace(
    auditBox,
    auditTable(
      data.governanceAudit!.edges.map((e) => e.node),
      data.governanceAudit!.totalCount,
    ),
  );
}
