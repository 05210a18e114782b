/**
 * Every error a client may see is an AppError: one wire code, one HTTP status,
 * optional structured details. REST renders it as the v2.3.0 error body and
 * GraphQL maps `code` to `extensions.code`. Anything else is masked.
 */
export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'AUTHENTICATION_ERROR'
  | 'AUTHORIZATION_ERROR'
  | 'CONNECTION_NOT_FOUND'
  | 'EXECUTION_NOT_FOUND'
  | 'DUPLICATE_CONNECTION'
  | 'CONNECTION_NOT_ACTIVE'
  | 'TOOL_NOT_FOUND'
  | 'EXTERNAL_SERVICE_ERROR'
  | 'RATE_LIMIT_EXCEEDED'
  | 'SERVICE_UNAVAILABLE'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'INTERNAL_ERROR';

export type ErrorDetails = Record<string, unknown>;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly httpStatus: number,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('VALIDATION_ERROR', 400, message, details);
  }

  /** Convenience for the common "this field is wrong" case. */
  static field(field: string, message: string, extra: ErrorDetails = {}): ValidationError {
    return new ValidationError(message, { field, ...extra });
  }
}

export class AuthenticationError extends AppError {
  constructor(message = 'Authentication required', details: ErrorDetails = {}) {
    super('AUTHENTICATION_ERROR', 401, message, details);
  }
}

export class AuthorizationError extends AppError {
  constructor(message = 'Access denied', details: ErrorDetails = {}) {
    super('AUTHORIZATION_ERROR', 403, message, details);
  }
}

export class ConnectionNotFoundError extends AppError {
  constructor(connectionId: string) {
    super('CONNECTION_NOT_FOUND', 404, `Connection ${connectionId} not found`, { connection_id: connectionId });
  }
}

export class ExecutionNotFoundError extends AppError {
  constructor(executionId: string) {
    super('EXECUTION_NOT_FOUND', 404, `Execution ${executionId} not found`, { execution_id: executionId });
  }
}

export class DuplicateConnectionError extends AppError {
  constructor(serverName: string) {
    super('DUPLICATE_CONNECTION', 409, `A live connection named '${serverName}' already exists`, {
      server_name: serverName,
    });
  }
}

export class ConnectionNotActiveError extends AppError {
  constructor(connectionId: string, status: string) {
    super('CONNECTION_NOT_ACTIVE', 409, `Connection ${connectionId} is ${status}`, {
      connection_id: connectionId,
      status,
    });
  }
}

export class ToolNotFoundError extends AppError {
  constructor(toolName: string, connectionId: string) {
    super('TOOL_NOT_FOUND', 400, `Tool '${toolName}' is not offered by connection ${connectionId}`, {
      tool_name: toolName,
      connection_id: connectionId,
    });
  }
}

/** The upstream MCP server is unreachable, failed the handshake, or timed out. */
export class ExternalServiceError extends AppError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('EXTERNAL_SERVICE_ERROR', 502, message, details);
  }
}

export class RateLimitExceededError extends AppError {
  constructor(
    readonly endpointType: string,
    readonly limit: number,
    readonly periodSeconds: number,
    readonly retryAfterSeconds: number,
    message = `Rate limit exceeded for ${endpointType}`,
  ) {
    super('RATE_LIMIT_EXCEEDED', 429, message, {
      endpoint_type: endpointType,
      limit,
      period: periodSeconds,
      retry_after: retryAfterSeconds,
    });
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
    details: ErrorDetails = {},
  ) {
    super('SERVICE_UNAVAILABLE', 503, message, details);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number, what = 'Request body', httpStatus = 413) {
    super('PAYLOAD_TOO_LARGE', httpStatus, `${what} exceeds ${limitBytes} bytes`, { limit_bytes: limitBytes });
  }
}

export class RouteNotFoundError extends AppError {
  constructor(method: string, path: string) {
    super('NOT_FOUND', 404, `No route for ${method} ${path}`);
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
