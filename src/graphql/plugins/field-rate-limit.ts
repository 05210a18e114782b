import type { GraphQLResolveInfo } from 'graphql';
import { getGraphQLRateLimiter, type Identity, type Store } from 'graphql-rate-limit';
import { RateLimitExceededError, ServiceUnavailableError } from '../../errors/index.js';
import type { BucketName } from '../../ratelimit/buckets.js';
import type { RateLimiter, RateLimitOutcome, RateLimitSubject } from '../../ratelimit/limiter.js';

export interface FieldResolverArgs {
  parent: unknown;
  args: Record<string, unknown>;
  context: unknown;
  info: GraphQLResolveInfo;
}

export type GraphQLFieldLimiter = (
  resolverArgs: FieldResolverArgs,
  bucket: BucketName,
  subject: RateLimitSubject,
) => Promise<RateLimitOutcome>;

/** One field resolution waiting for its verdict from the core limiter. */
interface PendingCall {
  bucket: BucketName;
  subject: RateLimitSubject;
  outcome?: RateLimitOutcome;
  rejection?: RateLimitExceededError;
}

/**
 * graphql-rate-limit is told `max: 1`; the store reports no earlier call when
 * the core allowed the request and one call in the window when it limited it,
 * so graphql-rate-limit reaches the same verdict as the core.
 */
const MAX_CALLS = 1;

/**
 * A graphql-rate-limit Store that keeps no timestamps of its own: reading a
 * call's history *is* the atomic consume on the core limiter (Redis or
 * memory), so GraphQL and REST draw from one set of counters. Writing is a
 * no-op because the core already counted the call.
 */
class CoreLimiterStore implements Store {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly pending: Map<string, PendingCall>,
  ) {}

  async getForIdentity(identity: Identity): Promise<readonly number[]> {
    const call = this.pending.get(identity.contextIdentity);
    if (!call) throw new Error('graphql rate limit call without a registered subject');
    try {
      call.outcome = await this.limiter.consume(call.bucket, call.subject, 1);
      return [];
    } catch (error) {
      if (!(error instanceof RateLimitExceededError)) throw error;
      call.rejection = error;
      return new Array<number>(MAX_CALLS).fill(Date.now());
    }
  }

  setForIdentity(): void {
    // Counted already by getForIdentity.
  }
}

/**
 * Rate limiting for GraphQL field resolvers, built on graphql-rate-limit's
 * `getGraphQLRateLimiter` over the core limiter. Every call of a limited field
 * counts 1, so a request with N aliases of a mutation counts N. Rejects
 * RateLimitExceededError or ServiceUnavailableError like `consume()`.
 */
export function createGraphQLFieldLimiter(limiter: RateLimiter): GraphQLFieldLimiter {
  const pending = new Map<string, PendingCall>();
  let sequence = 0;
  const rateLimit = getGraphQLRateLimiter({
    // The context handed to graphql-rate-limit is our ticket, not the request context.
    identifyContext: (ticket: { id: string }) => ticket.id,
    store: new CoreLimiterStore(limiter, pending),
  });

  return async ({ parent, args, info }, bucket, subject) => {
    sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
    const id = `call-${sequence}`;
    const call: PendingCall = { bucket, subject };
    pending.set(id, call);
    try {
      // No `window`: its default (60 s) is the window meant, and a string would be parsed by `ms` on every call.
      // The store above keeps no timestamps, so the window never decides anything anyway.
      const message = await rateLimit({ parent, args, context: { id }, info }, { max: MAX_CALLS });
      if (message !== undefined) throw call.rejection ?? new ServiceUnavailableError('Rate limiter unavailable; request denied');
      if (!call.outcome) throw new ServiceUnavailableError('Rate limiter unavailable; request denied');
      return call.outcome;
    } catch (error) {
      if (error instanceof RateLimitExceededError || error instanceof ServiceUnavailableError) throw error;
      throw new ServiceUnavailableError('Rate limiter unavailable; request denied');
    } finally {
      pending.delete(id);
    }
  };
}
