import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** One id per incoming request, whichever door asks first (Fastify's genReqId, the WebSocket upgrade). */
const assigned = new WeakMap<IncomingMessage, string>();

/** Reuses a well-formed incoming X-Request-ID (so traces join up), otherwise mints a UUID (SPEC §4). */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && REQUEST_ID_PATTERN.test(value) ? value : randomUUID();
}

/** The request id of a raw Node request: the same value every time it is asked for. */
export function requestIdOf(request: IncomingMessage): string {
  let id = assigned.get(request);
  if (id === undefined) {
    id = requestIdFrom(request.headers['x-request-id']);
    assigned.set(request, id);
  }
  return id;
}
