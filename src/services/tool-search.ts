import type { Principal } from '../auth/principal.js';
import type { ConnectionStatus, McpConnection } from '../db/entities/index.js';
import { isAppError, ValidationError } from '../errors/index.js';
import type { ToolMatch, ToolSearchIndex } from './ports.js';

export const DEFAULT_SEARCH_LIMIT = 10;
export const MAX_SEARCH_LIMIT = 50;
export const MAX_QUERY_LENGTH = 1_000;

/** Connection rows as the execute hot path reads them (short-lived cache, same 403/404 answers). */
export interface ReadableConnections {
  findReadableCached(principal: Principal, id: string): Promise<McpConnection>;
}

/** Statuses whose tools may be returned by search (the ones the index is told about). */
const SEARCHABLE: ReadonlySet<ConnectionStatus> = new Set(['active', 'error']);

/** Semantic search over the caller's readable live tools (SPEC §7a). */
export class ToolSearchService {
  constructor(
    private readonly index: ToolSearchIndex,
    private readonly connections: ReadableConnections,
  ) {}

  /** `query` is plain words (1-1000 characters); `limit` 1-50, @default DEFAULT_SEARCH_LIMIT. */
  async search(principal: Principal, query: string, limit: number = DEFAULT_SEARCH_LIMIT): Promise<ToolMatch[]> {
    if (query.trim() === '') throw ValidationError.invalid('query', 'must be a non-empty search text');
    if (query.length > MAX_QUERY_LENGTH) throw ValidationError.invalid('query', `must be at most ${MAX_QUERY_LENGTH} characters`);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
      throw ValidationError.invalid('limit', `must be an integer from 1 to ${MAX_SEARCH_LIMIT}`);
    }
    return this.index.search(principal, query.trim(), limit, (ids) => this.liveAndReadable(principal, ids));
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
