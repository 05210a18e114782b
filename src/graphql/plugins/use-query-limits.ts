import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

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
   * when given as a literal. A full 100-item executions page with each
   * connection's tools costs about 5 800. @default 8000
   */
  maxCost: number;
  /** Maximum directives per operation. @default 20 */
  maxDirectives: number;
}

export const DEFAULT_QUERY_LIMITS: Readonly<QueryLimits> = Object.freeze({
  maxDepth: 8,
  maxAliases: 15,
  maxTokens: 2_000,
  maxCost: 8_000,
  maxDirectives: 20,
});

/**
 * graphql-armor with the limits above. In production, field suggestions
 * ("Did you mean …?") are blocked as well, since they leak the schema that
 * introspection no longer shows.
 */
export function useQueryLimits(limits: QueryLimits, production: boolean): Plugin {
  return EnvelopArmorPlugin({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...refuseAs('query_depth') },
    maxAliases: { n: limits.maxAliases, ...refuseAs('query_aliases') },
    maxTokens: { n: limits.maxTokens, ...refuseAs('query_tokens') },
    costLimit: {
      maxCost: limits.maxCost,
      objectCost: 2,
      scalarCost: 1,
      depthCostFactor: 1.5,
      ignoreIntrospection: true,
      ...refuseAs('query_cost'),
    },
    maxDirectives: { n: limits.maxDirectives, ...refuseAs('query_directives') },
    blockFieldSuggestion: { enabled: production },
  });
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
        const error = new GraphQLError(rejection.message.replace(/^Syntax Error: /, ''), {
          extensions: { code: 'VALIDATION_ERROR', details: { reason } },
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
