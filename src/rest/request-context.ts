import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication pre-handler on every protected route. */
    principal?: Principal;
    requestId: string;
  }
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** Reuses a well-formed incoming X-Request-ID (so traces join up), otherwise mints a UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && REQUEST_ID_PATTERN.test(value) ? value : randomUUID();
}

export function requirePrincipal(principal: Principal | undefined): Principal {
  if (!principal) throw new Error('route is missing the authentication pre-handler');
  return principal;
}
