import { AGENT_ID_PATTERN } from '../auth/jwt.js';
import type { Principal } from '../auth/principal.js';
import { AuthorizationError, ValidationError } from '../errors/index.js';
import { duplicateHeaderName, upstreamHeaderRefusal } from './upstream-headers.js';

/**
 * The domain's rules for the commands the services take. Each door checks its
 * own wire format (JSON types, unknown fields) first; what is left here holds
 * for every door and names fields by their domain (camelCase) names, which each
 * door renders its own way (REST `server_name`, GraphQL `input.serverName`).
 */

export const SERVER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;
export const DEFAULT_TIMEOUT_SECONDS = 30;
export const MIN_TIMEOUT_SECONDS = 5;
export const MAX_TIMEOUT_SECONDS = 300;
export const MAX_LIST_LIMIT = 100;
export const DEFAULT_LIST_LIMIT = 20;
export const MAX_URL_LENGTH = 2048;
export const MAX_NAMESPACE_LENGTH = 128;
export const MAX_UPSTREAM_HEADERS = 32;
export const MAX_HEADER_VALUE_LENGTH = 8192;

const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
/** RFC 9110 field-value characters: anything else cannot be sent and would fail the handshake (502) instead. */
const HEADER_VALUE_PATTERN = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Registers an upstream MCP server for the caller. */
export interface CreateConnectionCommand {
  serverName: string;
  url: string;
  /** @default DEFAULT_TIMEOUT_SECONDS */
  timeoutSeconds?: number;
  /** Sent upstream (credentials); sealed at rest, never returned. */
  headers?: Record<string, string>;
  /** What the caller claims its namespace is (REST body): checked against the verified one, never trusted. */
  namespace?: string;
  /** What the caller claims its agent id is (REST body): checked against the token subject, never trusted. */
  agentId?: string;
}

export type ValidCreateConnection = CreateConnectionCommand & { timeoutSeconds: number };

/**
 * Checks a create command field by field, in the order the fields are
 * documented (the first problem is reported), then the caller's claims
 * (validation before authorization, SPEC §4).
 */
export function validateCreateConnection(principal: Principal, command: CreateConnectionCommand): ValidCreateConnection {
  if (!SERVER_NAME_PATTERN.test(command.serverName)) {
    throw ValidationError.invalid('serverName', 'must be 1-100 letters, digits, - or _');
  }
  if (command.url.length > MAX_URL_LENGTH) throw ValidationError.invalid('url', `must be at most ${MAX_URL_LENGTH} characters`);
  if (!isHttpUrl(command.url)) throw ValidationError.invalid('url', 'must be an absolute http:// or https:// URL');
  const timeoutSeconds = command.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  assertTimeout(timeoutSeconds);
  if (command.namespace !== undefined) assertNamespaceClaim(command.namespace);
  if (command.agentId !== undefined && !AGENT_ID_PATTERN.test(command.agentId)) {
    throw ValidationError.invalid('agentId', 'must be 1-128 letters, digits, . _ : @ or -');
  }
  if (command.headers !== undefined) assertUpstreamHeaders(command.headers);
  assertClaimsMatch(principal, command);
  return { ...command, timeoutSeconds };
}

function assertTimeout(seconds: number): void {
  if (!Number.isInteger(seconds)) throw ValidationError.invalid('timeoutSeconds', 'must be an integer number of seconds');
  if (seconds < MIN_TIMEOUT_SECONDS) throw ValidationError.invalid('timeoutSeconds', `must be at least ${MIN_TIMEOUT_SECONDS} seconds`);
  if (seconds > MAX_TIMEOUT_SECONDS) throw ValidationError.invalid('timeoutSeconds', `must be at most ${MAX_TIMEOUT_SECONDS} seconds`);
}

function assertNamespaceClaim(namespace: string): void {
  if (namespace.length === 0) throw ValidationError.invalid('namespace', 'must not be empty');
  if (namespace.length > MAX_NAMESPACE_LENGTH) {
    throw ValidationError.field('namespace', `Too big: expected string to have <=${MAX_NAMESPACE_LENGTH} characters`);
  }
}

/** Upstream headers are for credentials: see upstream-headers.ts for what an agent may set. */
function assertUpstreamHeaders(headers: Record<string, string>): void {
  const names = Object.keys(headers);
  for (const name of names) {
    const field = `headers.${name}`;
    if (!HEADER_NAME_PATTERN.test(name)) throw ValidationError.field(field, 'Invalid key in record');
    const value = headers[name]!;
    if (value.length > MAX_HEADER_VALUE_LENGTH) {
      throw ValidationError.field(field, `Too big: expected string to have <=${MAX_HEADER_VALUE_LENGTH} characters`);
    }
    if (!HEADER_VALUE_PATTERN.test(value)) {
      throw ValidationError.field(field, 'header values must be printable characters (no line breaks or controls, Latin-1 only)');
    }
  }
  if (names.length > MAX_UPSTREAM_HEADERS) throw ValidationError.field('headers', `at most ${MAX_UPSTREAM_HEADERS} headers`);
  const duplicate = duplicateHeaderName(names);
  if (duplicate) throw ValidationError.field(`headers.${duplicate}`, `header '${duplicate}' is given twice`);
  for (const name of names) {
    const refusal = upstreamHeaderRefusal(name);
    if (refusal) throw ValidationError.field(`headers.${name}`, refusal);
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}

const NOT_THE_CALLER = 'does not match the authenticated agent';

/**
 * Namespace and agent id claimed by a caller are claims to check, never to
 * trust: they default to the verified values and must match them (SPEC §3).
 */
export function assertClaimsMatch(principal: Principal, claims: { namespace?: string; agentId?: string }): void {
  if (claims.namespace !== undefined && claims.namespace !== principal.namespace) {
    throw new AuthorizationError('namespace does not match the authenticated agent', {}, { field: 'namespace', rule: NOT_THE_CALLER });
  }
  if (claims.agentId !== undefined && claims.agentId !== principal.agentId) {
    throw new AuthorizationError('agentId does not match the authenticated agent', {}, { field: 'agentId', rule: NOT_THE_CALLER });
  }
}
