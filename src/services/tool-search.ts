import type { Principal } from '../auth/principal.js';
import type { ConnectionStatus, McpConnection, Tool } from '../db/entities/index.js';
import { isAppError, ValidationError } from '../errors/index.js';
import type { ToolMatch, ToolSearchIndex } from './ports.js';
import type { ToolGovernance } from './tool-governance/tool-governance.js';

export const DEFAULT_SEARCH_LIMIT = 10;
export const MAX_SEARCH_LIMIT = 50;
export const MAX_QUERY_LENGTH = 1_000;

/** Connection rows as the execute hot path reads them (short-lived cache, same 403/404 answers). */
export interface ReadableConnections {
  findReadableCached(principal: Principal, id: string): Promise<McpConnection>;
  cataloguesOf(
    principal: Principal,
    connectionIds: readonly string[],
  ): Promise<{ connections: Pick<McpConnection, 'id' | 'serverName'>[]; tools: Tool[] }>;
}

/** Statuses whose tools may be returned by search (the ones the index is told about). */
const SEARCHABLE: ReadonlySet<ConnectionStatus> = new Set(['active', 'error']);

/** Semantic search over the caller's readable live tools (SPEC §7a). */
export class ToolSearchService {
  constructor(
    private readonly index: ToolSearchIndex,
    private readonly connections: ReadableConnections,
    private readonly governance: Pick<ToolGovernance, 'verdicts'>,
  ) {}

  /** `query` is plain words (1-1000 characters); `limit` 1-50, @default DEFAULT_SEARCH_LIMIT. */
  async search(principal: Principal, query: string, limit: number = DEFAULT_SEARCH_LIMIT): Promise<ToolMatch[]> {
    if (query.trim() === '') throw ValidationError.invalid('query', 'must be a non-empty search text');
    if (query.length > MAX_QUERY_LENGTH) throw ValidationError.invalid('query', `must be at most ${MAX_QUERY_LENGTH} characters`);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
      throw ValidationError.invalid('limit', `must be an integer from 1 to ${MAX_SEARCH_LIMIT}`);
    }
    const live = (ids: string[]) => this.liveAndReadable(principal, ids);
    const first = await this.index.search(principal, query.trim(), limit, live);
    const usable = await this.usableOnly(principal, first);
    if (usable.length === first.length || first.length < limit) return usable;
    // Some matches were held or denied: look further down the ranking for as many callable ones.
    const wider = await this.index.search(principal, query.trim(), MAX_SEARCH_LIMIT, live);
    return (await this.usableOnly(principal, wider)).slice(0, limit);
  }

  /** Tool governance: search returns only what the caller could call (approved, allowed by the policy for its role). */
  private async usableOnly(principal: Principal, matches: ToolMatch[]): Promise<ToolMatch[]> {
    if (matches.length === 0) return matches;
    const ids = [...new Set(matches.map((m) => m.connectionId))];
    // One query for the matched catalogues; a connection gone since the ranking was checked is simply absent.
    const [{ connections, tools }, verdictOf] = await Promise.all([
      this.connections.cataloguesOf(principal, ids),
      this.governance.verdicts(principal),
    ]);
    const byId = new Map(connections.map((row) => [row.id, row]));
    const usable = new Set(
      tools
        .filter((tool) => {
          const connection = byId.get(tool.connectionId);
          return connection !== undefined && verdictOf(connection, tool).usable;
        })
        .map((tool) => `${tool.connectionId}\u0000${tool.name}`),
    );
    return matches.filter((m) => usable.has(`${m.connectionId}\u0000${m.toolName}`));
  }

  /**
   * The index only knows what it was told, and a Chroma server can outlive (or be
   * shared beyond) this database: every match is checked against the database, so
   * a vector of a connection that is gone, foreign or unknown here is never shown.
   */
  private async liveAndReadable(principal: Principal, ids: string[]): Promise<ReadonlySet<string>> {
    const rows = await Promise.all(
      ids.map((id) =>
        this.connections.findReadableCached(principal, id).catch((error: unknown) => {
          if (isAppError(error) && (error.httpStatus === 403 || error.httpStatus === 404)) return undefined;
          throw error;
        }),
      ),
    );
    return new Set(rows.filter((row) => row !== undefined && SEARCHABLE.has(row.status)).map((row) => row!.id));
  }
}
