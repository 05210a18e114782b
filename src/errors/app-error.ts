import { renderError } from './render.js';

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
  | 'TOOL_QUARANTINED'
  | 'TOOL_DENIED'
  | 'TOOL_NOT_QUARANTINED'
  | 'CONNECTION_LIMIT_REACHED'
  | 'EXTERNAL_SERVICE_ERROR'
  | 'RATE_LIMIT_EXCEEDED'
  | 'SERVICE_UNAVAILABLE'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'INTERNAL_ERROR';

export type ErrorDetails = Record<string, unknown>;

/** What an error says beyond its code and message, as typed fields each door renders in its own terms. */
export interface AppErrorOptions {
  /**
   * The input at fault, by its DOMAIN name (camelCase path: `serverName`,
   * `headers.X-Api-Key`, `arguments.a`). REST renders it as `details.field`
   * in snake_case, GraphQL as the argument path; see `errors/render.ts`.
   */
  field?: string;
  /**
   * When set, the message is "<field> <rule>": each door writes it with its own
   * name for the field, so no door has to edit message text.
   */
  rule?: string;
  /** Machine-readable cause (`timeout`, `url_not_allowed`, …), rendered as `details.reason`. */
  reason?: string;
  /** Seconds before a retry makes sense (rate limit block, an outage): Retry-After. */
  retryAfterSeconds?: number;
}

export class AppError extends Error {
  readonly field?: string;
  readonly rule?: string;
  readonly reason?: string;
  readonly retryAfterSeconds?: number;
  /** The execution this failure ended, once its row is recorded (see `endedExecution`). */
  executionId?: string;

  constructor(
    readonly code: ErrorCode,
    readonly httpStatus: number,
    message: string,
    /** Details beyond the typed fields (`connection_id`, `limit`, …), in wire (snake_case) names. */
    readonly extraDetails: ErrorDetails = {},
    options: AppErrorOptions = {},
  ) {
    super(options.rule !== undefined && options.field !== undefined ? `${options.field} ${options.rule}` : message);
    this.name = new.target.name;
    if (options.field !== undefined) this.field = options.field;
    if (options.rule !== undefined) this.rule = options.rule;
    if (options.reason !== undefined) this.reason = options.reason;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /**
   * Names the execution whose FAILED row records this error, rendered as
   * `details.execution_id`: a caller answered with the error finds its audit
   * row by it (GraphQL `execution(id)`), as a caller answered with a result does.
   */
  endedExecution(executionId: string): this {
    this.executionId = executionId;
    return this;
  }

  /**
   * Everything the error says, in the domain's field names: `field`, the extra
   * details, `reason`, `execution_id` — what the doors render in their own
   * names (errors/render.ts), rendered here with none renamed; for logs and tests.
   */
  get details(): ErrorDetails {
    return renderError(this, {}).details;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details: ErrorDetails = {}, options: AppErrorOptions = {}) {
    super('VALIDATION_ERROR', 400, message, details, options);
  }

  /** "This field is wrong", in a message that does not name it. */
  static field(field: string, message: string, extra: ErrorDetails = {}, options: Omit<AppErrorOptions, 'field'> = {}): ValidationError {
    return new ValidationError(message, extra, { ...options, field });
  }

  /** "<field> <rule>" (e.g. `serverName` + "must be 1-100 letters…"), each door naming the field its own way. */
  static invalid(field: string, rule: string, extra: ErrorDetails = {}, options: Pick<AppErrorOptions, 'reason'> = {}): ValidationError {
    return new ValidationError(`${field} ${rule}`, extra, { ...options, field, rule });
  }
}

export class AuthenticationError extends AppError {
  constructor(message = 'Authentication required', details: ErrorDetails = {}) {
    super('AUTHENTICATION_ERROR', 401, message, details);
  }
}

export class AuthorizationError extends AppError {
  constructor(message = 'Access denied', details: ErrorDetails = {}, options: AppErrorOptions = {}) {
    super('AUTHORIZATION_ERROR', 403, message, details, options);
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

/** Tool governance: the tool's definition changed since approval, or was flagged, or rejected; an admin must decide. */
export class ToolQuarantinedError extends AppError {
  constructor(toolName: string, connectionId: string, state: string, reasons: readonly string[]) {
    super('TOOL_QUARANTINED', 403, `Tool '${toolName}' is ${state} until an admin of the namespace approves its definition`, {
      tool_name: toolName,
      connection_id: connectionId,
      review_state: state,
      reasons,
    });
  }
}

/** Tool governance: the namespace policy keeps this tool from this caller. */
export class ToolDeniedError extends AppError {
  constructor(toolName: string, connectionId: string, reason: string) {
    super('TOOL_DENIED', 403, `Tool '${toolName}' is ${reason}`, { tool_name: toolName, connection_id: connectionId, reason });
  }
}

/** Approving or rejecting a tool that has no pending change (or whose definition changed since it was shown). */
export class ToolNotQuarantinedError extends AppError {
  constructor(toolName: string, connectionId: string, message = `Tool '${toolName}' has no definition awaiting review`) {
    super('TOOL_NOT_QUARANTINED', 409, message, { tool_name: toolName, connection_id: connectionId });
  }
}

/** The namespace policy caps live connections per agent. */
export class ConnectionLimitReachedError extends AppError {
  constructor(limit: number) {
    super('CONNECTION_LIMIT_REACHED', 409, `The namespace policy allows ${limit} live connection(s) per agent`, { limit });
  }
}

/** Why an upstream could not be used (the table in src/mcp/errors.ts says what each means). */
export type UpstreamFailureReason =
  | 'unreachable'
  | 'timeout'
  | 'cancelled'
  | 'connection_lost'
  | 'session_expired'
  | 'handshake_failed'
  | 'unauthorized'
  | 'redirect_refused'
  | 'upstream_error'
  | 'protocol_error'
  | 'result_too_large'
  | 'result_too_deep'
  | 'too_many_tools'
  | 'disconnected';

/** The upstream MCP server is unreachable, failed the handshake, or timed out. */
export class ExternalServiceError extends AppError {
  declare readonly reason: UpstreamFailureReason;

  constructor(reason: UpstreamFailureReason, message: string, details: ErrorDetails = {}) {
    super('EXTERNAL_SERVICE_ERROR', 502, message, details, { reason });
  }
}

export class RateLimitExceededError extends AppError {
  declare readonly retryAfterSeconds: number;

  constructor(
    readonly endpointType: string,
    readonly limit: number,
    readonly periodSeconds: number,
    retryAfterSeconds: number,
    message = `Rate limit exceeded for ${endpointType}`,
  ) {
    super(
      'RATE_LIMIT_EXCEEDED',
      429,
      message,
      { endpoint_type: endpointType, limit, period: periodSeconds, retry_after: retryAfterSeconds },
      { retryAfterSeconds },
    );
  }
}

/** Seconds a client is told to wait after an outage of the limiter or a store. @default 5 */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

export class ServiceUnavailableError extends AppError {
  declare readonly retryAfterSeconds: number;

  constructor(message: string, options: Omit<AppErrorOptions, 'field' | 'rule'> = {}, details: ErrorDetails = {}) {
    super('SERVICE_UNAVAILABLE', 503, message, details, { retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS, ...options });
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
