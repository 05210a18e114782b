import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { MAX_JSON_DEPTH, valueTooDeep } from '../../common/json-depth.js';

/**
 * Bounds the nesting of GraphQL `variables` and `extensions` however they
 * arrived (a POST body is already bounded by the HTTP parser; a GET query
 * string and a WebSocket message are not): deeper than MAX_JSON_DEPTH is a
 * VALIDATION_ERROR before anything recursive touches them (SPEC §14).
 */
export function useJsonDepthLimit(maxDepth = MAX_JSON_DEPTH): Plugin {
  return {
    onParams({ params }) {
      if (valueTooDeep(params.variables, maxDepth) || valueTooDeep(params.extensions, maxDepth)) {
        throw new GraphQLError(`GraphQL variables nested deeper than ${maxDepth} levels`, {
          extensions: { code: 'VALIDATION_ERROR', details: { field: 'variables', max_depth: maxDepth }, http: { status: 400 } },
        });
      }
    },
  };
}
