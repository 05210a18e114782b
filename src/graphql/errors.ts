import { GraphQLError } from 'graphql';
import {
  AppError,
  RateLimitExceededError,
  ServiceUnavailableError,
  ValidationError,
  isAppError,
  type ErrorCode,
} from '../errors/index.js';

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

  if (isAppError(original)) {
    return { error: fromAppError(original, wrapper), unexpected: false, original };
  }
  if (original instanceof GraphQLError) {
    const innermost = innermostError(original);
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

function fromAppError(error: AppError, located: GraphQLError | undefined): GraphQLError {
  const extensions: Record<string, unknown> = { code: graphqlCodeOf(error) };
  if (Object.keys(error.details).length > 0) extensions.details = error.details;
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined) extensions.retryAfter = retryAfter;
  return new GraphQLError(error.message, {
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

/** Seconds until a retry makes sense (rate limit block, limiter or store outage). */
export function retryAfterOf(error: AppError): number | undefined {
  if (error instanceof RateLimitExceededError) return Math.max(1, Math.ceil(error.retryAfterSeconds));
  if (error instanceof ServiceUnavailableError) return Math.max(1, Math.ceil(error.retryAfterSeconds));
  return undefined;
}

/**
 * Re-labels a validation error's REST field name with the GraphQL argument
 * path (`server_name` → `input.serverName`), so the client can find it.
 */
export function renameValidationField<T>(work: Promise<T>, fields: Record<string, string>): Promise<T> {
  return work.catch((error: unknown) => {
    const field = error instanceof ValidationError ? error.details.field : undefined;
    if (error instanceof ValidationError && typeof field === 'string') {
      const head = field.split('.')[0] ?? field;
      const renamed = fields[head];
      if (renamed) {
        const path = renamed + field.slice(head.length);
        throw new ValidationError(error.message.split(field).join(path), { ...error.details, field: path });
      }
    }
    throw error;
  });
}
