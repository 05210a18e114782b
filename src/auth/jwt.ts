import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { AuthenticationError } from '../errors/index.js';

/** Tolerated clock difference between the token issuer and this gateway. */
export const CLOCK_SKEW_SECONDS = 30;

export const AGENT_ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;

export function secretKeyBytes(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** Signs an HS256 token for `agentId`, valid for `ttlSeconds`. */
export async function signAgentToken(agentId: string, secret: Uint8Array, ttlSeconds: number): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(agentId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(secret);
}

/**
 * Verifies signature (HS256 only — `none` and every other alg are refused by
 * jose's allow-list), `exp` presence and expiry, the token's lifetime (at most
 * `maxLifetimeSeconds`, SPEC §14), and returns the agent id (`sub`).
 */
export async function verifyAgentToken(token: string, secret: Uint8Array, maxLifetimeSeconds = Number.POSITIVE_INFINITY): Promise<string> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ['exp', 'sub'],
    });
    const subject = payload.sub;
    if (typeof subject !== 'string' || !AGENT_ID_PATTERN.test(subject)) {
      throw new AuthenticationError('Token subject is not a valid agent id');
    }
    assertLifetimeWithin(payload, maxLifetimeSeconds);
    return subject;
  } catch (error) {
    if (error instanceof AuthenticationError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new AuthenticationError('Token has expired');
    if (error instanceof joseErrors.JOSEAlgNotAllowed) throw new AuthenticationError('Token algorithm not allowed (HS256 only)');
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      throw new AuthenticationError(`Token claim '${error.claim}' is missing or invalid`);
    }
    throw new AuthenticationError('Invalid token');
  }
}

/**
 * A stolen long-lived token must not stay useful for months: `exp − iat` (or
 * `exp − now` without `iat`) may not exceed the maximum. A future `iat` does
 * not buy a longer life either: `exp − now` is checked too, with the usual
 * clock-skew tolerance so that a maximal token from a slightly fast issuer
 * still passes.
 */
function assertLifetimeWithin(payload: { exp?: number; iat?: number }, maxLifetimeSeconds: number): void {
  const exp = Number(payload.exp);
  const now = Date.now() / 1000;
  const tooLong =
    (typeof payload.iat === 'number' && exp - payload.iat > maxLifetimeSeconds) ||
    exp - now > maxLifetimeSeconds + (typeof payload.iat === 'number' ? CLOCK_SKEW_SECONDS : 0);
  if (tooLong) {
    throw new AuthenticationError(
      `Token lifetime exceeds the maximum of ${formatSeconds(maxLifetimeSeconds)}; ask for a shorter-lived token`,
    );
  }
}

/** 604800 → "7d", 5400 → "90m", 45 → "45s": how durations are written in the configuration. */
export function formatSeconds(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** Accepts `Bearer <token>` (any case) and, for WebSocket connectionParams, a bare token. */
export function extractBearerToken(header: string | undefined | null, allowBare = false): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match) return match[1];
  if (allowBare && /^[\w-]+\.[\w-]+\.[\w-]*$/.test(header.trim())) return header.trim();
  return undefined;
}
