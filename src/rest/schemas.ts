import { z } from 'zod';
import { ValidationError } from '../errors/index.js';

/**
 * The v2.3.0 request bodies, as JSON: types and known fields only (SPEC §4:
 * unknown fields are rejected). The rules on the values (name pattern, URL,
 * timeout range, header names) belong to the services, for every door.
 */
export const createConnectionBody = z
  .object({
    server_name: z.string(),
    url: z.string(),
    timeout: z.number().optional(),
    namespace: z.string().optional(),
    agent_id: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export const executeToolBody = z.object({ arguments: z.unknown().optional() }).strict();

/** A body that is not a JSON object is refused before its fields are looked at. */
export function requireObject(body: unknown): Record<string, unknown> {
  // A string is what a text/plain body arrives as (and a JSON string): name the content type too.
  if (typeof body === 'string')
    throw ValidationError.field('body', 'Request body must be a JSON object, sent with Content-Type: application/json');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ValidationError.field('body', 'Request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** Approve / reject a held tool: optionally only the definition the reviewer saw. */
export const toolDecisionBody = z.object({ definition_hash: z.string().max(64).optional() }).strict();
