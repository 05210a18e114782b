import type { z } from 'zod';
import { ValidationError } from '../errors/index.js';

/**
 * Runs a door's wire schema (JSON types, unknown fields) and turns its first
 * issue into a VALIDATION_ERROR naming the field as that door names it.
 * `at` is where the value sits in the door's terms (`input` for a GraphQL
 * argument); issues about the value as a whole name `at`, or `body`.
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, at?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ValidationError('Invalid request');
  const prefix = at === undefined ? [] : [at];
  if (issue.code === 'unrecognized_keys') {
    const path = [...prefix, ...issue.path, issue.keys[0] ?? ''].join('.');
    throw ValidationError.field(path, `Unknown field '${path}'`);
  }
  const field = [...prefix, ...issue.path].join('.') || 'body';
  const message = issue.code === 'invalid_type' ? `${field}: ${issue.message}` : issue.message;
  throw ValidationError.field(field, message);
}
