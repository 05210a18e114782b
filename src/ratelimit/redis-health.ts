import type { Redis } from 'ioredis';
import { withTimeout } from '../common/deadline.js';
import { createRedisClient } from '../common/redis-client.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/**
 * Per-command timeout. A hung Redis (SIGSTOP, network black hole) keeps the
 * socket open, so timeouts are what bound how long a request waits for the
 * limiter: this one per command, and the limiter's own deadline of twice
 * this around each count (an auto-pipelined command may wait for the
 * pipeline before it).
 * @default 300 ms
 */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 300;

/** Consecutive failed Redis calls that switch the limiter into degraded mode. @default 3 */
export const DEFAULT_DEGRADED_THRESHOLD = 3;

/** How often a degraded limiter PINGs Redis to find out whether it is back. @default 1000 ms */
export const DEFAULT_PROBE_INTERVAL_MS = 1_000;

/**
 * The limiter's client fails fast instead of queueing: without these options
 * commands issued while Redis is down wait in the offline queue and every
 * request hangs with them. Call `connect()` before use.
 */
export function createLimiterRedisClient(url: string, logger: Logger, commandTimeoutMs = DEFAULT_REDIS_COMMAND_TIMEOUT_MS): Redis {
  return createRedisClient(url, {
    role: 'rate limiter',
    logger,
    overrides: { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: commandTimeoutMs },
  });
}

/** The error of a Redis call given up on after `ms` — a guard on top of ioredis' own command timeout. */
export function didNotAnswer(what: string, ms: number): () => Error {
  return () => new Error(`${what} did not answer within ${ms} ms`);
}

export interface RedisHealthOptions {
  logger: Logger;
  metrics: Metrics;
  /** @default DEFAULT_DEGRADED_THRESHOLD */
  degradedThreshold?: number;
  /** @default DEFAULT_PROBE_INTERVAL_MS */
  probeIntervalMs?: number;
  /** Deadline of one probe. @default 2 × DEFAULT_REDIS_COMMAND_TIMEOUT_MS */
  probeTimeoutMs?: number;
}

/**
 * Tracks whether the rate limiter may trust Redis. Consecutive failures beyond
 * the threshold switch on degraded mode (the limiter then stops calling Redis
 * and runs on its halved in-memory buckets); a PING loop switches it off again
 * as soon as Redis answers.
 */
export class RedisHealth {
  private consecutive = 0;
  private degradedNow = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;
  private readonly threshold: number;
  private readonly probeIntervalMs: number;
  private readonly probeTimeoutMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisHealthOptions,
  ) {
    this.threshold = options.degradedThreshold ?? DEFAULT_DEGRADED_THRESHOLD;
    this.probeIntervalMs = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 2 * DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
  }

  get degraded(): boolean {
    return this.degradedNow;
  }

  get consecutiveFailures(): number {
    return this.consecutive;
  }

  /** `down` while degraded, after a failed call, or while the client is not connected. */
  get status(): 'ok' | 'down' {
    return this.degradedNow || this.consecutive > 0 || this.redis.status !== 'ready' ? 'down' : 'ok';
  }

  recordSuccess(): void {
    // Only the probe ends degraded mode: a late answer to a call started before it proves little.
    if (!this.degradedNow) this.consecutive = 0;
  }

  recordFailure(error: unknown): void {
    this.options.metrics.redisFailures.inc();
    this.consecutive += 1;
    if (this.degradedNow) return;
    this.options.logger.warn(
      { err: error, consecutiveFailures: this.consecutive },
      'rate limiter redis call failed; using in-memory buckets at half limits',
    );
    if (this.consecutive >= this.threshold) this.enterDegraded(error);
  }

  /** Switches degraded mode on (also used when Redis is unreachable at startup). */
  enterDegraded(cause: unknown): void {
    if (this.degradedNow || this.closed) return;
    this.degradedNow = true;
    this.options.metrics.degradedMode.set(1);
    this.options.logger.error(
      { err: cause, consecutiveFailures: this.consecutive },
      'rate limiter degraded: redis unavailable, enforcing half limits from memory until it answers again',
    );
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
    this.probeTimer.unref();
  }

  /** One recovery attempt; public so tests and readiness checks can trigger it. */
  async probe(): Promise<boolean> {
    if (!this.degradedNow || this.probing) return !this.degradedNow;
    this.probing = true;
    try {
      await withTimeout(this.redis.ping(), this.probeTimeoutMs, didNotAnswer('redis PING', this.probeTimeoutMs));
      if (!this.closed) this.leaveDegraded();
      return true;
    } catch {
      this.options.metrics.redisFailures.inc();
      return false;
    } finally {
      this.probing = false;
    }
  }

  close(): void {
    this.closed = true;
    this.stopProbing();
  }

  private stopProbing(): void {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private leaveDegraded(): void {
    this.stopProbing();
    this.degradedNow = false;
    this.consecutive = 0;
    this.options.metrics.degradedMode.set(0);
    this.options.logger.info('rate limiter recovered: redis answers again, normal limits restored');
  }
}
