import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitExceededError } from '../../src/errors/index.js';
import { createRateLimiter, type RateLimiter } from '../../src/ratelimit/limiter.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';
import { consumeTimes, freshSubject, testDeps } from './support.js';

let server: RedisTestServer;
let inspector: Redis;
const open: RateLimiter[] = [];

beforeAll(async () => {
  server = await startRedis();
  inspector = new Redis(server.url);
});
afterAll(async () => {
  inspector.disconnect();
  await server.stop();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

async function redisLimiter(environment: 'production' | 'development' = 'production'): Promise<RateLimiter> {
  const limiter = await createRateLimiter({ environment, rateLimit: { scale: 1 }, redis: { url: server.url } }, testDeps());
  open.push(limiter);
  return limiter;
}

describe('rate limiter on Redis', () => {
  it('admits exactly 12 creations per agent in production and blocks the 13th for about 300 s', async () => {
    const limiter = await redisLimiter();
    expect(limiter.health()).toEqual({ store: 'redis', redis: 'ok', degraded: false });
    const subject = freshSubject();
    const tally = await consumeTimes(limiter, 'mcp_create_connection', subject, 15);
    expect(tally.allowed).toBe(12);
    expect(tally.limited).toHaveLength(3);
    for (const denied of tally.limited) {
      expect(denied.retryAfterSeconds).toBeGreaterThanOrEqual(299);
      expect(denied.retryAfterSeconds).toBeLessThanOrEqual(300);
    }
    // The counters live in Redis under the versioned prefix, blocked for the full 5 minutes.
    const ttl = await inspector.pttl(`tmws:rl:v1:mcp_create_connection:agent:${subject.agentId}`);
    expect(ttl).toBeGreaterThan(290_000);
    expect(await inspector.exists(`tmws:rl:v1:mcp_create_connection:ip:${subject.ip}`)).toBe(1);
  });

  it('shares one budget between two gateway instances on the same Redis', async () => {
    const a = await redisLimiter();
    const b = await redisLimiter();
    const subject = freshSubject();
    let allowed = 0;
    for (let i = 0; i < 24; i += 1) {
      const instance = i % 2 === 0 ? a : b;
      allowed += (await consumeTimes(instance, 'mcp_create_connection', subject, 1)).allowed;
    }
    expect(allowed).toBe(12);
    // The block set by one instance stops the other as well.
    await expect(b.consume('mcp_create_connection', subject)).rejects.toBeInstanceOf(RateLimitExceededError);
  });

  it('counts atomically under concurrency', async () => {
    const a = await redisLimiter();
    const b = await redisLimiter();
    const subject = freshSubject();
    const settled = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).consume('mcp_execute_tool', subject)),
    );
    // 60 concurrent requests against a 120 window: all pass; 70 more: exactly 60 of them pass.
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(60);
    const more = await Promise.allSettled(Array.from({ length: 70 }, (_, i) => (i % 2 === 0 ? a : b).consume('mcp_execute_tool', subject)));
    expect(more.filter((s) => s.status === 'fulfilled')).toHaveLength(60);
    for (const s of more) if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(RateLimitExceededError);
  });

  it('applies the IP budget across instances', async () => {
    const a = await redisLimiter();
    const b = await redisLimiter();
    const ip = '198.51.100.23';
    let allowed = 0;
    for (let agent = 0; agent < 7; agent += 1) {
      allowed += (await consumeTimes(agent % 2 ? a : b, 'mcp_disconnect', freshSubject({ ip }), 20)).allowed;
    }
    expect(allowed).toBe(125);
  });

  it('uses the development numbers from Redis', async () => {
    const limiter = await redisLimiter('development');
    expect((await consumeTimes(limiter, 'mcp_create_connection', freshSubject(), 45)).allowed).toBe(40);
  });

  it('reports X-RateLimit numbers of the agent key', async () => {
    const limiter = await redisLimiter();
    const subject = freshSubject();
    await limiter.consume('mcp_discover_tools', subject);
    const outcome = await limiter.consume('mcp_discover_tools', subject);
    expect(outcome.limit).toBe(60);
    expect(outcome.remaining).toBe(58);
    expect(outcome.resetSeconds).toBeGreaterThan(55);
    expect(outcome.resetSeconds).toBeLessThanOrEqual(60);
  });
});
