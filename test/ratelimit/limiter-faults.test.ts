import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RateLimitExceededError, ServiceUnavailableError } from '../../src/errors/index.js';
import type { CountingStore } from '../../src/ratelimit/counter-store.js';
import { createRateLimiter, type RateLimiter, type RateLimiterDeps } from '../../src/ratelimit/limiter.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';
import { consumeTimes, freshSubject, metricValue, testDeps, type CapturedLog, type Tally } from './support.js';

/** pino's numeric level for `error`. */
const ERROR = 50;

let server: RedisTestServer;
let limiter: RateLimiter;
let deps: ReturnType<typeof testDeps>;

beforeEach(async () => {
  server = await startRedis();
});
afterEach(async () => {
  await limiter?.close();
  await server.stop();
});

async function productionLimiter(extra: Partial<RateLimiterDeps> = {}): Promise<RateLimiter> {
  deps = testDeps();
  limiter = await createRateLimiter(
    { environment: 'production', rateLimit: { scale: 1 }, redis: { url: server.url } },
    { ...deps, ...extra },
  );
  return limiter;
}

/** Sequential consumes, each timed; returns the tally and the slowest answer in ms. */
async function timedConsumes(subject = freshSubject(), times = 15): Promise<Tally & { slowestMs: number }> {
  let slowestMs = 0;
  const tally: Tally = { allowed: 0, limited: [], other: [] };
  for (let i = 0; i < times; i += 1) {
    const started = performance.now();
    const one = await consumeTimes(limiter, 'mcp_create_connection', subject, 1);
    slowestMs = Math.max(slowestMs, performance.now() - started);
    tally.allowed += one.allowed;
    tally.limited.push(...one.limited);
    tally.other.push(...one.other);
  }
  return { ...tally, slowestMs };
}

async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const degradedGauge = (): Promise<number | undefined> => metricValue(deps.metrics, 'rate_limiter_degraded_mode');
const degradedErrorLogs = (lines: CapturedLog[]): CapturedLog[] => lines.filter((l) => l.level === ERROR && l.msg.includes('degraded'));

async function expectNormalLimitsAgain(): Promise<void> {
  await waitFor(async () => (await degradedGauge()) === 0);
  expect(limiter.health()).toEqual({ store: 'redis', redis: 'ok', degraded: false });
  const tally = await consumeTimes(limiter, 'mcp_create_connection', freshSubject(), 15);
  expect(tally.allowed).toBe(12);
  expect(tally.other).toEqual([]);
}

describe('rate limiter when Redis hangs or dies', () => {
  it('answers within a second, halves the limits and enters degraded mode when Redis hangs (SIGSTOP)', async () => {
    await productionLimiter();
    const subject = freshSubject();
    expect((await consumeTimes(limiter, 'mcp_create_connection', subject, 3)).allowed).toBe(3);
    expect(await degradedGauge()).toBe(0);

    server.pause();
    const during = await timedConsumes(subject, 15);
    expect(during.slowestMs).toBeLessThan(1_000);
    expect(during.other).toEqual([]);
    // The fallback holds half of the 12-request window: 6, never more.
    expect(during.allowed).toBe(6);
    expect(during.limited.every((e) => e instanceof RateLimitExceededError)).toBe(true);
    expect(during.limited[0]?.limit).toBe(6);

    expect(await degradedGauge()).toBe(1);
    expect(await metricValue(deps.metrics, 'rate_limiter_redis_failures_total')).toBeGreaterThanOrEqual(3);
    expect(limiter.health()).toEqual({ store: 'memory', redis: 'down', degraded: true });
    expect(degradedErrorLogs(deps.lines)).toHaveLength(1);
    expect((await limiter.statistics(subject.namespace)).degraded).toBe(true);

    server.resume();
    await expectNormalLimitsAgain();
    expect(degradedErrorLogs(deps.lines)).toHaveLength(1);
  });

  it('keeps concurrent requests bounded in time and budget while Redis hangs', async () => {
    await productionLimiter();
    server.pause();
    const subject = freshSubject();
    const started = performance.now();
    const settled = await Promise.allSettled(Array.from({ length: 30 }, () => limiter.consume('mcp_create_connection', subject)));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(settled.filter((s) => s.status === 'fulfilled').length).toBeLessThanOrEqual(6);
    for (const s of settled) if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(RateLimitExceededError);
    server.resume();
  });

  it('halves the limits and recovers after Redis is killed (SIGKILL) and restarted', async () => {
    await productionLimiter();
    await server.kill();
    const during = await timedConsumes(freshSubject(), 15);
    expect(during.slowestMs).toBeLessThan(1_000);
    expect(during.other).toEqual([]);
    expect(during.allowed).toBe(6);
    expect(await degradedGauge()).toBe(1);
    expect(await metricValue(deps.metrics, 'rate_limiter_redis_failures_total')).toBeGreaterThanOrEqual(3);
    expect(limiter.health().redis).toBe('down');

    await server.restart();
    await expectNormalLimitsAgain();
  });

  it('starts degraded when Redis is unreachable at startup, and recovers when it comes up', async () => {
    await server.kill();
    await productionLimiter();
    expect(limiter.health()).toEqual({ store: 'memory', redis: 'down', degraded: true });
    expect((await timedConsumes(freshSubject(), 10)).allowed).toBe(6);
    await server.restart();
    await expectNormalLimitsAgain();
  });

  it('does not hang startup on a Redis that accepts connections but never answers', async () => {
    server.pause();
    const started = performance.now();
    await productionLimiter();
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(limiter.health().degraded).toBe(true);
    expect((await timedConsumes(freshSubject(), 8)).allowed).toBe(6);
    server.resume();
    await expectNormalLimitsAgain();
  });

  it('denies with 503 when Redis fails and the fallback store fails too', async () => {
    const broken: CountingStore = {
      kind: 'memory',
      count: async () => {
        throw new RangeError('fallback exploded');
      },
    };
    await productionLimiter({ memoryStore: broken });
    expect((await consumeTimes(limiter, 'mcp_execute_tool', freshSubject(), 2)).allowed).toBe(2);
    await server.kill();
    const tally = await consumeTimes(limiter, 'mcp_execute_tool', freshSubject(), 5);
    expect(tally.allowed).toBe(0);
    expect(tally.other).toHaveLength(5);
    expect(tally.other.every((e) => e instanceof ServiceUnavailableError)).toBe(true);
  });

  it('denies with 503 when Redis answers something that is not a verdict', async () => {
    const nonsense: CountingStore = {
      kind: 'redis',
      count: async () => ({ allowed: true, capacity: 12, remaining: Number.POSITIVE_INFINITY, msBeforeNext: 1 }),
    };
    await productionLimiter({ redisStore: nonsense });
    const tally = await consumeTimes(limiter, 'mcp_execute_tool', freshSubject(), 3);
    expect(tally.allowed).toBe(0);
    expect(tally.other.every((e) => e instanceof ServiceUnavailableError)).toBe(true);
  });
});
