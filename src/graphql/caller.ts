import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { extractBearerToken, CLOCK_SKEW_SECONDS } from '../auth/jwt.js';
import type { Principal } from '../auth/principal.js';
import type { Services } from '../services/container.js';

/** A caller whose token checked out, and until when it stays valid. */
export interface VerifiedCaller {
  principal: Principal;
  /** Epoch ms after which the token is refused (exp + the tolerated clock skew); null without authentication. */
  expiresAt: number | null;
}

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
export async function verifyCaller(services: Services, authorization: string | undefined, allowBareToken: boolean): Promise<VerifiedCaller> {
  const principal = await services.authenticator.authenticate(authorization, allowBareToken);
  if (!services.config.authEnabled) return { principal, expiresAt: null };
  // The token was verified just now; decoding it again only reads its (required) exp.
  const token = extractBearerToken(authorization, allowBareToken);
  const exp = token ? decodeJwt(token).exp : undefined;
  return { principal, expiresAt: typeof exp === 'number' ? (exp + CLOCK_SKEW_SECONDS) * 1000 : null };
}
