import { AppError, RateLimitExceededError, ServiceUnavailableError, ValidationError, PayloadTooLargeError } from '../errors/index.js';

export interface ErrorBody {
  error_code: string;
  message: string;
  details: Record<string, unknown>;
  timestamp: string;
  request_id: string;
  retry_after?: number;
}

/** The v2.3.0 error body. Only AppErrors reach it; everything else was masked before. */
export function renderErrorBody(error: AppError, requestId: string): ErrorBody {
  const body: ErrorBody = {
    error_code: error.code,
    message: error.message,
    details: error.details,
    timestamp: new Date().toISOString(),
    request_id: requestId,
  };
  if (error instanceof RateLimitExceededError) body.retry_after = error.retryAfterSeconds;
  return body;
}

/** Seconds for a Retry-After header, when the error has one. */
export function retryAfterOf(error: AppError): number | undefined {
  if (error instanceof RateLimitExceededError) return error.retryAfterSeconds;
  if (error instanceof ServiceUnavailableError) return error.retryAfterSeconds;
  return undefined;
}

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
