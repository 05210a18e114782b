/**
 * The one module through which the MCP endpoint reaches the gateway's
 * services. Everything else in src/mcp-server/ sees only this interface, so
 * when a service's signature changes, this file is the one to follow it.
 */
import { canExecute, type Principal } from '../auth/principal.js';
import type { AuthenticatedCaller } from '../auth/authenticate.js';
import type { BucketName } from '../ratelimit/buckets.js';
import type { RateLimitOutcome } from '../ratelimit/limiter.js';
import { ValidationError } from '../errors/index.js';
import type { Services } from '../services/container.js';
import type { PagePosition } from '../services/domain.js';
import { DEFAULT_SEARCH_LIMIT } from '../services/tool-search.js';
import type { CompletedExecution, ToolCallRunner } from '../services/executions.js';
import type { ExecutionEventPayload, McpRequestCancelPayload } from '../services/event-bus.js';
import type { LinkSession, ToolMatch, UpstreamLink } from '../services/ports.js';
import type { ExecutableConnection } from './catalogue.js';

export type { CompletedExecution, ExecutionEventPayload, LinkSession, ToolCallRunner, ToolMatch, UpstreamLink };

/** The connection page size used while collecting a caller's whole catalogue. */
const CONNECTION_PAGE = 100;

export interface StartedCall {
  executionId: string;
  done: Promise<CompletedExecution>;
}

export interface McpGatewayPort {
  authenticate(authorization: string | undefined): Promise<AuthenticatedCaller>;
  revalidate(caller: AuthenticatedCaller): Promise<Principal>;
  /** Draws `cost` requests from a §5 bucket; throws RateLimitExceededError (429) or a 503 when the limiter fails. */
  consume(bucket: BucketName, principal: Principal, clientIp: string, cost: number): Promise<RateLimitOutcome>;
  /** Every live connection the principal may execute on (its own, admins included), with its stored tools. */
  executableConnections(principal: Principal): Promise<ExecutableConnection[]>;
  /** Starts an Execution (source MCP) through the same ExecutionService as REST and GraphQL. */
  startCall(
    principal: Principal,
    call: { connectionId: string; toolName: string; arguments: Record<string, unknown>; requestId: string; via?: ToolCallRunner },
  ): Promise<StartedCall>;
  /**
   * A raw link to one connection's upstream for the passthrough endpoint: the
   * principal's own (403 otherwise, 404 unknown), live (409 otherwise).
   */
  openLink(principal: Principal, connectionId: string, session: LinkSession): Promise<UpstreamLink>;
  /** Names of the connection's stored tools the principal may call (tool governance applied): what the passthrough lists. */
  callableToolNames(principal: Principal, connectionId: string): Promise<ReadonlySet<string>>;
  cancelCall(principal: Principal, executionId: string, reason: string): Promise<void>;
  /** Progress and terminal events of one execution, wherever it runs. Returns the unsubscribe function. */
  followExecution(executionId: string, listener: (event: ExecutionEventPayload) => void): () => void;
  search(principal: Principal, query: unknown, limit: unknown): Promise<ToolMatch[]>;
  /** Calls `listener` when the catalogue of one of `principal`'s connections, or its status, changes on any instance. */
  onCatalogueChange(principal: Principal, listener: () => void): () => void;
  publishCancel(payload: McpRequestCancelPayload): void;
  onCancel(listener: (payload: McpRequestCancelPayload) => void): () => void;
  publishSessionClosed(sessionId: string): void;
  onSessionClosed(listener: (sessionId: string) => void): () => void;
  readonly secretKey: string;
  readonly corsOrigins: readonly string[];
  readonly trustedProxies: string[];
  readonly logger: Services['logger'];
}

export function mcpGatewayPort(services: Services): McpGatewayPort {
  const { events } = services;
  return {
    secretKey: services.config.auth.secretKey,
    corsOrigins: services.config.http.corsOrigins,
    trustedProxies: services.config.http.trustedProxies,
    logger: services.logger,
    authenticate: (authorization) => services.authenticator.authenticateCaller(authorization),
    revalidate: (caller) => services.authenticator.revalidate(caller),
    consume: (bucket, principal, ip, cost) =>
      services.limiter.consume(bucket, { agentId: principal.agentId, namespace: principal.namespace, ip }, cost),
    async executableConnections(principal) {
      const mine = [];
      // Page after the last row read, not by offset: a connection created or disconnected meanwhile cannot push another off a page.
      let after: PagePosition | undefined;
      let hasMore: boolean;
      do {
        const page = await services.connections.list(principal, { limit: CONNECTION_PAGE, ...(after ? { after } : {}) });
        mine.push(...page.rows.filter((row) => (row.status === 'active' || row.status === 'error') && canExecute(principal, row)));
        const last = page.rows.at(-1);
        after = last && page.positionOf(last);
        hasMore = page.hasMore;
      } while (hasMore && after);
      // Tool governance: held and denied tools come back marked, so /mcp lists none of them and answers a call with a tool error.
      const tools = await services.connections.reviewedToolsOf(
        principal,
        mine.map((row) => row.id),
      );
      return mine.map((row) => ({
        connectionId: row.id,
        serverName: row.serverName,
        tools: tools
          .filter(({ tool }) => tool.connectionId === row.id)
          .map(({ tool, usable }) => (usable ? tool : { ...tool, withheld: true })),
      }));
    },
    async startCall(principal, call) {
      // The MCP client sees only the outcome (durable before it is sent), never the execution id: no need to wait for the RUNNING row.
      const { execution, done } = await services.executions.launch(principal, { ...call, source: 'MCP' });
      return { executionId: execution.id, done };
    },
    openLink: (principal, connectionId, session) => services.connections.openLink(principal, connectionId, session),
    async callableToolNames(principal, connectionId) {
      return new Set((await services.connections.toolsOf(principal, [connectionId])).map((tool) => tool.name));
    },
    async cancelCall(principal, executionId, reason) {
      await services.executions.cancel(principal, executionId, reason);
    },
    followExecution(executionId, listener) {
      return drain(events.pubsub.subscribe('execution', executionId), listener);
    },
    search(principal, query, limit) {
      // The SDK's low-level server passes arguments unchecked against the input schema.
      if (typeof query !== 'string') throw ValidationError.invalid('query', 'must be a string');
      if (limit !== undefined && typeof limit !== 'number') throw ValidationError.invalid('limit', 'must be an integer');
      return services.toolSearch.search(principal, query, limit ?? DEFAULT_SEARCH_LIMIT);
    },
    onCatalogueChange(principal, listener) {
      const mine = (payload: { agentId: string }) => {
        // '*': a namespace-wide change (the tool policy) may change anyone's list.
        if (payload.agentId === principal.agentId || payload.agentId === '*') listener();
      };
      const stops = [
        drain(events.pubsub.subscribe('namespace-catalogue', principal.namespace), mine),
        drain(events.pubsub.subscribe('namespace-connections', principal.namespace), mine),
      ];
      return () => stops.forEach((stop) => stop());
    },
    publishCancel: (payload) => events.pubsub.publish('mcp-request-cancel', payload),
    onCancel: (listener) => drain(events.pubsub.subscribe('mcp-request-cancel'), listener),
    publishSessionClosed: (sessionId) => events.pubsub.publish('mcp-session-closed', { sessionId }),
    onSessionClosed: (listener) => drain(events.pubsub.subscribe('mcp-session-closed'), (payload) => listener(payload.sessionId)),
  };
}

/** Feeds every value of a subscription to `listener` until the returned function is called. */
function drain<T>(source: AsyncIterable<T>, listener: (value: T) => void): () => void {
  const iterator = source[Symbol.asyncIterator]();
  void (async () => {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) listener(next.value);
  })().catch(() => undefined);
  return () => void iterator.return?.();
}
