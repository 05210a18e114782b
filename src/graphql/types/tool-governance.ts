import { GOVERNANCE_ACTIONS, TOOL_REVIEW_STATES, type AnnotationDenial, type GovernanceAudit } from '../../services/domain.js';
import type { ToolQuarantinedPayload } from '../../services/event-bus.js';
import type { ToolPolicyView, ToolReviewView } from '../../services/tool-governance/tool-governance.js';
import { builder } from '../builder.js';
import { openEventQueue, withCleanup } from '../event-stream.js';
import { pageWindow, toConnection } from '../pagination.js';
import { authorisedEvents, unlessRevoked, type AccessRevoked } from '../subscription-access.js';

const ToolReviewState = builder.enumType('ToolReviewState', {
  values: Object.fromEntries(TOOL_REVIEW_STATES.map((state) => [state.toUpperCase(), { value: state }])) as Record<
    Uppercase<(typeof TOOL_REVIEW_STATES)[number]>,
    { value: (typeof TOOL_REVIEW_STATES)[number] }
  >,
  description: 'APPROVED tools are listed and callable; QUARANTINED and REJECTED ones are neither, on any door.',
});

const GovernanceAction = builder.enumType('GovernanceAction', {
  values: Object.fromEntries(GOVERNANCE_ACTIONS.map((action) => [action.toUpperCase(), { value: action }])) as Record<
    Uppercase<(typeof GOVERNANCE_ACTIONS)[number]>,
    { value: (typeof GOVERNANCE_ACTIONS)[number] }
  >,
});

const ToolReviewRef = builder.objectRef<ToolReviewView>('ToolReview').implement({
  description: 'A tool held back from use, as its reviewers see it.',
  fields: (t) => ({
    connectionId: t.exposeID('connectionId'),
    toolName: t.exposeString('toolName'),
    reviewState: t.expose('reviewState', { type: ToolReviewState }),
    reasons: t.exposeStringList('reasons', { description: 'Why it is held: the scan’s findings, a changed definition, a new tool.' }),
    definitionHash: t.string({
      nullable: true,
      description: 'SHA-256 of the definition listed now; pass it to approve exactly this one.',
      resolve: (r) => r.definitionHash,
    }),
    pinnedHash: t.string({
      nullable: true,
      description: 'SHA-256 of the approved definition; null if never approved.',
      resolve: (r) => r.pinnedHash,
    }),
    pinnedDefinition: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The approved definition.',
      resolve: (r) => r.pinnedDefinition,
    }),
    currentDefinition: t.field({
      type: 'JSON',
      description: 'The definition the upstream lists now.',
      resolve: (r) => r.currentDefinition,
    }),
    diff: t.exposeString('diff', { description: 'Line diff, pinned → current: "- " removed, "+ " added, "…" unchanged lines skipped.' }),
  }),
});

const AnnotationDenialRef = builder.objectRef<AnnotationDenial>('AnnotationDenial').implement({
  fields: (t) => ({
    annotation: t.exposeString('annotation'),
    value: t.field({ type: 'JSON', resolve: (r) => r.value }),
    roles: t.exposeStringList('roles'),
  }),
});

const ToolPolicyRef = builder.objectRef<ToolPolicyView>('ToolPolicy').implement({
  description: 'The namespace’s tool policy. Applies alike to listing, calling, search and /mcp.',
  fields: (t) => ({
    namespace: t.exposeString('namespace'),
    allow: t.exposeStringList('allow', { description: '`server_name/tool` globs (`*`, `?`); empty = every tool.' }),
    deny: t.exposeStringList('deny', { description: '`server_name/tool` globs; deny wins over allow.' }),
    denyAnnotations: t.field({ type: [AnnotationDenialRef], resolve: (p) => p.denyAnnotations }),
    maxConnectionsPerAgent: t.int({ nullable: true, resolve: (p) => p.maxConnectionsPerAgent }),
    quarantineNewTools: t.exposeBoolean('quarantineNewTools', {
      description: 'New tools of a known connection wait for approval. @default false',
    }),
    updatedBy: t.string({ nullable: true, resolve: (p) => p.updatedBy }),
    updatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (p) => p.updatedAt }),
  }),
});

const GovernanceAuditRef = builder.objectRef<GovernanceAudit>('GovernanceAuditEntry').implement({
  description: 'One approval, rejection or policy change: who, when, what.',
  fields: (t) => ({
    id: t.exposeID('id'),
    action: t.expose('action', { type: GovernanceAction }),
    actorAgentId: t.exposeString('actorAgentId'),
    connectionId: t.string({ nullable: true, resolve: (r) => r.connectionId ?? null }),
    toolName: t.string({ nullable: true, resolve: (r) => r.toolName ?? null }),
    details: t.field({ type: 'JSON', description: 'The definition hash decided on, or the policy as set.', resolve: (r) => r.details }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
  }),
});

const GovernanceAuditConnection = builder.connectionObject(
  { type: GovernanceAuditRef, name: 'GovernanceAuditConnection' },
  { name: 'GovernanceAuditEdge' },
);

const ToolQuarantinedEventRef = builder.objectRef<ToolQuarantinedPayload>('ToolQuarantinedEvent').implement({
  fields: (t) => ({
    connectionId: t.exposeID('connectionId'),
    serverName: t.exposeString('serverName'),
    agentId: t.exposeString('agentId', { description: 'The connection’s owner.' }),
    toolName: t.exposeString('toolName'),
    reasons: t.exposeStringList('reasons'),
    at: t.field({ type: 'DateTime', resolve: (event) => new Date(event.at) }),
  }),
});

builder.queryFields((t) => ({
  toolReviews: t.withAuth({ admin: true }).field({
    type: [ToolReviewRef],
    nullable: true,
    description: 'Admins: the namespace’s held tools (or one connection’s), with pinned and current definitions and their diff.',
    args: { connectionId: t.arg.id() },
    resolve: (_root, args, { services, principal }) => services.governance.pendingReviews(principal, args.connectionId ?? undefined),
  }),
  toolPolicy: t.withAuth({ authenticated: true }).field({
    type: ToolPolicyRef,
    description: 'The namespace’s tool policy (the defaults until an admin sets one).',
    resolve: (_root, _args, { services, principal }) => services.governance.policy(principal),
  }),
  governanceAudit: t.withAuth({ admin: true }).field({
    type: GovernanceAuditConnection,
    nullable: true,
    description: 'Admins: approvals, rejections and policy changes of the namespace, newest first.',
    args: {
      action: t.arg({ type: GovernanceAction }),
      first: t.arg.int({ description: 'Page size, 1-100. @default 20' }),
      after: t.arg.string(),
    },
    resolve: async (_root, args, { services, principal }) => {
      const window = pageWindow('governanceAudit', args);
      const page = await services.governance.audit(principal, { ...window, ...(args.action ? { action: args.action } : {}) });
      return toConnection('governanceAudit', page, window);
    },
  }),
}));

const AnnotationDenialInput = builder.inputType('AnnotationDenialInput', {
  fields: (t) => ({
    annotation: t.string({ required: true, description: 'e.g. destructiveHint' }),
    value: t.field({ type: 'JSON', required: true, description: 'The value that denies, e.g. true.' }),
    roles: t.stringList({ required: true, description: 'Roles denied: agent, admin.' }),
  }),
});

const ToolPolicyInput = builder.inputType('ToolPolicyInput', {
  description: 'A whole policy: fields left out take their defaults.',
  fields: (t) => ({
    allow: t.stringList(),
    deny: t.stringList(),
    denyAnnotations: t.field({ type: [AnnotationDenialInput] }),
    maxConnectionsPerAgent: t.int(),
    quarantineNewTools: t.boolean(),
  }),
});

builder.mutationFields((t) => {
  const admin = t.withAuth({ admin: true });
  const decisionArgs = {
    connectionId: t.arg.id({ required: true }),
    toolName: t.arg.string({ required: true }),
    definitionHash: t.arg.string({
      description: 'Decide only if the held definition still has this hash (TOOL_NOT_QUARANTINED otherwise).',
    }),
  };
  return {
    approveToolChange: admin.field({
      nullable: true,
      type: ToolReviewRef,
      description: 'Admins of the namespace: pin the held definition; the tool is listed and callable again.',
      args: decisionArgs,
      resolve: (_root, args, { services, principal }) =>
        services.governance.approve(principal, args.connectionId, args.toolName, args.definitionHash ?? undefined),
    }),
    rejectToolChange: admin.field({
      nullable: true,
      type: ToolReviewRef,
      description:
        'Admins of the namespace: refuse the held definition; the tool stays unusable until the upstream lists the pinned one again.',
      args: decisionArgs,
      resolve: (_root, args, { services, principal }) =>
        services.governance.reject(principal, args.connectionId, args.toolName, args.definitionHash ?? undefined),
    }),
    setToolPolicy: admin.field({
      nullable: true,
      type: ToolPolicyRef,
      description: 'Admins: replace the namespace’s tool policy (recorded in the governance audit).',
      args: { input: t.arg({ type: ToolPolicyInput, required: true }) },
      resolve: (_root, args, { services, principal }) => services.governance.setPolicy(principal, args.input),
    }),
  };
});

builder.subscriptionField('toolQuarantined', (t) =>
  t.withAuth({ admin: true }).field({
    type: ToolQuarantinedEventRef,
    description:
      'Admins: each tool a refresh held back in the namespace. Ends with AUTHORIZATION_ERROR once the caller is no longer its admin.',
    subscribe: (_root, _args, context) => {
      const queue = openEventQueue(context.services.events.pubsub.subscribe('namespace-tool-quarantined', context.principal.namespace));
      const readable = authorisedEvents(queue, context, (current) => current.role === 'admin');
      return withCleanup(readable, () => queue.close());
    },
    resolve: (payload: ToolQuarantinedPayload | AccessRevoked) => unlessRevoked(payload),
  }),
);
