import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../observability/logger.js';

/** @default 1000 ms */
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 1_000;

/** Longest pause between reconnect attempts. @default 2000 ms */
export const MAX_REDIS_RECONNECT_DELAY_MS = 2_000;

export interface RedisClientOptions {
  /** Who uses the connection ("rate limiter", "event bus"), named in its log lines. */
  role: string;
  /** Where connection errors go; without one (tests) they are swallowed. */
  logger?: Logger;
  /** What this role needs beyond the shared settings (offline queue, retries, command timeout). */
  overrides?: RedisOptions;
}

/**
 * Every ioredis client of the gateway. Shared settings: a short connect
 * timeout, reconnecting forever at most every MAX_REDIS_RECONNECT_DELAY_MS
 * (every user recovers by itself), auto-pipelining (commands of one tick go
 * out as one write). Connection errors are logged once per outage — ioredis
 * emits one per reconnect attempt, which would flood the log while Redis is
 * down — and the recovery once when the connection is ready again. Each
 * connection is named after its role (`CLIENT LIST` shows
 * `name=tmws:event-bus-subscribe`), so an operator can tell them apart.
 */
export function createRedisClient(url: string, options: RedisClientOptions): Redis {
  const redis = new Redis(url, {
    connectTimeout: DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, MAX_REDIS_RECONNECT_DELAY_MS),
    enableAutoPipelining: true,
    connectionName: connectionNameOf(options.role),
    ...options.overrides,
  });
  const { logger, role } = options;
  let announcedDown = false;
  redis.on('error', (error: Error) => {
    if (!announcedDown) logger?.warn({ err: error }, `${role} redis connection error`);
    announcedDown = true;
  });
  redis.on('ready', () => {
    if (announcedDown) logger?.info(`${role} redis connection ready`);
    announcedDown = false;
  });
  return redis;
}

/** `CLIENT SETNAME` takes no spaces: "event bus subscribe" → "tmws:event-bus-subscribe". */
export function connectionNameOf(role: string): string {
  return `tmws:${role.replaceAll(' ', '-')}`;
}
