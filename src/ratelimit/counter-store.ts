import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { BUCKET_NAMES, halvedCapacity, windowCapacity, type BucketName, type BucketRule } from './buckets.js';

/**
 * Why rate-limiter-flexible rather than our own Lua script:
 * - its Redis path is already one atomic Lua call per key (SET NX EX, INCRBY,
 *   PTTL), so concurrent gateways never race on a counter;
 * - the in-memory fallback (RateLimiterMemory) runs the *same* algorithm,
 *   including `blockDuration` ("the request that overflows blocks the key"),
 *   so Redis and fallback differ only in their numbers, never in semantics;
 * - it is widely used and tested, which a home-grown script would not be.
 * The cost is two Redis calls per request (agent key and IP key); both are
 * issued together and pipelined on one socket, so they cost about one round
 * trip. Its `insuranceLimiter` is deliberately not used: the gateway needs to
 * see each Redis failure to count it, halve the limits and enter degraded mode.
 */

/** Versioned so that a change of key layout never reads counters of the old one. */
export const KEY_PREFIX = 'tmws:rl:v1';

export type KeyScope = 'agent' | 'ip';

/** One key's verdict for one request. */
export interface CountResult {
  allowed: boolean;
  /** Requests the key's window holds in this store. */
  capacity: number;
  remaining: number;
  /** Until the window resets (allowed) or the block ends (limited). */
  msBeforeNext: number;
}

/**
 * A place that counts requests per key atomically. Resolves with a verdict;
 * rejects only when the store itself failed.
 */
export interface CountingStore {
  readonly kind: 'redis' | 'memory';
  count(bucket: BucketName, scope: KeyScope, id: string, cost: number): Promise<CountResult>;
}

/** Thrown when a store answers something that is not a verdict; the limiter denies. */
export class StoreContractError extends Error {
  override name = 'StoreContractError';
}

interface KeyPlan {
  capacity: number;
  blockSeconds: number;
  periodSeconds: number;
}

type Plan = Map<string, KeyPlan>;

const planKey = (bucket: BucketName, scope: KeyScope): string => `${bucket}:${scope}`;

function makePlan(rules: Record<BucketName, BucketRule>, halve: boolean): Plan {
  const plan: Plan = new Map();
  for (const bucket of BUCKET_NAMES) {
    const rule = rules[bucket];
    for (const scope of ['agent', 'ip'] as const) {
      const full = windowCapacity(rule, scope);
      plan.set(planKey(bucket, scope), {
        capacity: halve ? halvedCapacity(full) : full,
        blockSeconds: rule.blockSeconds,
        periodSeconds: rule.periodSeconds,
      });
    }
  }
  return plan;
}

interface FlexibleLimiter {
  consume(key: string, points: number): Promise<RateLimiterRes>;
}

function toResult(allowed: boolean, res: RateLimiterRes, capacity: number): CountResult {
  const { remainingPoints, msBeforeNext } = res;
  if (!Number.isFinite(remainingPoints) || !Number.isFinite(msBeforeNext)) {
    throw new StoreContractError('rate limit store returned a malformed result');
  }
  // A key without expiry (msBeforeNext -1) would be a store bug; report a full period rather than "now".
  return { allowed, capacity, remaining: remainingPoints, msBeforeNext: msBeforeNext < 0 ? 60_000 : msBeforeNext };
}

class FlexibleStore implements CountingStore {
  private readonly limiters = new Map<string, { limiter: FlexibleLimiter; capacity: number }>();

  constructor(
    readonly kind: 'redis' | 'memory',
    plan: Plan,
    build: (keyPrefix: string, key: KeyPlan) => FlexibleLimiter,
  ) {
    for (const [name, key] of plan) {
      this.limiters.set(name, { limiter: build(`${KEY_PREFIX}:${name}`, key), capacity: key.capacity });
    }
  }

  async count(bucket: BucketName, scope: KeyScope, id: string, cost: number): Promise<CountResult> {
    const entry = this.limiters.get(planKey(bucket, scope));
    if (!entry) throw new StoreContractError(`unknown rate limit bucket ${bucket}`);
    try {
      return toResult(true, await entry.limiter.consume(id, cost), entry.capacity);
    } catch (outcome) {
      // rate-limiter-flexible rejects with a RateLimiterRes when the key is over its limit.
      if (outcome instanceof RateLimiterRes) return toResult(false, outcome, entry.capacity);
      throw outcome;
    }
  }
}

/** Counters in Redis, shared by every gateway process using that Redis. */
export function createRedisStore(redis: Redis, rules: Record<BucketName, BucketRule>): CountingStore {
  return new FlexibleStore(
    'redis',
    makePlan(rules, false),
    (keyPrefix, key) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix,
        points: key.capacity,
        duration: key.periodSeconds,
        blockDuration: key.blockSeconds,
        // Fail at once while disconnected instead of waiting for a command timeout.
        rejectIfRedisNotReady: true,
      }),
  );
}

/**
 * Counters in this process. `halve` gives the fallback used when Redis fails:
 * never unlimited, and tighter because other gateway processes count apart.
 */
export function createMemoryStore(rules: Record<BucketName, BucketRule>, options: { halve: boolean }): CountingStore {
  return new FlexibleStore(
    'memory',
    makePlan(rules, options.halve),
    (keyPrefix, key) =>
      new RateLimiterMemory({
        keyPrefix,
        points: key.capacity,
        duration: key.periodSeconds,
        blockDuration: key.blockSeconds,
      }),
  );
}
