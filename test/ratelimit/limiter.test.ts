import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateLimitExceededError, ServiceUnavailableError } from '../../src/errors/index.js';
import type { CountingStore } from '../../src/ratelimit/counter-store.js';
import { createRateLimiter, UNLIMITED_OUTCOME, type RateLimiter } from '../../src/ratelimit/limiter.js';
import { consumeTimes, freshSubject, metricValue, testDeps } from './support.js';

const open: RateLimiter[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(open.splice(0).map((l) => l.close()));
});

async function memoryLimiter(environment: 'production' | 'development' | 'test', rateLimitScale = 1, deps = testDeps()) {
  const limiter = await createRateLimiter({ environment, rateLimit: { scale: rateLimitScale }, redis: { url: undefined } }, deps);
  open.push(limiter);
  return { limiter, ...deps };
}

describe('rate limiter with in-memory buckets', () => {
  it('admits 10 + 2 connection creations per agent in production, then blocks for 5 minutes', async () => {
    const { limiter, metrics } = await memoryLimiter('production');
    const subject = freshSubject();
    const first = await limiter.consume('mcp_create_connection', subject);
    expect(first).toMatchObject({ limit: 12, remaining: 11 });
    expect(first.resetSeconds).toBeGreaterThan(0);
    expect(first.resetSeconds).toBeLessThanOrEqual(60);

    const tally = await consumeTimes(limiter, 'mcp_create_connection', subject, 14);
    expect(tally.allowed).toBe(11);
    expect(tally.limited).toHaveLength(3);
    expect(tally.other).toEqual([]);
    const [denied] = tally.limited;
    expect(denied?.retryAfterSeconds).toBeGreaterThanOrEqual(299);
    expect(denied?.retryAfterSeconds).toBeLessThanOrEqual(300);
    expect(denied?.httpStatus).toBe(429);
    expect(denied?.details).toMatchObject({ endpoint_type: 'mcp_create_connection', limit: 12, period: 60 });

    expect(await metricValue(metrics, 'rate_limit_requests_total{endpoint="mcp_create_connection",status="allowed"}')).toBe(12);
    expect(await metricValue(metrics, 'rate_limit_requests_total{endpoint="mcp_create_connection",status="blocked"}')).toBe(3);
  });

  it('keeps the key blocked after the 60 s window ends, until the block duration is over', async () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    const { limiter } = await memoryLimiter('production');
    const subject = freshSubject();
    expect((await consumeTimes(limiter, 'mcp_create_connection', subject, 13)).allowed).toBe(12);

    vi.advanceTimersByTime(61_000);
    const stillBlocked = await consumeTimes(limiter, 'mcp_create_connection', subject, 1);
    expect(stillBlocked.allowed).toBe(0);
    expect(stillBlocked.limited[0]?.retryAfterSeconds).toBeGreaterThanOrEqual(238);
    expect(stillBlocked.limited[0]?.retryAfterSeconds).toBeLessThanOrEqual(240);

    vi.advanceTimersByTime(240_000);
    expect((await consumeTimes(limiter, 'mcp_create_connection', subject, 1)).allowed).toBe(1);
  });

  it('counts each bucket separately', async () => {
    const { limiter } = await memoryLimiter('production');
    const subject = freshSubject();
    await consumeTimes(limiter, 'mcp_create_connection', subject, 20);
    expect((await consumeTimes(limiter, 'mcp_execute_tool', subject, 120)).allowed).toBe(120);
    expect((await consumeTimes(limiter, 'mcp_discover_tools', subject, 61)).allowed).toBe(60);
    expect((await consumeTimes(limiter, 'mcp_disconnect', subject, 26)).allowed).toBe(25);
  });

  it('limits a client IP at five times the agent numbers, whichever agent is behind it', async () => {
    const { limiter } = await memoryLimiter('production');
    const ip = '203.0.113.7';
    let allowed = 0;
    for (let agent = 0; agent < 6; agent += 1) {
      allowed += (await consumeTimes(limiter, 'mcp_create_connection', freshSubject({ ip }), 10)).allowed;
    }
    expect(allowed).toBe(60);
    const newcomer = await consumeTimes(limiter, 'mcp_create_connection', freshSubject({ ip }), 1);
    expect(newcomer.allowed).toBe(0);
    expect(newcomer.limited[0]?.limit).toBe(60);
    expect(newcomer.limited[0]?.retryAfterSeconds).toBeGreaterThanOrEqual(299);
    // Another address is unaffected.
    expect((await consumeTimes(limiter, 'mcp_create_connection', freshSubject(), 1)).allowed).toBe(1);
  });

  it('counts IPv6 clients per /64 prefix', async () => {
    const { limiter } = await memoryLimiter('production');
    let allowed = 0;
    for (let host = 1; host <= 7; host += 1) {
      const ip = `2001:db8:1:2::${host.toString(16)}`;
      allowed += (await consumeTimes(limiter, 'mcp_create_connection', freshSubject({ ip }), 10)).allowed;
    }
    expect(allowed).toBe(60);
  });

  it('uses the development numbers', async () => {
    const { limiter } = await memoryLimiter('development');
    const subject = freshSubject();
    expect((await consumeTimes(limiter, 'mcp_create_connection', subject, 45)).allowed).toBe(40);
    expect((await consumeTimes(limiter, 'mcp_discover_tools', subject, 125)).allowed).toBe(120);
    expect((await consumeTimes(limiter, 'mcp_execute_tool', subject, 260)).allowed).toBe(250);
    expect((await consumeTimes(limiter, 'mcp_disconnect', subject, 65)).allowed).toBe(60);
  });

  it('multiplies limits by TMWS_RATE_LIMIT_SCALE outside production and ignores it in production', async () => {
    const scaledDown = (await memoryLimiter('development', 0.5)).limiter;
    expect((await consumeTimes(scaledDown, 'mcp_create_connection', freshSubject(), 25)).allowed).toBe(20);
    const scaledUp = (await memoryLimiter('development', 10)).limiter;
    expect((await consumeTimes(scaledUp, 'mcp_create_connection', freshSubject(), 410)).allowed).toBe(400);
    const production = (await memoryLimiter('production', 10)).limiter;
    expect((await consumeTimes(production, 'mcp_create_connection', freshSubject(), 15)).allowed).toBe(12);
  });

  it('does not limit in the test environment but still counts the decisions', async () => {
    const { limiter, metrics } = await memoryLimiter('test');
    const subject = freshSubject();
    const tally = await consumeTimes(limiter, 'mcp_create_connection', subject, 500);
    expect(tally.allowed).toBe(500);
    expect(await limiter.consume('mcp_create_connection', subject)).toEqual(UNLIMITED_OUTCOME);
    expect(await metricValue(metrics, 'rate_limit_requests_total{endpoint="mcp_create_connection",status="allowed"}')).toBe(501);
    expect(limiter.health()).toEqual({ store: 'memory', redis: 'not_configured', degraded: false });
  });

  it('treats curl, python-requests and a tool named test_tool as ordinary traffic', async () => {
    // The limiter has no input that could carry such heuristics: only bucket, agent, namespace and IP count.
    const { limiter } = await memoryLimiter('production');
    const subject = freshSubject({ agentId: 'curl-python-requests-test_tool' });
    expect((await consumeTimes(limiter, 'mcp_execute_tool', subject, 120)).allowed).toBe(120);
  });

  it('reports per-namespace statistics with blocked keys', async () => {
    const { limiter } = await memoryLimiter('production');
    const subject = freshSubject();
    await consumeTimes(limiter, 'mcp_create_connection', subject, 14);
    const stats = await limiter.statistics(subject.namespace);
    expect(stats).toMatchObject({ namespace: subject.namespace, store: 'memory', redis: 'not_configured', degraded: false });
    const buckets = stats.buckets;
    expect(buckets.mcp_create_connection).toMatchObject({ limit: 10, burst: 2, block_seconds: 300, allowed: 12, blocked: 2 });
    expect(buckets.mcp_create_connection.blocked_keys).toEqual([
      { scope: 'agent', key: subject.agentId, retry_after_seconds: expect.any(Number) },
    ]);
    const other = (await limiter.statistics('someone-else')).buckets;
    expect(other.mcp_create_connection).toMatchObject({ allowed: 0, blocked: 0, blocked_keys: [] });
  });
});

describe('rate limiter failing secure', () => {
  const throwingStore: CountingStore = {
    kind: 'memory',
    count: async () => {
      throw new TypeError('cannot read properties of undefined');
    },
  };
  const garbageStore: CountingStore = {
    kind: 'memory',
    count: async () => ({ allowed: true, capacity: Number.NaN, remaining: Number.NaN, msBeforeNext: 0 }),
  };

  it.each([
    ['throws something unexpected', throwingStore],
    ['answers garbage', garbageStore],
  ])('denies with 503 when its store %s', async (_, store) => {
    const deps = { ...testDeps(), memoryStore: store };
    const limiter = await createRateLimiter({ environment: 'production', rateLimit: { scale: 1 }, redis: { url: undefined } }, deps);
    open.push(limiter);
    const tally = await consumeTimes(limiter, 'mcp_execute_tool', freshSubject(), 5);
    expect(tally.allowed).toBe(0);
    expect(tally.other).toHaveLength(5);
    for (const error of tally.other) {
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect((error as ServiceUnavailableError).httpStatus).toBe(503);
    }
    expect(await metricValue(deps.metrics, 'rate_limit_requests_total{endpoint="mcp_execute_tool",status="error"}')).toBe(5);
  });

  it('denies with 503 on a malformed call instead of letting it through', async () => {
    const { limiter } = await memoryLimiter('production');
    await expect(limiter.consume('mcp_execute_tool', freshSubject(), 0)).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(limiter.consume('mcp_execute_tool', freshSubject(), 1.5)).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(limiter.consume('mcp_execute_tool', freshSubject({ agentId: '' }))).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(limiter.consume('no_such_bucket' as 'mcp_execute_tool', freshSubject())).rejects.toBeInstanceOf(ServiceUnavailableError);
  });

  it('still validates calls when limiting is disabled', async () => {
    const { limiter } = await memoryLimiter('test');
    await expect(limiter.consume('mcp_execute_tool', freshSubject(), -1)).rejects.toBeInstanceOf(ServiceUnavailableError);
  });

  it('never reports a limit as an error', async () => {
    const { limiter } = await memoryLimiter('production');
    const subject = freshSubject();
    await consumeTimes(limiter, 'mcp_disconnect', subject, 25);
    await expect(limiter.consume('mcp_disconnect', subject)).rejects.toBeInstanceOf(RateLimitExceededError);
  });
});
