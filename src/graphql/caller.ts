import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticatedCaller } from '../auth/authenticate.js';
import type { Services } from '../services/container.js';

/** A caller whose token checked out, and until when it stays valid. */
export type VerifiedCaller = AuthenticatedCaller;

/**
 * What Yoga is handed besides the request. Over HTTP `req`/`reply` are
 * Fastify's and the authentication plugin fills in the rest; over WebSocket
 * the socket server fills it in per operation.
 */
export interface GatewayServerContext {
  req?: FastifyRequest;
  reply?: FastifyReply;
  caller?: VerifiedCaller;
  requestId?: string;
  clientIp?: string;
}

/**
 * Authenticates an Authorization value (`Bearer x`; a bare token too for
 * WebSocket connectionParams) with the same Authenticator as REST, and
 * works out when the token expires so long-lived streams can end then.
 */
export function verifyCaller(services: Services, authorization: string | undefined, allowBareToken: boolean): Promise<VerifiedCaller> {
  return services.authenticator.authenticateCaller(authorization, allowBareToken);
}
