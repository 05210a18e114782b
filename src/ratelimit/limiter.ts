import type { Redis } from 'ioredis';
import type { Config } from '../config/env.js';
import { withTimeout } from '../common/deadline.js';
import { RateLimitExceededError, ServiceUnavailableError } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { BUCKET_NAMES, bucketRules, halvedCapacity, windowCapacity, type BucketName, type BucketRule } from './buckets.js';
import { ipRateLimitKey } from './ip-key.js';
import {
  createMemoryStore,
  createRedisStore,
  StoreContractError,
  type CountingStore,
  type CountResult,
  type KeyScope,
} from './counter-store.js';
import {
  createLimiterRedisClient,
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  RedisHealth,
  didNotAnswer,
  type RedisHealthOptions,
} from './redis-health.js';
import { LimiterStatistics, type BucketStatistics, type Decision } from './statistics.js';

/** Who a request counts against. `namespace` only files the statistics; keys are agent id and IP. */
export interface RateLimitSubject {
  agentId: string;
  namespace: string;
  ip: string;
}

/** The agent key's numbers after an allowed request, for the X-RateLimit-* headers. */
export interface RateLimitOutcome {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

export interface LimiterHealth {
  /** The store deciding right now (`memory` while degraded). */
  store: 'memory' | 'redis';
  redis: 'ok' | 'down' | 'not_configured';
  degraded: boolean;
}

export interface RateLimiter {
  /**
   * Consumes `cost` points from the agent key AND the IP key (IP numbers ×5).
   * Resolves when allowed; rejects RateLimitExceededError when limited (retry =
   * time left of the block); ServiceUnavailableError on anything unexpected
   * (deny, never allow). When disabled (environment `test`) it resolves with
   * `UNLIMITED_OUTCOME` without touching a store, through the same call path.
   */
  consume(bucket: BucketName, subject: RateLimitSubject, cost?: number): Promise<RateLimitOutcome>;
  health(): LimiterHealth;
  /** Per-bucket counters of that namespace, Redis health and degraded flag (admin statistics route). */
  statistics(namespace: string): Promise<NamespaceRateLimitStatistics>;
  close(): Promise<void>;
}

/** One bucket of the statistics: its rule, the windows in force now, and this namespace's counters. */
export interface BucketStatisticsView extends BucketStatistics {
  limit: number;
  burst: number;
  period_seconds: number;
  block_seconds: number;
  agent_window: number;
  ip_window: number;
}

/** The admin statistics of one namespace (REST `/api/v1/admin/rate-limits/statistics`, GraphQL `rateLimitStatistics`). */
export interface NamespaceRateLimitStatistics {
  namespace: string;
  environment: Config['environment'];
  enabled: boolean;
  store: LimiterHealth['store'];
  redis: LimiterHealth['redis'];
  degraded: boolean;
  consecutive_redis_failures: number;
  counting_since: string;
  buckets: Record<BucketName, BucketStatisticsView>;
}

export interface RateLimiterDeps {
  logger: Logger;
  metrics: Metrics;
  /** A client to use instead of connecting to `redisUrl`; the limiter does not close it. */
  redis?: Redis;
  /** Test seam: replaces the in-memory store (primary without Redis, halved fallback with it). */
  memoryStore?: CountingStore;
  /** Test seam: replaces the Redis store (requires `redis` or `redisUrl`). */
  redisStore?: CountingStore;
  /** Tuning of failure detection; defaults documented in redis-health.ts. */
  redisHealth?: Omit<RedisHealthOptions, 'logger' | 'metrics'>;
}

/** What `consume` answers when limiting is disabled: effectively unlimited, still a finite header value. */
export const UNLIMITED_OUTCOME: Readonly<RateLimitOutcome> = Object.freeze({
  limit: Number.MAX_SAFE_INTEGER,
  remaining: Number.MAX_SAFE_INTEGER,
  resetSeconds: 0,
});

/** Guard over one Redis count, above ioredis' own command timeout. */
const REDIS_DEADLINE_MS = 2 * DEFAULT_REDIS_COMMAND_TIMEOUT_MS;

/** How long startup waits for Redis before running degraded. @default 2000 ms */
const STARTUP_CONNECT_DEADLINE_MS = 2_000;

const PERIOD_SECONDS = 60;

/** Seconds, rounded up, never 0 for a denial: `Retry-After: 0` would invite an immediate retry. */
const toSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

interface ScopedResult {
  scope: KeyScope;
  result: CountResult;
}

interface RedisSide {
  client: Redis;
  owned: boolean;
  store: CountingStore;
  health: RedisHealth;
}

class FailSecureRateLimiter implements RateLimiter {
  private readonly statisticsStore = new LimiterStatistics();

  constructor(
    private readonly environment: Config['environment'],
    private readonly rules: Record<BucketName, BucketRule>,
    private readonly memory: CountingStore,
    private readonly redis: RedisSide | undefined,
    private readonly deps: RateLimiterDeps,
  ) {}

  private get enabled(): boolean {
    return this.environment !== 'test';
  }

  async consume(bucket: BucketName, subject: RateLimitSubject, cost = 1): Promise<RateLimitOutcome> {
    try {
      assertRequest(bucket, subject, cost);
      if (!this.enabled) {
        this.note(subject.namespace, bucket, 'allowed');
        return { ...UNLIMITED_OUTCOME };
      }
      const ip = ipRateLimitKey(subject.ip.trim() || 'unknown');
      const results = await this.count(bucket, subject.agentId, ip, cost);
      return this.verdict(bucket, subject, ip, results);
    } catch (error) {
      if (error instanceof RateLimitExceededError) throw error;
      try {
        this.note(subject?.namespace ?? '', bucket, 'error');
        this.deps.logger.error({ err: error, bucket }, 'rate limiter failed; denying the request');
      } catch {
        // Bookkeeping must not turn a denial into a different error.
      }
      throw new ServiceUnavailableError('Rate limiter unavailable; request denied');
    }
  }

  health(): LimiterHealth {
    if (!this.redis) return { store: 'memory', redis: 'not_configured', degraded: false };
    const degraded = this.redis.health.degraded;
    return { store: degraded ? 'memory' : 'redis', redis: this.redis.health.status, degraded };
  }

  async statistics(namespace: string): Promise<NamespaceRateLimitStatistics> {
    const counters = this.statisticsStore.snapshot(namespace);
    const health = this.health();
    // While degraded every decision comes from the halved in-memory buckets.
    const halved = this.redis !== undefined && health.degraded;
    const buckets = Object.fromEntries(
      BUCKET_NAMES.map((bucket) => {
        const rule = this.rules[bucket];
        const agentCapacity = windowCapacity(rule, 'agent');
        const ipCapacity = windowCapacity(rule, 'ip');
        return [
          bucket,
          {
            limit: rule.limit,
            burst: rule.burst,
            period_seconds: rule.periodSeconds,
            block_seconds: rule.blockSeconds,
            agent_window: halved ? halvedCapacity(agentCapacity) : agentCapacity,
            ip_window: halved ? halvedCapacity(ipCapacity) : ipCapacity,
            ...counters[bucket],
          },
        ];
      }),
    ) as Record<BucketName, BucketStatisticsView>;
    return {
      namespace,
      environment: this.environment,
      enabled: this.enabled,
      store: health.store,
      redis: health.redis,
      degraded: health.degraded,
      consecutive_redis_failures: this.redis?.health.consecutiveFailures ?? 0,
      counting_since: this.statisticsStore.since.toISOString(),
      buckets,
    };
  }

  async close(): Promise<void> {
    if (!this.redis) return;
    this.redis.health.close();
    if (this.redis.owned) {
      await this.redis.client.quit().catch(() => this.redis?.client.disconnect());
    }
  }

  /** Agent and IP verdicts, plus any definitive "limited" answer Redis gave before failing. */
  private async count(bucket: BucketName, agentId: string, ip: string, cost: number): Promise<ScopedResult[]> {
    if (this.redis && !this.redis.health.degraded) {
      const fromRedis = await this.countInRedis(this.redis, bucket, agentId, ip, cost);
      if (fromRedis.complete) return fromRedis.results;
      // Redis failed: decide from memory at half limits, but a key Redis already saw as limited stays denied.
      const fromMemory = await this.countPair(this.memory, bucket, agentId, ip, cost);
      return [...fromMemory, ...fromRedis.results.filter((r) => !r.result.allowed)];
    }
    return this.countPair(this.memory, bucket, agentId, ip, cost);
  }

  private async countInRedis(
    redis: RedisSide,
    bucket: BucketName,
    agentId: string,
    ip: string,
    cost: number,
  ): Promise<{ complete: boolean; results: ScopedResult[] }> {
    const scopes = ['agent', 'ip'] as const;
    const settled = await Promise.allSettled(
      scopes.map((scope) =>
        withTimeout(
          redis.store.count(bucket, scope, scope === 'agent' ? agentId : ip, cost),
          REDIS_DEADLINE_MS,
          didNotAnswer('redis', REDIS_DEADLINE_MS),
        ),
      ),
    );
    const results: ScopedResult[] = [];
    let failure: { reason: unknown } | undefined;
    settled.forEach((outcome, index) => {
      if (outcome.status === 'fulfilled') results.push({ scope: scopes[index] ?? 'agent', result: outcome.value });
      else failure ??= outcome;
    });
    if (failure) {
      // A Redis answer that is not a verdict is a bug, not an outage: deny outright.
      if (failure.reason instanceof StoreContractError) throw failure.reason;
      redis.health.recordFailure(failure.reason);
      return { complete: false, results };
    }
    redis.health.recordSuccess();
    return { complete: true, results };
  }

  private async countPair(store: CountingStore, bucket: BucketName, agentId: string, ip: string, cost: number): Promise<ScopedResult[]> {
    const [agent, byIp] = await Promise.all([store.count(bucket, 'agent', agentId, cost), store.count(bucket, 'ip', ip, cost)]);
    return [
      { scope: 'agent', result: agent },
      { scope: 'ip', result: byIp },
    ];
  }

  private verdict(bucket: BucketName, subject: RateLimitSubject, ip: string, results: ScopedResult[]): RateLimitOutcome {
    const agent = results.find((r) => r.scope === 'agent')?.result;
    if (!agent || !results.some((r) => r.scope === 'ip')) throw new StoreContractError('rate limit store returned no verdict');
    for (const { result } of results) assertVerdict(result);
    const limited = results.filter(({ result }) => !result.allowed);
    if (limited.length === 0) {
      this.note(subject.namespace, bucket, 'allowed');
      return { limit: agent.capacity, remaining: agent.remaining, resetSeconds: Math.ceil(agent.msBeforeNext / 1000) };
    }
    const now = Date.now();
    for (const { result, scope } of limited) {
      this.statisticsStore.recordBlocked(
        subject.namespace,
        bucket,
        scope,
        scope === 'ip' ? ip : subject.agentId,
        now + result.msBeforeNext,
      );
    }
    // The key that stays blocked longest decides when a retry can pass.
    const longest = limited.reduce((a, b) => (b.result.msBeforeNext > a.result.msBeforeNext ? b : a)).result;
    this.note(subject.namespace, bucket, 'blocked');
    throw new RateLimitExceededError(bucket, longest.capacity, PERIOD_SECONDS, toSeconds(longest.msBeforeNext));
  }

  private note(namespace: string, bucket: BucketName, decision: Decision): void {
    const endpoint = BUCKET_NAMES.includes(bucket) ? bucket : 'unknown';
    this.deps.metrics.rateLimitRequests.inc({ endpoint, status: decision });
    if (endpoint !== 'unknown') this.statisticsStore.record(namespace, bucket, decision);
  }
}

/** Injected or future stores get the same scrutiny as ours: a verdict we cannot read is a denial. */
function assertVerdict(result: CountResult): void {
  const numbers = [result.capacity, result.remaining, result.msBeforeNext];
  if (typeof result.allowed !== 'boolean' || !numbers.every((n) => typeof n === 'number' && Number.isFinite(n))) {
    throw new StoreContractError('rate limit store returned a malformed verdict');
  }
}

function assertRequest(bucket: BucketName, subject: RateLimitSubject, cost: number): void {
  if (!BUCKET_NAMES.includes(bucket)) throw new StoreContractError(`unknown rate limit bucket ${String(bucket)}`);
  if (!Number.isInteger(cost) || cost < 1) throw new StoreContractError(`invalid rate limit cost ${cost}`);
  if (typeof subject?.agentId !== 'string' || subject.agentId === '') {
    throw new StoreContractError('rate limit subject has no agent id');
  }
  if (typeof subject.ip !== 'string' || typeof subject.namespace !== 'string') {
    throw new StoreContractError('rate limit subject is malformed');
  }
}

/**
 * Builds the fail-secure limiter. With a Redis URL (or an injected client)
 * Redis holds the counters; when it fails the limiter falls back to in-memory
 * buckets at half the limits, and after repeated failures enters degraded mode
 * until a probe finds Redis answering again. Without Redis, in-memory buckets
 * at full limits. If Redis is unreachable at startup the limiter starts
 * degraded rather than refusing to boot.
 */
export async function createRateLimiter(
  config: Pick<Config, 'environment' | 'rateLimit' | 'redis'>,
  deps: RateLimiterDeps,
): Promise<RateLimiter> {
  const rules = bucketRules(config.environment, config.rateLimit.scale);
  const client = deps.redis ?? (config.redis.url ? createLimiterRedisClient(config.redis.url, deps.logger) : undefined);
  const memory = deps.memoryStore ?? createMemoryStore(rules, { halve: client !== undefined });
  if (!client) return new FailSecureRateLimiter(config.environment, rules, memory, undefined, deps);

  const health = new RedisHealth(client, { ...deps.redisHealth, logger: deps.logger, metrics: deps.metrics });
  const redis: RedisSide = {
    client,
    owned: deps.redis === undefined,
    store: deps.redisStore ?? createRedisStore(client, rules),
    health,
  };
  if (client.status === 'wait') {
    try {
      // Bounded: a hung Redis must not hold up the gateway's startup either.
      await withTimeout(client.connect(), STARTUP_CONNECT_DEADLINE_MS, didNotAnswer('redis connect', STARTUP_CONNECT_DEADLINE_MS));
    } catch (error) {
      health.enterDegraded(error);
    }
  }
  return new FailSecureRateLimiter(config.environment, rules, memory, redis, deps);
}
