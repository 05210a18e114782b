import { GraphQLError, type ExecutionResult } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import type { Logger } from '../../observability/logger.js';
import type { GraphQLContext } from '../context.js';
import { mapError } from '../errors.js';

/**
 * A document the server refuses (syntax, validation, query limits) is a client
 * mistake: VALIDATION_ERROR as in REST, with the GraphQL reason kept in
 * `details.reason`. Labelled in place — as Yoga labels these errors itself —
 * so that later plugins (HTTP status 400) and masking leave them alone.
 */
function labelDocumentError(error: GraphQLError, reason: string): void {
  const extensions = error.extensions as Record<string, unknown>;
  if (extensions.code === 'VALIDATION_ERROR') return;
  const previous = typeof extensions.code === 'string' ? extensions.code : reason;
  extensions.code = 'VALIDATION_ERROR';
  extensions.details = { reason: previous };
}

/**
 * Applies `mapError` to every result (queries, mutations, each subscription
 * event) while the request context is at hand, so that an unexpected error is
 * logged with its request id before it is masked. Registered before Yoga's own
 * masking, which then finds nothing left to mask.
 */
export function useErrorMapping(logger: Logger): Plugin<GraphQLContext> {
  const mapAll = (errors: readonly GraphQLError[], context: Partial<GraphQLContext>): GraphQLError[] =>
    errors.map((error) => {
      const mapped = mapError(error, context.requestId);
      if (mapped.unexpected) {
        logger.error({ err: mapped.original, requestId: context.requestId, path: error.path }, 'unexpected error in GraphQL resolver');
      }
      return mapped.error;
    });

  const onResult =
    (context: Partial<GraphQLContext>) =>
    ({ result, setResult }: { result: ExecutionResult; setResult: (next: ExecutionResult) => void }) => {
      if (result.errors?.length) setResult({ ...result, errors: mapAll(result.errors, context) });
    };

  return {
    onParse() {
      return ({ result }) => {
        if (result instanceof GraphQLError) labelDocumentError(result, 'GRAPHQL_PARSE_FAILED');
      };
    },
    onValidate() {
      return ({ valid, result }) => {
        if (!valid) for (const error of result as readonly GraphQLError[]) labelDocumentError(error, 'GRAPHQL_VALIDATION_FAILED');
      };
    },
    onExecute({ args }) {
      return { onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, onResult(args.contextValue)) };
    },
    onSubscribe({ args }) {
      return {
        onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, onResult(args.contextValue)),
        onSubscribeError: ({ error, setError }) => {
          const mapped = mapError(error, args.contextValue.requestId);
          if (mapped.unexpected) logger.error({ err: mapped.original, requestId: args.contextValue.requestId }, 'subscription failed');
          setError(mapped.error);
        },
      };
    },
  };
}
