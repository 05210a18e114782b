import { Ajv, type ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import type { Principal } from '../auth/principal.js';
import type { Tool } from '../db/entities/index.js';
import type { ConnectionRepository } from '../db/repositories/connection.repository.js';
import { ToolNotFoundError, ValidationError } from '../errors/index.js';
import { LoadingCache } from '../common/loading-cache.js';
import type { Logger } from '../observability/logger.js';
import { LinearPatterns } from './linear-regexp.js';

// ajv-formats is CommonJS with a `default` export that NodeNext typings cannot call directly.
const addFormats = createRequire(import.meta.url)('ajv-formats') as (ajv: Ajv) => Ajv;

/**
 * How long a catalogue read from the database is trusted. This instance
 * invalidates on its own refreshes at once; the TTL bounds how long another
 * instance's refresh takes to be seen.
 */
export const CATALOGUE_TTL_MS = 5_000;

/**
 * Distinct input schemas kept compiled. Reloading a catalogue yields new schema
 * objects with the same content; they reuse the compiled validator, so neither
 * compile time nor memory grows with the number of reloads.
 */
const MAX_COMPILED_SCHEMAS = 2_000;

interface CachedTool {
  tool: Tool;
  /** Compiled on the first call of the tool; `null` when the schema cannot be compiled. */
  validate: ValidateFunction | null | undefined;
}

/**
 * Tool lookup and argument validation for the execute hot path: the catalogue
 * is read once per connection and TTL, and each distinct input schema is
 * compiled once, when a tool is first called — not per call, and not for every
 * tool of the catalogue on every reload.
 */
export class ToolCatalogue {
  private readonly ajv: Ajv;
  private readonly patterns: LinearPatterns;
  private readonly cache = new LoadingCache<string, Map<string, CachedTool>>(CATALOGUE_TTL_MS);
  private readonly compiled = new Map<string, ValidateFunction | null>();

  constructor(
    private readonly connections: ConnectionRepository,
    logger: Logger,
  ) {
    // Upstream schemas are untrusted: `pattern` and `patternProperties` run on RE2 (linear time), never on V8's backtracking RegExp.
    this.patterns = new LinearPatterns((pattern, reason) =>
      logger.warn(
        { pattern: pattern.slice(0, 200), reason },
        'tool schema pattern not enforced by the gateway (the upstream still validates)',
      ),
    );
    this.ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false, code: { regExp: this.patterns.engine } });
    addFormats(this.ajv);
  }

  /**
   * Returns the tool after checking `args` against its input schema (400 when
   * they do not fit). `admit` runs first and may refuse the tool (governance).
   */
  async resolve(
    principal: Principal,
    connectionId: string,
    toolName: string,
    args: Record<string, unknown>,
    admit?: (tool: Tool) => void,
  ): Promise<Tool> {
    const catalogue = await this.load(principal, connectionId);
    const entry = catalogue.get(toolName);
    if (!entry) throw new ToolNotFoundError(toolName, connectionId);
    admit?.(entry.tool);
    if (entry.validate === undefined) entry.validate = this.compile(entry.tool.inputSchema);
    const validate = entry.validate;
    if (validate && !this.patterns.withinBudget(() => validate(args))) {
      const first = validate.errors?.[0];
      const where = first?.instancePath ? `arguments${first.instancePath.replaceAll('/', '.')}` : 'arguments';
      throw ValidationError.invalid(where, first?.message ?? 'do not match the tool input schema', {
        tool_name: toolName,
        schema_errors: (validate.errors ?? []).slice(0, 5).map((e) => ({
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

  private load(principal: Principal, connectionId: string): Promise<Map<string, CachedTool>> {
    return this.cache.get(connectionId, async () => {
      const rows = await this.connections.tools(principal, connectionId);
      return new Map<string, CachedTool>(rows.map((tool) => [tool.name, { tool, validate: undefined }]));
    });
  }

  /** An upstream schema we cannot compile is not ours to enforce; the upstream still validates. */
  private compile(schema: Record<string, unknown>): ValidateFunction | null {
    const { $schema: _ignored, ...rest } = schema;
    const key = JSON.stringify(rest);
    const known = this.compiled.get(key);
    if (known !== undefined) return known;
    let validate: ValidateFunction | null;
    try {
      validate = this.patterns.withinCompileBudget(() => this.ajv.compile(rest));
    } catch {
      validate = null;
    }
    if (this.compiled.size >= MAX_COMPILED_SCHEMAS) {
      // Start over, and let ajv forget its own per-object cache of the old schemas too.
      this.compiled.clear();
      this.ajv.removeSchema();
    }
    this.compiled.set(key, validate);
    return validate;
  }
}
