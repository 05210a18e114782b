import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { useOperationBounds } from './use-operation-bounds.js';

/**
 * Static limits applied to every operation (HTTP and WebSocket) before it
 * runs. The numbers leave room for the deepest legitimate dashboard query
 * (executions → edges → node → connection → tools → inputSchema is depth 6)
 * while refusing abusive shapes.
 */
export interface QueryLimits {
  /** Maximum selection depth. @default 8 */
  maxDepth: number;
  /**
   * Maximum aliases per operation. Each aliased mutation also draws from its
   * rate-limit bucket, so this only bounds amplification of reads. @default 15
   */
  maxAliases: number;
  /** Maximum lexical tokens in a document (checked while parsing). @default 2000 */
  maxTokens: number;
  /**
   * Maximum static cost: objects 2, scalars 1, ×1.5 per level of depth, ×`first`
   * (or `limit`) at its value — literal, variable or default (20). A 100-item
   * executions page of id, status, tool name, result and each connection's
   * tools costs about 5 800; a page with every field of the execution and its
   * connection about 117 per item. @default 8000
   */
  maxCost: number;
  /** Maximum directives per operation. @default 20 */
  maxDirectives: number;
  /** Largest response, or subscription event, in bytes (SPEC §14). @default 16 MiB */
  maxResponseBytes: number;
}

export const DEFAULT_QUERY_LIMITS: Readonly<QueryLimits> = Object.freeze({
  maxDepth: 8,
  maxAliases: 15,
  maxTokens: 2_000,
  maxCost: 8_000,
  maxDirectives: 20,
  maxResponseBytes: 16 * 1024 * 1024,
});

/** graphql-armor's cost weights, applied by operationCost with the variables at hand. */
const COST_WEIGHTS = { objectCost: 2, scalarCost: 1, depthCostFactor: 1.5 };

/**
 * graphql-armor for the limits of the document alone (depth, aliases, tokens,
 * directives), plus useOperationBounds for those that need the variables or
 * the result (cost, response size). graphql-armor's own cost rule is off: it
 * counts `first` only when written as a literal. In production, field
 * suggestions ("Did you mean …?") are blocked as well, since they leak the
 * schema that introspection no longer shows.
 */
export function useQueryLimits(limits: QueryLimits, production: boolean): Plugin {
  const armor = EnvelopArmorPlugin({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...refuseAs('query_depth') },
    maxAliases: { n: limits.maxAliases, ...refuseAs('query_aliases') },
    maxTokens: { n: limits.maxTokens, ...refuseAs('query_tokens') },
    costLimit: { enabled: false },
    maxDirectives: { n: limits.maxDirectives, ...refuseAs('query_directives') },
    blockFieldSuggestion: { enabled: production },
  });
  const bounds = useOperationBounds({ maxCost: limits.maxCost, weights: COST_WEIGHTS, maxResponseBytes: limits.maxResponseBytes });
  return {
    onPluginInit({ addPlugin }) {
      // An envelop plugin is a Yoga plugin without the HTTP hooks.
      addPlugin(armor as Plugin);
      addPlugin(bounds);
    },
  };
}

/**
 * Turns a limit rejection into an ordinary validation error (all of them are
 * reported together) with code VALIDATION_ERROR and `details.reason`, without
 * graphql-armor's misleading "Syntax Error:" prefix. The token limit is hit
 * while parsing, where there is no validation context: that one is thrown.
 */
function refuseAs(reason: string) {
  return {
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, rejection: GraphQLError) => {
        // Refused before anything ran: HTTP 400 whatever the Accept header, like the cost limit (use-operation-bounds.ts).
        // `spec: false`: Yoga answers a spec-mandated validation error with 200 to an `application/json` client.
        const error = new GraphQLError(rejection.message.replace(/^Syntax Error: /, ''), {
          extensions: { code: 'VALIDATION_ERROR', details: { reason }, http: { status: 400, spec: false } },
        });
        if (!context) throw error;
        context.reportError(error);
      },
    ],
  };
}

/** Refuses `__schema` / `__type` queries (production: the SDL is published as schema/schema.graphql instead). */
export function useDisableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
