/**
 * The domain objects the services hand to the doors. They are the database
 * rows' shapes (no ORM class: plain objects from schema entities), named here
 * so that `rest/`, `graphql/` and `mcp-server/` depend on the services, never on
 * `db/` — a door that needs one of these gets it from a service call.
 */
export type { McpConnection, ConnectionStatus, Execution, ExecutionStatus, ExecutionSource, Tool } from '../db/entities/index.js';
export { CONNECTION_STATUSES } from '../db/entities/index.js';
export type { AnnotationDenial, GovernanceAudit, GovernanceAction, ToolReviewState } from '../db/entities/index.js';
export { GOVERNANCE_ACTIONS, TOOL_REVIEW_STATES } from '../db/entities/index.js';
export type { Page, PagePosition, PageRequest } from '../db/repositories/find-page.js';
