import { canExecute, type Principal } from '../auth/principal.js';
import type { SecretBox } from '../auth/secret-box.js';
import { storableText } from '../common/storable-text.js';
import type { ConnectionStatus, McpConnection, Tool } from '../db/entities/index.js';
import type { ConnectionOwnerLookup, ConnectionRepository } from '../db/repositories/connection.repository.js';
import type { Page, PageRequest } from '../db/repositories/find-page.js';
import {
  AuthorizationError,
  ConnectionLimitReachedError,
  ConnectionNotActiveError,
  ServiceUnavailableError,
  ValidationError,
  isAppError,
} from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import type { EventBus } from './event-bus.js';
import type { ToolCatalogue } from './tool-catalogue.js';
import type { ToolGovernance } from './tool-governance/tool-governance.js';
import { splitUrlCredentials } from './upstream-headers.js';
import type { LinkSession, ToolSearchIndex, UpstreamClient, UpstreamLink, UpstreamTarget, UpstreamTool } from './ports.js';
import { validateCreateConnection, type CreateConnectionCommand, type ValidCreateConnection } from './validation.js';

export interface ConnectionWithTools {
  connection: McpConnection;
  tools: Tool[];
}

export interface ConnectionListOptions extends PageRequest {
  status?: ConnectionStatus;
}

export interface ConnectionServiceDeps {
  connections: ConnectionRepository;
  owners: ConnectionOwnerLookup;
  upstream: UpstreamClient;
  index: ToolSearchIndex;
  events: EventBus;
  secrets: SecretBox;
  catalogue: ToolCatalogue;
  governance: ToolGovernance;
  logger: Logger;
}

/** Statuses on which discover and execute may be attempted. `error` is retried: the upstream may be back. */
const USABLE: ReadonlySet<ConnectionStatus> = new Set(['active', 'error']);

/**
 * The lifecycle of upstream connections: create (connect + catalogue),
 * discover, disconnect, and keeping the stored catalogue, the search index
 * and `status` in step with what the upstream reports.
 */
export class ConnectionService {
  private readonly unsubscribe: (() => void)[] = [];
  /** Status writes in progress per connection, chained so they land in the order the upstream changed. */
  private readonly statusWrites = new Map<string, Promise<void>>();

  constructor(private readonly deps: ConnectionServiceDeps) {
    this.unsubscribe.push(
      deps.upstream.onToolsChanged((id, tools) => void this.onUpstreamToolsChanged(id, tools)),
      deps.upstream.onStatusChanged((id, status, message) => this.queueStatusWrite(id, status, message)),
      this.closeSessionsDisconnectedElsewhere(),
    );
  }

  async create(principal: Principal, command: CreateConnectionCommand): Promise<ConnectionWithTools> {
    const input = validateCreateConnection(principal, command);
    const { connections } = this.deps;
    const { url, headers } = upstreamAccess(input);
    const row = await connections.insert(principal, {
      serverName: input.serverName,
      url,
      timeoutSeconds: input.timeoutSeconds,
      headersSealed: headers ? this.deps.secrets.seal(JSON.stringify(headers)) : null,
    });
    await this.enforceConnectionCap(principal, row.id);
    let upstreamTools: UpstreamTool[];
    try {
      upstreamTools = await this.deps.upstream.connect(this.targetOf(row));
    } catch (error) {
      // A failed create leaves nothing live behind: the name is free again at once.
      await connections.deleteFailed(principal, row.id);
      await this.deps.upstream.disconnect(row.id).catch(() => {});
      // Nor does its answer name the row that is gone: an id nobody can look up (the request id correlates the logs).
      if (isAppError(error) && error.extraDetails.connection_id === row.id) delete error.extraDetails.connection_id;
      throw error;
    }
    const tools = await this.storeTools(principal, row, upstreamTools, true);
    const live = await connections.update(principal, row.id, { status: 'active', connectedAt: new Date(), errorMessage: null });
    this.indexInBackground(this.deps.index.replaceConnectionTools(this.indexed(live), upstreamTools));
    this.publishStatus(live);
    return { connection: live, tools: await this.deps.governance.usableTools(principal, live, tools) };
  }

  async list(principal: Principal, options: ConnectionListOptions): Promise<Page<McpConnection>> {
    return this.deps.connections.list(principal, options);
  }

  /** One connection the caller may read (403 someone else's, 404 none), without its tools. */
  async read(principal: Principal, id: string): Promise<McpConnection> {
    return this.deps.connections.findReadable(principal, id);
  }

  /**
   * The stored catalogues of those of `connectionIds` the caller may read, in
   * one query: only the tools the caller may call (approved, allowed by the
   * namespace policy for its role) — every door lists through here.
   */
  async toolsOf(principal: Principal, connectionIds: readonly string[]): Promise<Tool[]> {
    return (await this.reviewedToolsOf(principal, connectionIds)).filter((entry) => entry.usable).map((entry) => entry.tool);
  }

  /** Every stored tool of those connections, each with whether the caller may call it (for /mcp, which answers a call to a withheld tool with a tool error). */
  async reviewedToolsOf(principal: Principal, connectionIds: readonly string[]): Promise<{ tool: Tool; usable: boolean }[]> {
    const { connections, tools } = await this.deps.connections.cataloguesOf(principal, connectionIds);
    if (tools.length === 0) return [];
    const rows = new Map(connections.map((row) => [row.id, row]));
    const verdictOf = await this.deps.governance.verdicts(principal);
    return tools.map((tool) => {
      const connection = rows.get(tool.connectionId);
      return { tool, usable: connection !== undefined && verdictOf(connection, tool).usable };
    });
  }

  /**
   * The connections among `ids` the caller may read (GraphQL batches its nested
   * reads, e.g. the connection of each execution in a dashboard row): the same
   * short-lived cached rows the execute path reads, one cached read per distinct
   * id, so a row costs no query. The rows are shared and must not be modified.
   */
  async readMany(principal: Principal, ids: readonly string[]): Promise<McpConnection[]> {
    const rows = await Promise.all(
      [...new Set(ids)].map((id) =>
        this.deps.connections.findReadableCached(principal, id).catch((error: unknown) => {
          // Someone else's or unknown: simply absent, as from a query within the caller's scope.
          if (isAppError(error)) return null;
          throw error;
        }),
      ),
    );
    return rows.filter((row): row is McpConnection => row !== null);
  }

  async get(principal: Principal, id: string): Promise<ConnectionWithTools> {
    const connection = await this.deps.connections.findReadable(principal, id);
    const tools = await this.deps.connections.tools(principal, id);
    return { connection, tools: await this.deps.governance.usableTools(principal, connection, tools) };
  }

  /** Re-lists tools from the upstream (GET …/tools); 502 when it cannot be reached. */
  async discover(principal: Principal, id: string): Promise<ConnectionWithTools> {
    const connection = await this.deps.connections.findReadable(principal, id);
    if (!USABLE.has(connection.status)) throw new ConnectionNotActiveError(id, connection.status);
    const owner = ownerPrincipal(connection);
    let upstreamTools: UpstreamTool[];
    try {
      upstreamTools = await this.deps.upstream.listTools(this.targetOf(connection));
    } catch (error) {
      if (isAppError(error) && error.httpStatus === 502) {
        await this.setStatus(owner, connection, 'error', error.message);
      }
      throw error;
    }
    const tools = await this.storeTools(owner, connection, upstreamTools, false);
    const refreshed = connection.status === 'active' ? connection : await this.setStatus(owner, connection, 'active', null);
    this.indexInBackground(this.deps.index.replaceConnectionTools(this.indexed(refreshed), upstreamTools));
    return { connection: refreshed, tools: await this.deps.governance.usableTools(principal, refreshed, tools) };
  }

  /**
   * A raw link to a connection's upstream for the MCP passthrough: only the
   * owner may drive it (403; 404 unknown), and only while live (409).
   */
  async openLink(principal: Principal, id: string, session: LinkSession): Promise<UpstreamLink> {
    const connection = await this.deps.connections.findReadableCached(principal, id);
    if (!canExecute(principal, connection)) throw new AuthorizationError('Only the agent that owns a connection may use it through MCP');
    if (!USABLE.has(connection.status)) throw new ConnectionNotActiveError(id, connection.status);
    if (!this.deps.upstream.openLink) throw new ServiceUnavailableError('This gateway cannot relay raw MCP messages');
    return this.deps.upstream.openLink(this.targetOf(connection), session);
  }

  /** Idempotent: disconnecting a disconnected connection is a no-op. */
  async disconnect(principal: Principal, requestedId: string): Promise<McpConnection> {
    const connection = await this.deps.connections.findReadable(principal, requestedId);
    if (connection.status === 'disconnected') return connection;
    // The id as stored, not as the caller spelled it: PostgreSQL finds a uuid in any letter case, but the
    // upstream pools (this instance's and, through the event, every other's) and the index know the stored one.
    const id = connection.id;
    await this.deps.upstream.disconnect(id).catch((error: unknown) => {
      this.deps.logger.warn({ connectionId: id, err: error }, 'upstream session did not close cleanly');
    });
    const owner = ownerPrincipal(connection);
    const closed = await this.deps.connections.update(owner, id, {
      status: 'disconnected',
      liveName: null,
      disconnectedAt: new Date(),
    });
    this.indexInBackground(this.deps.index.removeConnection({ id, namespace: connection.namespace }));
    this.publishStatus(closed);
    this.deps.events.pubsub.publish('connection-closed', { connectionId: id });
    return closed;
  }

  /** The upstream address and credentials of a connection, for the client pool. */
  targetOf(connection: McpConnection): UpstreamTarget {
    const target: UpstreamTarget = {
      connectionId: connection.id,
      url: connection.url,
      timeoutMs: connection.timeoutSeconds * 1000,
    };
    if (connection.headersSealed) {
      target.headers = JSON.parse(this.deps.secrets.open(connection.headersSealed)) as Record<string, string>;
    }
    return target;
  }

  /**
   * A call found the upstream down (or back): records `error` (or `active`)
   * and resolves once written, after every change the upstream pool reported
   * before it, so a caller answered 502 then reads `error` on every instance
   * (SPEC §6: status reflects reality).
   */
  async recordCallOutcome(connectionId: string, status: 'active' | 'error', message?: string): Promise<void> {
    this.queueStatusWrite(connectionId, status, message);
    await this.statusWrites.get(connectionId);
  }

  close(): void {
    for (const stop of this.unsubscribe.splice(0)) stop();
  }

  private queueStatusWrite(connectionId: string, status: 'active' | 'error', message?: string): void {
    const previous = this.statusWrites.get(connectionId) ?? Promise.resolve();
    const next = previous.then(() => this.onUpstreamStatus(connectionId, status, message));
    this.statusWrites.set(connectionId, next);
    void next.finally(() => {
      if (this.statusWrites.get(connectionId) === next) this.statusWrites.delete(connectionId);
    });
  }

  /**
   * Stores a fresh listing, each tool compared with its pin (tool governance):
   * changed or flagged tools are stored quarantined, and the namespace's
   * reviewers are told. `firstDiscovery` is the connection's creation.
   */
  private async storeTools(owner: Principal, connection: McpConnection, tools: UpstreamTool[], firstDiscovery: boolean): Promise<Tool[]> {
    const connectionId = connection.id;
    const reviewer = await this.deps.governance.reviewer(owner, tools, firstDiscovery);
    const rows = await this.deps.connections.replaceTools(owner, connectionId, tools, reviewer);
    this.deps.catalogue.invalidate(connectionId);
    this.deps.events.pubsub.publish('namespace-catalogue', owner.namespace, { connectionId, agentId: owner.agentId });
    this.deps.governance.announce(connection, rows, reviewer.result?.newlyQuarantined ?? []);
    return rows;
  }

  /** The namespace policy's cap on live connections per agent, checked after the insert so two racing creates cannot both pass. */
  private async enforceConnectionCap(principal: Principal, insertedId: string): Promise<void> {
    const { maxConnectionsPerAgent } = await this.deps.governance.policy(principal);
    if (maxConnectionsPerAgent === null) return;
    if ((await this.deps.connections.countLiveOwned(principal)) <= maxConnectionsPerAgent) return;
    await this.deps.connections.deleteFailed(principal, insertedId);
    throw new ConnectionLimitReachedError(maxConnectionsPerAgent);
  }

  /**
   * Indexing grows with the upstream's catalogue and queues fairly behind other
   * namespaces' work (SPEC §14), so no request waits for it: search catches up, and
   * never shows a disconnected connection meanwhile (it checks the database).
   */
  private indexInBackground(write: Promise<void>): void {
    write.catch((error: unknown) => this.deps.logger.error({ err: error }, 'search index write failed'));
  }

  private indexed(connection: McpConnection) {
    return {
      id: connection.id,
      serverName: connection.serverName,
      namespace: connection.namespace,
      agentId: connection.agentId,
    };
  }

  private async setStatus(
    owner: Principal,
    connection: McpConnection,
    status: ConnectionStatus,
    errorMessage: string | null,
  ): Promise<McpConnection> {
    // An upstream's message may carry NUL, which PostgreSQL refuses in text.
    const storedMessage = storableText(errorMessage);
    const changes =
      status === 'active' ? { status, errorMessage: storedMessage, connectedAt: new Date() } : { status, errorMessage: storedMessage };
    const updated = await this.deps.connections.update(owner, connection.id, changes);
    this.publishStatus(updated);
    return updated;
  }

  private publishStatus(connection: McpConnection): void {
    this.deps.events.pubsub.publish('namespace-connections', connection.namespace, {
      connectionId: connection.id,
      namespace: connection.namespace,
      agentId: connection.agentId,
      serverName: connection.serverName,
      status: connection.status,
      errorMessage: connection.errorMessage ?? null,
      at: new Date().toISOString(),
    });
  }

  /** With several instances, each holds its own upstream session; a disconnect anywhere closes them all. */
  private closeSessionsDisconnectedElsewhere(): () => void {
    const iterator = this.deps.events.pubsub.subscribe('connection-closed')[Symbol.asyncIterator]();
    void (async () => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        await this.deps.upstream.disconnect(next.value.connectionId).catch(() => undefined);
        this.deps.catalogue.invalidate(next.value.connectionId);
      }
    })();
    return () => void iterator.return?.();
  }

  private async onUpstreamToolsChanged(connectionId: string, tools: UpstreamTool[]): Promise<void> {
    try {
      const owner = await this.deps.owners.ownerOf(connectionId);
      if (!owner) return;
      const connection = await this.deps.connections.findReadable(owner, connectionId);
      if (!USABLE.has(connection.status)) return;
      await this.storeTools(owner, connection, tools, false);
      await this.deps.index.replaceConnectionTools(this.indexed(connection), tools);
    } catch (error) {
      this.deps.logger.error({ connectionId, err: error }, 'failed to store a changed tool list');
    }
  }

  private async onUpstreamStatus(connectionId: string, status: 'active' | 'error', message?: string): Promise<void> {
    try {
      const owner = await this.deps.owners.ownerOf(connectionId);
      if (!owner) return;
      const connection = await this.deps.connections.findReadable(owner, connectionId);
      if (!USABLE.has(connection.status) || connection.status === status) return;
      await this.setStatus(owner, connection, status, status === 'error' ? (message ?? 'upstream unavailable') : null);
    } catch (error) {
      this.deps.logger.error({ connectionId, err: error }, 'failed to record an upstream status change');
    }
  }
}

/**
 * The URL to store and the headers to seal: credentials written into the URL
 * become an `Authorization: Basic` header, so they are sealed and never
 * returned. Both at once would be ambiguous, so that is refused.
 */
function upstreamAccess(input: ValidCreateConnection): { url: string; headers?: Record<string, string> } {
  const { url, authorization } = splitUrlCredentials(input.url);
  const headers: Record<string, string> = { ...input.headers };
  if (authorization) {
    if (Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) {
      throw ValidationError.invalid('url', 'credentials and an Authorization header cannot both be given');
    }
    headers.Authorization = authorization;
  }
  return Object.keys(headers).length > 0 ? { url, headers } : { url };
}

/** Background work on a connection acts as its owner. */
export function ownerPrincipal(connection: McpConnection): Principal {
  return { agentId: connection.agentId, namespace: connection.namespace, role: 'agent' };
}
