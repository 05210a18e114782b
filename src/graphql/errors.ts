import { GraphQLError } from 'graphql';
import { AppError, isAppError, renderError, type ErrorCode, type FieldNames } from '../errors/index.js';

/** The message every unexpected error is replaced with. */
export const MASKED_MESSAGE = 'Unexpected error.';

/** `extensions.code` of a masked error (the REST code of a 500). */
export const INTERNAL_CODE = 'INTERNAL_ERROR';

/** GraphQL speaks the REST codes, except for authentication, which GraphQL clients know as UNAUTHENTICATED. */
const GRAPHQL_CODES: Partial<Record<ErrorCode, string>> = {
  AUTHENTICATION_ERROR: 'UNAUTHENTICATED',
};

export function graphqlCodeOf(error: AppError): string {
  return GRAPHQL_CODES[error.code] ?? error.code;
}

export interface MappedError {
  error: GraphQLError;
  /** True when the original was not an expected error: it was masked and should be logged. */
  unexpected: boolean;
  original: unknown;
}

/**
 * The one place where errors become what a GraphQL client sees:
 * - an AppError (possibly wrapped by graphql-js with a path) keeps its message
 *   and gets `extensions.code` (REST code), `details`, and `retryAfter` when it has one;
 * - a GraphQLError raised by GraphQL itself (syntax, validation, variables,
 *   query limits) is a client mistake: it keeps its message and, unless it
 *   has a code already, gets VALIDATION_ERROR;
 * - anything else is masked as "Unexpected error." with code INTERNAL_ERROR.
 * Idempotent: an already mapped error is returned unchanged.
 */
export function mapError(error: unknown, requestId?: string): MappedError {
  const wrapper = error instanceof GraphQLError ? error : undefined;
  const original = wrapper ? (wrapper.originalError ?? wrapper) : error;

  if (original instanceof ArgumentsError) {
    return { error: fromAppError(original.error, wrapper, original.names), unexpected: false, original: original.error };
  }
  if (isAppError(original)) {
    return { error: fromAppError(original, wrapper), unexpected: false, original };
  }
  if (original instanceof GraphQLError) {
    const innermost = innermostError(original);
    if (innermost instanceof ArgumentsError) {
      return { error: fromAppError(innermost.error, wrapper, innermost.names), unexpected: false, original: innermost.error };
    }
    if (isAppError(innermost)) return { error: fromAppError(innermost, wrapper), unexpected: false, original: innermost };
    if (innermost instanceof GraphQLError) return { error: labelled(wrapper ?? original), unexpected: false, original };
    return { error: masked(wrapper, requestId), unexpected: true, original: innermost };
  }
  return { error: masked(wrapper, requestId), unexpected: true, original };
}

function innermostError(error: GraphQLError): unknown {
  let current: unknown = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

function fromAppError(error: AppError, located: GraphQLError | undefined, names: FieldNames = {}): GraphQLError {
  const rendered = renderError(error, names);
  const extensions: Record<string, unknown> = { code: graphqlCodeOf(error) };
  if (Object.keys(rendered.details).length > 0) extensions.details = rendered.details;
  if (rendered.retryAfter !== undefined) extensions.retryAfter = rendered.retryAfter;
  return new GraphQLError(rendered.message, {
    nodes: located?.nodes,
    source: located?.source,
    positions: located?.positions,
    path: located?.path,
    extensions,
  });
}

/**
 * GraphQL's own errors (variables, scalars, document) keep their message; one
 * without a code is a client mistake and gets VALIDATION_ERROR — in place, as
 * Yoga labels them, so the same object flows on and is not logged as masked.
 */
function labelled(error: GraphQLError): GraphQLError {
  const extensions = error.extensions as Record<string, unknown>;
  const foreign = typeof extensions.code === 'string' ? FOREIGN_CLIENT_ERROR_CODES[extensions.code] : undefined;
  if (foreign) {
    // Yoga's own refusals (request method and params, operation name, body size): the gateway's code for them.
    extensions.details = { reason: extensions.code };
    extensions.code = foreign;
    // Yoga attaches the parser's own exception (`SyntaxError: Unexpected end of JSON input`): the message says enough.
    delete extensions.originalError;
  }
  if (typeof extensions.code !== 'string') extensions.code = 'VALIDATION_ERROR';
  return error;
}

/** Codes Yoga gives the requests it refuses before executing them, and the gateway's codes for them. */
const FOREIGN_CLIENT_ERROR_CODES: Readonly<Record<string, ErrorCode>> = {
  BAD_REQUEST: 'VALIDATION_ERROR',
  OPERATION_RESOLUTION_FAILURE: 'VALIDATION_ERROR',
  REQUEST_ENTITY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
};

function masked(located: GraphQLError | undefined, requestId: string | undefined): GraphQLError {
  const extensions: Record<string, unknown> = { code: INTERNAL_CODE };
  if (requestId) extensions.requestId = requestId;
  return new GraphQLError(MASKED_MESSAGE, { nodes: located?.nodes, path: located?.path, extensions });
}

/** An AppError raised under a field whose arguments name the domain's fields their own way. */
class ArgumentsError extends Error {
  constructor(
    readonly error: AppError,
    readonly names: FieldNames,
  ) {
    super(error.message);
  }
}

/**
 * Reports the domain field an error names by its argument path in this field
 * (`serverName` → `input.serverName`), so the client can find it.
 */
export function inArgumentTerms<T>(work: Promise<T>, names: FieldNames): Promise<T> {
  return work.catch((error: unknown) => {
    throw isAppError(error) && error.field !== undefined ? new ArgumentsError(error, names) : error;
  });
}
