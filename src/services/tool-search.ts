import type { Principal } from '../auth/principal.js';
import { ValidationError } from '../errors/index.js';
import type { ToolMatch, ToolSearchIndex } from './ports.js';

export const DEFAULT_SEARCH_LIMIT = 10;
export const MAX_SEARCH_LIMIT = 50;
export const MAX_QUERY_LENGTH = 1_000;

/** Semantic search over the caller's readable live tools (SPEC §7a). */
export class ToolSearchService {
  constructor(private readonly index: ToolSearchIndex) {}

  async search(principal: Principal, query: unknown, limit: unknown = DEFAULT_SEARCH_LIMIT): Promise<ToolMatch[]> {
    if (typeof query !== 'string' || query.trim() === '') throw ValidationError.field('q', 'q must be a non-empty search text');
    if (query.length > MAX_QUERY_LENGTH) throw ValidationError.field('q', `q must be at most ${MAX_QUERY_LENGTH} characters`);
    const n = typeof limit === 'string' && /^\d+$/.test(limit) ? Number(limit) : limit;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_SEARCH_LIMIT) {
      throw ValidationError.field('limit', `limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}`);
    }
    return this.index.search(principal, query.trim(), n);
  }
}
