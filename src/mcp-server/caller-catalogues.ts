import type { Principal } from '../auth/principal.js';
import { LoadingCache } from '../common/loading-cache.js';
import { aggregateCatalogue, type AggregatedCatalogue } from './catalogue.js';
import type { McpGatewayPort } from './gateway-port.js';
import { META_TOOL_NAMES } from './meta-tools.js';

/**
 * How long a caller's aggregated catalogue serves `tools/call` name lookups.
 * `tools/list` always reads afresh (a client that got list_changed must see the
 * change); a call to a name the cached catalogue lacks reads afresh too.
 */
export const CALLER_CATALOGUE_TTL_MS = 1_000;

/** Skipped names already logged, so a catalogue listed every second logs each problem once. */
const MAX_REMEMBERED_SKIPS = 10_000;

/** The aggregated catalogue of each caller, briefly cached, with left-out names logged once. */
export class CallerCatalogues {
  private readonly cache = new LoadingCache<string, AggregatedCatalogue>(CALLER_CATALOGUE_TTL_MS);
  private readonly loggedSkips = new Set<string>();

  constructor(private readonly port: McpGatewayPort) {}

  async get(principal: Principal, fresh = false): Promise<AggregatedCatalogue> {
    const key = `${principal.namespace}\u0000${principal.agentId}`;
    if (fresh) this.cache.delete(key);
    return this.cache.get(key, () => this.load(principal));
  }

  private async load(principal: Principal): Promise<AggregatedCatalogue> {
    const catalogue = aggregateCatalogue(await this.port.executableConnections(principal), META_TOOL_NAMES);
    for (const skipped of catalogue.skipped) {
      const key = `${skipped.connectionId}\u0000${skipped.toolName}\u0000${skipped.reason}`;
      if (this.loggedSkips.has(key)) continue;
      if (this.loggedSkips.size >= MAX_REMEMBERED_SKIPS) this.loggedSkips.clear();
      this.loggedSkips.add(key);
      this.port.logger.warn(
        {
          agentId: principal.agentId,
          connectionId: skipped.connectionId,
          tool: skipped.toolName.slice(0, 200),
          name: skipped.name.slice(0, 300),
          reason: skipped.reason,
        },
        'tool left out of the aggregated /mcp catalogue',
      );
    }
    return catalogue;
  }
}
