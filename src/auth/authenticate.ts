import { decodeJwt } from 'jose';
import { LoadingCache } from '../common/loading-cache.js';
import { AuthenticationError } from '../errors/index.js';
import type { AgentLookup } from './agent-lookup.js';
import { CLOCK_SKEW_SECONDS, extractBearerToken, secretKeyBytes, verifyAgentToken } from './jwt.js';
import type { Principal } from './principal.js';

/**
 * How long a verified agent record may be reused. Short enough that a
 * deactivated agent is refused within a second, long enough to take the
 * database off the hot path of busy agents.
 */
export const AGENT_CACHE_TTL_MS = 1_000;

/**
 * How long a token whose signature and claims checked out is trusted without
 * verifying it again (never past its `exp`). Verification is a pure function
 * of the token bytes and the clock, so a cached success is the same answer;
 * whether the agent may still act is decided by the agent lookup each time.
 */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Distinct tokens remembered; above it the cache starts over. */
const MAX_CACHED_ENTRIES = 10_000;

/** Used when TMWS_AUTH_ENABLED=false (development and test only). */
export const ANONYMOUS_PRINCIPAL: Principal = { agentId: 'dev-agent', namespace: 'default', role: 'admin' };

export interface AuthenticatorOptions {
  secretKey: string;
  authEnabled: boolean;
  /** Longest token lifetime accepted, in seconds (SPEC §14). @default no limit */
  maxTokenTtlSeconds?: number;
}

/** An authenticated caller, and until when its token is accepted. */
export interface AuthenticatedCaller {
  principal: Principal;
  /** Epoch ms after which the token is refused (`exp` + the tolerated clock skew); null without authentication. */
  expiresAt: number | null;
}

interface VerifiedToken {
  agentId: string;
  /** `exp` + skew, in epoch ms. */
  expiresAt: number;
  /** When this cached verification is dropped (never after `expiresAt`). */
  trustUntil: number;
}

/** Token → Principal: verifies the JWT, then reads namespace and role from the database. */
export class Authenticator {
  private readonly secret: Uint8Array;
  private readonly cache = new LoadingCache<string, Principal | null>(AGENT_CACHE_TTL_MS, MAX_CACHED_ENTRIES);
  private readonly verifiedTokens = new Map<string, VerifiedToken>();

  constructor(
    private readonly agents: AgentLookup,
    private readonly options: AuthenticatorOptions,
  ) {
    this.secret = secretKeyBytes(options.secretKey);
  }

  /** `authorization` is a header value; `allowBareToken` for WebSocket connectionParams. */
  async authenticate(authorization: string | undefined | null, allowBareToken = false): Promise<Principal> {
    return (await this.authenticateCaller(authorization, allowBareToken)).principal;
  }

  /** Like `authenticate`, also telling when the token expires (long-lived streams end then). */
  async authenticateCaller(authorization: string | undefined | null, allowBareToken = false): Promise<AuthenticatedCaller> {
    if (!this.options.authEnabled) return { principal: ANONYMOUS_PRINCIPAL, expiresAt: null };
    const token = extractBearerToken(authorization, allowBareToken);
    if (!token) throw new AuthenticationError('Missing bearer token');
    const verified = await this.verify(token);
    const principal = await this.loadActiveAgent(verified.agentId);
    if (!principal) throw new AuthenticationError('Agent is unknown or inactive');
    return { principal, expiresAt: verified.expiresAt };
  }

  private async verify(token: string): Promise<VerifiedToken> {
    const now = Date.now();
    const known = this.verifiedTokens.get(token);
    if (known && known.trustUntil > now) return known;
    const agentId = await verifyAgentToken(token, this.secret, this.options.maxTokenTtlSeconds);
    // `exp` is present and numeric: verification requires it.
    const expiresAt = (Number(decodeJwt(token).exp) + CLOCK_SKEW_SECONDS) * 1000;
    const verified = { agentId, expiresAt, trustUntil: Math.min(expiresAt, now + VERIFIED_TOKEN_TTL_MS) };
    if (this.verifiedTokens.size >= MAX_CACHED_ENTRIES) this.verifiedTokens.clear();
    this.verifiedTokens.set(token, verified);
    return verified;
  }

  /**
   * Whether an already authenticated caller may still act, and as whom now:
   * the token must not have expired and the agent must still exist and be
   * active. Reads the agent through the same short-lived cache as
   * `authenticateCaller`, so long-lived streams see a change within
   * AGENT_CACHE_TTL_MS, whichever process made it (the CLI writes the
   * database directly; nothing is pushed to this cache).
   */
  async revalidate(caller: AuthenticatedCaller): Promise<Principal> {
    if (!this.options.authEnabled) return caller.principal;
    if (caller.expiresAt !== null && Date.now() >= caller.expiresAt) throw new AuthenticationError('Token has expired');
    const principal = await this.loadActiveAgent(caller.principal.agentId);
    if (!principal) throw new AuthenticationError('Agent is unknown or inactive');
    return principal;
  }

  private loadActiveAgent(agentId: string): Promise<Principal | null> {
    return this.cache.get(agentId, async () => {
      const agent = await this.agents.findById(agentId);
      return agent && agent.status === 'active' ? { agentId: agent.id, namespace: agent.namespace, role: agent.role } : null;
    });
  }

  /** Drops cached agents, e.g. after the CLI changed one in the same process. */
  forget(agentId?: string): void {
    if (agentId) this.cache.delete(agentId);
    else this.cache.clear();
  }
}
