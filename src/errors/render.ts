import type { AppError, ErrorDetails } from './app-error.js';

/**
 * A door's names for the domain's input fields (`serverName` → REST `server_name`,
 * GraphQL `input.serverName`). Keyed by the first segment of a field path; the
 * rest of the path (`headers.X-Api-Key`) is kept. Unlisted names pass unchanged.
 */
export type FieldNames = Readonly<Record<string, string>>;

/** What every door shows of an AppError, in that door's field names. */
export interface RenderedError {
  message: string;
  details: ErrorDetails;
  /** Whole seconds, at least 1, when the error has a retry-after. */
  retryAfter?: number;
}

/** A domain field path in a door's terms. */
export function fieldIn(names: FieldNames, field: string): string {
  const dot = field.indexOf('.');
  const head = dot < 0 ? field : field.slice(0, dot);
  const renamed = names[head];
  return renamed === undefined ? field : renamed + field.slice(head.length);
}

/**
 * The one rule for Retry-After (SPEC §5: the time left, in whole seconds): rounded
 * up, never below 1 — a client told 0 would retry at once into the same refusal.
 */
export function retryAfterOf(error: AppError): number | undefined {
  const seconds = error.retryAfterSeconds;
  return seconds === undefined ? undefined : Math.max(1, Math.ceil(seconds));
}

/**
 * The typed fields of an error as a door shows them: `details.field` (in the
 * door's names) first, the error's own details, then `details.reason` and
 * `details.execution_id`; a
 * "<field> <rule>" message is written with the door's field name.
 */
export function renderError(error: AppError, names: FieldNames): RenderedError {
  const field = error.field === undefined ? undefined : fieldIn(names, error.field);
  const message = field !== undefined && error.rule !== undefined ? `${field} ${error.rule}` : error.message;
  const details: ErrorDetails = field === undefined ? { ...error.extraDetails } : { field, ...error.extraDetails };
  if (error.reason !== undefined) details.reason = error.reason;
  if (error.executionId !== undefined) details.execution_id = error.executionId;
  const rendered: RenderedError = { message, details };
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined) rendered.retryAfter = retryAfter;
  return rendered;
}
