import { AppError, PayloadTooLargeError, ValidationError, renderError, retryAfterOf, type FieldNames } from '../errors/index.js';

export interface ErrorBody {
  error_code: string;
  message: string;
  details: Record<string, unknown>;
  timestamp: string;
  request_id: string;
  retry_after?: number;
}

/** The v2.3.0 names of the domain's input fields, as `details.field` and in messages; the others are the same. */
export const REST_FIELD_NAMES: FieldNames = {
  serverName: 'server_name',
  timeoutSeconds: 'timeout',
  agentId: 'agent_id',
  query: 'q',
};

/** The v2.3.0 error body. Only AppErrors reach it; everything else was masked before. */
export function renderErrorBody(error: AppError, requestId: string): ErrorBody {
  const rendered = renderError(error, REST_FIELD_NAMES);
  const body: ErrorBody = {
    error_code: error.code,
    message: rendered.message,
    details: rendered.details,
    timestamp: new Date().toISOString(),
    request_id: requestId,
  };
  // SPEC §5: the top-level retry_after belongs to the 429 body; a 503 says it in the header only.
  if (error.code === 'RATE_LIMIT_EXCEEDED' && rendered.retryAfter !== undefined) body.retry_after = rendered.retryAfter;
  return body;
}

/** Seconds for a Retry-After header, when the error has one (the rule of errors/render.ts). */
export { retryAfterOf };

interface FrameworkError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: unknown;
}

/**
 * Translates HTTP-framework errors (body parsing, size, content type) into the
 * documented codes; returns undefined for anything that must be masked.
 */
export function fromFrameworkError(error: FrameworkError, bodyLimit: number): AppError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError(bodyLimit);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return ValidationError.field('body', 'Request body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return ValidationError.field('body', 'Content-Type must be application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return ValidationError.field('body', 'Content-Length does not match the body');
  }
  if (error instanceof SyntaxError) return ValidationError.field('body', 'Request body is not valid JSON');
  if (error.statusCode === 413) return new PayloadTooLargeError(bodyLimit);
  if (error.statusCode === 400) return new ValidationError('Malformed request');
  return undefined;
}
