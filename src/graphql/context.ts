import type DataLoader from 'dataloader';
import type { Principal } from '../auth/principal.js';
import { AuthenticationError } from '../errors/index.js';
import type { BucketName } from '../ratelimit/buckets.js';
import type { FieldResolverArgs } from './plugins/field-rate-limit.js';
import type { McpConnection } from '../services/domain.js';
import type { Services } from '../services/container.js';

/**
 * What every resolver receives. Built per HTTP request, and per operation on
 * a WebSocket. `principal` is null only before authentication; every field is
 * guarded by the `authenticated` scope, under which it is non-null.
 */
export interface GraphQLContext {
  services: Services;
  principal: Principal | null;
  /** The request id of the HTTP request, or of the WebSocket's upgrade request (src/http/request-id.ts). */
  requestId: string;
  /** Client address the rate limiter counts (callerOf in src/http/caller.ts). */
  clientIp: string;
  /**
   * Draws one request from a rate-limit bucket for this field resolution
   * (aliases count one each). Rejects RATE_LIMIT_EXCEEDED or SERVICE_UNAVAILABLE.
   */
  drawRateLimit(bucket: BucketName, resolver: FieldResolverArgs): Promise<void>;
  /** Epoch milliseconds at which the caller's token expires; subscriptions end then. Null without expiry. */
  credentialsExpireAt: number | null;
  /** Batches this request's connection lookups of nested fields (`connectionOf` in types/connection.ts); made on first use. */
  connectionLoader: DataLoader<string, McpConnection> | undefined;
}

/** The context seen by resolvers under the `authenticated` scope. */
export type AuthenticatedContext = GraphQLContext & { principal: Principal };

/**
 * The principal of a context that passed the `authenticated` scope. Used
 * where Pothos cannot narrow the context type (batch loaders).
 */
export function requirePrincipal(context: GraphQLContext): Principal {
  if (!context.principal) throw new AuthenticationError('Authentication required');
  return context.principal;
}

/**
 * Lets go of everything a finished operation's context references (the
 * request view and parameters, the principal, the services), leaving an
 * object with every property undefined.
 *
 * Pothos keeps per-request state (scope-auth's cache) in module-level
 * WeakMaps keyed by the context, with values that refer back to it. V8's
 * young-generation collector treats WeakMap values as strong, so such a
 * context cannot die young: after its request it is copied into the old
 * generation, with all it references, to wait for a full collection.
 * Emptied, only the shell and Pothos's cache are left to copy
 * (bench/README.md, tenth round).
 *
 * Only once the result is complete and nothing will read the context again:
 * never for a stream (a subscription's context lives as long as it does).
 */
export function releaseContext(context: object): void {
  const record = context as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = undefined;
}
