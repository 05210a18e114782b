import { z } from 'zod';
import { AGENT_ID_PATTERN } from '../auth/jwt.js';
import { AuthorizationError, ValidationError } from '../errors/index.js';
import type { Principal } from '../auth/principal.js';
import { duplicateHeaderName, upstreamHeaderRefusal } from './upstream-headers.js';

export const SERVER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;
export const DEFAULT_TIMEOUT_SECONDS = 30;
export const MIN_TIMEOUT_SECONDS = 5;
export const MAX_TIMEOUT_SECONDS = 300;
export const MAX_LIST_LIMIT = 100;
export const DEFAULT_LIST_LIMIT = 20;

/** Field names in errors are the REST (v2.3.0) names; GraphQL reports them as they are. */
export const createConnectionInput = z
  .object({
    server_name: z.string().regex(SERVER_NAME_PATTERN, 'server_name must be 1-100 letters, digits, - or _'),
    url: z
      .string()
      .max(2048, 'url must be at most 2048 characters')
      .refine(isHttpUrl, 'url must be an absolute http:// or https:// URL'),
    timeout: z
      .number()
      .int('timeout must be an integer number of seconds')
      .min(MIN_TIMEOUT_SECONDS, `timeout must be at least ${MIN_TIMEOUT_SECONDS} seconds`)
      .max(MAX_TIMEOUT_SECONDS, `timeout must be at most ${MAX_TIMEOUT_SECONDS} seconds`)
      .default(DEFAULT_TIMEOUT_SECONDS),
    namespace: z.string().min(1, 'namespace must not be empty').max(128).optional(),
    agent_id: z.string().regex(AGENT_ID_PATTERN, 'agent_id must be 1-128 letters, digits, . _ : @ or -').optional(),
    headers: z
      .record(
        z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/, 'header names must be HTTP tokens'),
        // RFC 9110 field-value characters: anything else cannot be sent and would fail the handshake (502) instead.
        z.string().max(8192).regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'header values must be printable characters (no line breaks or controls, Latin-1 only)'),
      )
      .refine((h) => Object.keys(h).length <= 32, 'at most 32 headers')
      .superRefine(refuseReservedHeaders)
      .optional(),
  })
  .strict();

/** Upstream headers are for credentials: see upstream-headers.ts for what an agent may set. */
function refuseReservedHeaders(headers: Record<string, string>, ctx: z.RefinementCtx): void {
  const names = Object.keys(headers);
  const duplicate = duplicateHeaderName(names);
  if (duplicate) ctx.addIssue({ code: 'custom', path: [duplicate], message: `header '${duplicate}' is given twice` });
  for (const name of names) {
    const refusal = upstreamHeaderRefusal(name);
    if (refusal) ctx.addIssue({ code: 'custom', path: [name], message: refusal });
  }
}

export type CreateConnectionInput = z.input<typeof createConnectionInput>;
export type ValidCreateConnection = z.output<typeof createConnectionInput>;

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}

/** Runs a zod schema and turns its first issue into a VALIDATION_ERROR naming the field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ValidationError('Invalid request');
  if (issue.code === 'unrecognized_keys') {
    const field = issue.keys[0] ?? '';
    const path = [...issue.path, field].join('.');
    throw ValidationError.field(path, `Unknown field '${path}'`);
  }
  const field = issue.path.join('.') || 'body';
  const message = issue.code === 'invalid_type' ? `${field}: ${issue.message}` : issue.message;
  throw ValidationError.field(field, message);
}

/**
 * Namespace and agent id in a body are claims to check, never to trust: they
 * default to the verified values and must match them (SPEC §3).
 */
export function assertClaimsMatch(principal: Principal, claims: { namespace?: string; agent_id?: string }): void {
  if (claims.namespace !== undefined && claims.namespace !== principal.namespace) {
    throw new AuthorizationError('namespace does not match the authenticated agent', { field: 'namespace' });
  }
  if (claims.agent_id !== undefined && claims.agent_id !== principal.agentId) {
    throw new AuthorizationError('agent_id does not match the authenticated agent', { field: 'agent_id' });
  }
}
