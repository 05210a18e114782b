import { Ajv, type ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import type { Principal } from '../auth/principal.js';
import type { Tool } from '../db/entities/index.js';
import type { ConnectionRepository } from '../db/repositories/connection.repository.js';
import { ToolNotFoundError, ValidationError } from '../errors/index.js';

// ajv-formats is CommonJS with a `default` export that NodeNext typings cannot call directly.
const addFormats = createRequire(import.meta.url)('ajv-formats') as (ajv: Ajv) => Ajv;

/**
 * How long a catalogue read from the database is trusted. This instance
 * invalidates on its own refreshes at once; the TTL bounds how long another
 * instance's refresh takes to be seen.
 */
export const CATALOGUE_TTL_MS = 5_000;

interface CachedTool {
  tool: Tool;
  validate: ValidateFunction | null;
}

interface CachedCatalogue {
  tools: Map<string, CachedTool>;
  expiresAt: number;
}

/**
 * Tool lookup and argument validation for the execute hot path: the catalogue
 * is read once per connection and each input schema is compiled once, not per call.
 */
export class ToolCatalogue {
  private readonly ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false });
  private readonly cache = new Map<string, CachedCatalogue>();

  constructor(private readonly connections: ConnectionRepository) {
    addFormats(this.ajv);
  }

  /** Returns the tool after checking `args` against its input schema (400 when they do not fit). */
  async resolve(principal: Principal, connectionId: string, toolName: string, args: Record<string, unknown>): Promise<Tool> {
    const catalogue = await this.load(principal, connectionId);
    const entry = catalogue.get(toolName);
    if (!entry) throw new ToolNotFoundError(toolName, connectionId);
    if (entry.validate && !entry.validate(args)) {
      const first = entry.validate.errors?.[0];
      const where = first?.instancePath ? `arguments${first.instancePath.replaceAll('/', '.')}` : 'arguments';
      throw new ValidationError(`${where} ${first?.message ?? 'do not match the tool input schema'}`, {
        field: where,
        tool_name: toolName,
        schema_errors: (entry.validate.errors ?? []).slice(0, 5).map((e) => ({
          path: e.instancePath || '/',
          message: e.message ?? 'invalid',
          keyword: e.keyword,
        })),
      });
    }
    return entry.tool;
  }

  invalidate(connectionId: string): void {
    this.cache.delete(connectionId);
  }

  private async load(principal: Principal, connectionId: string): Promise<Map<string, CachedTool>> {
    const now = Date.now();
    const cached = this.cache.get(connectionId);
    if (cached && cached.expiresAt > now) return cached.tools;
    const rows = await this.connections.tools(principal, connectionId);
    const tools = new Map(rows.map((tool) => [tool.name, { tool, validate: this.compile(tool.inputSchema) }]));
    this.cache.set(connectionId, { tools, expiresAt: now + CATALOGUE_TTL_MS });
    return tools;
  }

  /** An upstream schema we cannot compile is not ours to enforce; the upstream still validates. */
  private compile(schema: Record<string, unknown>): ValidateFunction | null {
    try {
      const { $schema: _ignored, ...rest } = schema;
      return this.ajv.compile(rest);
    } catch {
      return null;
    }
  }
}
