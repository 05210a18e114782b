import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { clientIp } from './client-ip.js';
import { requestIdOf } from './request-id.js';

/**
 * Who is calling, as far as the transport tells: the same answer for REST,
 * GraphQL over HTTP, the GraphQL WebSocket upgrade and the MCP endpoint.
 * The token is verified by `auth/`; this only carries it.
 */
export interface Caller {
  /** X-Request-ID when well-formed, otherwise a fresh UUID; stable per request. */
  requestId: string;
  /** The address the rate limiter counts (SPEC §5). */
  clientIp: string;
  /** The Authorization header as sent, unverified. */
  authorization: string | undefined;
}

/** Worked out once per request, however many hooks (authentication, rate limit) ask. */
const callers = new WeakMap<IncomingMessage, { caller: Caller; trustedProxies: readonly string[] }>();

/**
 * The caller of a Fastify request or of a raw Node request (a WebSocket
 * upgrade). The client IP is the TCP peer, or behind `trustedProxies` the
 * right-most X-Forwarded-For hop that is not itself a trusted proxy.
 */
export function callerOf(request: FastifyRequest | IncomingMessage, trustedProxies: string[]): Caller {
  const raw = 'raw' in request ? request.raw : request;
  const known = callers.get(raw);
  if (known?.trustedProxies === trustedProxies) return known.caller;
  const { headers } = raw;
  const caller: Caller = {
    requestId: requestIdOf(raw),
    clientIp: clientIp(raw.socket.remoteAddress ?? '', firstValue(headers['x-forwarded-for']), trustedProxies),
    authorization: firstValue(headers.authorization),
  };
  callers.set(raw, { caller, trustedProxies });
  return caller;
}

/**
 * The caller of a request handed to Yoga in-process (`yoga.fetch`, no Fastify
 * request behind it): there is no peer to name and no id assigned.
 */
export function callerOfFetch(request: { headers: { get(name: string): string | null } }): Caller {
  return { requestId: 'unknown', clientIp: 'unknown', authorization: request.headers.get('authorization') ?? undefined };
}

function firstValue(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header;
}
