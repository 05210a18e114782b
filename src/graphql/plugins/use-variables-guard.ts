import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { MAX_JSON_DEPTH, valueTooDeep } from '../../common/json-depth.js';

function refusal(message: string, field: string, details: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'VALIDATION_ERROR', details: { field, ...details }, http: { status: 400 } },
  });
}

/**
 * The refusal for `variables` / `extensions` nested deeper than `maxDepth`, if
 * they are. Also used by the WebSocket transport, which does not run Yoga's
 * request pipeline.
 */
export function nestingRefusal(params: { variables?: unknown; extensions?: unknown }, maxDepth = MAX_JSON_DEPTH): GraphQLError | undefined {
  for (const field of ['variables', 'extensions'] as const) {
    if (valueTooDeep(params[field], maxDepth)) {
      return refusal(`GraphQL ${field} nested deeper than ${maxDepth} levels`, field, { max_depth: maxDepth });
    }
  }
  return undefined;
}

/**
 * GraphQL `variables` and `extensions` as a client sent them, checked before
 * Yoga or anything recursive touches them (SPEC §14):
 * - on GET they are JSON in the query string, which Yoga parses without
 *   catching (an "unexpected error" otherwise): not JSON → VALIDATION_ERROR;
 * - however they arrived (a POST body is already bounded by the HTTP parser, a
 *   query string or a WebSocket message is not), nested deeper than
 *   MAX_JSON_DEPTH → VALIDATION_ERROR.
 */
export function useVariablesGuard(maxDepth = MAX_JSON_DEPTH): Plugin {
  return {
    onRequestParse({ request, url }) {
      if (request.method !== 'GET') return;
      for (const field of ['variables', 'extensions']) {
        const text = url.searchParams.get(field);
        if (!text) continue;
        try {
          JSON.parse(text);
        } catch {
          throw refusal(`${field} is not valid JSON`, field);
        }
      }
    },
    onParams({ params }) {
      const tooDeep = nestingRefusal(params, maxDepth);
      if (tooDeep) throw tooDeep;
    },
  };
}
