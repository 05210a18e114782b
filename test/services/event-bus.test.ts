/**
 * The event bus on Redis: events reach subscribers on another bus (another
 * instance) in the order they were published, including events published in
 * the same turn of the event loop (those leave together, after the turn).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/observability/logger.js';
import { createEventBus, type EventBus } from '../../src/services/event-bus.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';

let redis: RedisTestServer;
let here: EventBus;
let there: EventBus;

beforeAll(async () => {
  redis = await startRedis();
  here = createEventBus(redis.url);
  there = createEventBus(redis.url);
});

afterAll(async () => {
  await here?.close();
  await there?.close();
  await redis?.stop();
});

/** Subscribes on `bus`; `reasons` resolves with the first `count` cancellation reasons it receives. */
async function receive(bus: EventBus, count: number): Promise<{ reasons: Promise<string[]> }> {
  const iterator = bus.pubsub.subscribe('execution-cancel')[Symbol.asyncIterator]();
  const first = iterator.next(); // subscribes now
  // Give Redis the SUBSCRIBE before anything is published.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const reasons = (async () => {
    const seen: string[] = [];
    for (let next = await first; !next.done; next = await iterator.next()) {
      seen.push(next.value.reason);
      if (seen.length === count) break;
    }
    await iterator.return?.();
    return seen;
  })();
  return { reasons };
}

describe('event bus on Redis', () => {
  it('delivers events to another instance in publish order, within a turn and across turns', async () => {
    const received = await receive(there, 6);
    for (const reason of ['a1', 'a2', 'a3']) here.pubsub.publish('execution-cancel', { executionId: 'x', reason });
    await new Promise((resolve) => setImmediate(resolve));
    here.pubsub.publish('execution-cancel', { executionId: 'x', reason: 'b1' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (const reason of ['c1', 'c2']) here.pubsub.publish('execution-cancel', { executionId: 'x', reason });
    expect(await received.reasons).toEqual(['a1', 'a2', 'a3', 'b1', 'c1', 'c2']);
  });

  it('survives a Redis outage: publishing meanwhile loses those events, never the process', async () => {
    const warnings: unknown[] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args), info: () => {} } as unknown as Logger;
    const publisher = createEventBus(redis.url, logger);
    await new Promise((resolve) => setTimeout(resolve, 100)); // connected
    await redis.kill();
    for (const reason of ['lost 1', 'lost 2']) publisher.pubsub.publish('execution-cancel', { executionId: 'x', reason });
    // Longer than the publish client's retries: the queued commands are rejected (and must be handled).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(warnings).toHaveLength(1);
    await redis.restart();
    const received = await receive(there, 1);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // both buses reconnected, B subscribed again
    publisher.pubsub.publish('execution-cancel', { executionId: 'x', reason: 'back' });
    expect(await received.reasons).toEqual(['back']);
    await publisher.close();
  });

  it('sends what was published right before close', async () => {
    const received = await receive(there, 1);
    const closing = createEventBus(redis.url);
    await new Promise((resolve) => setTimeout(resolve, 100)); // connected
    closing.pubsub.publish('execution-cancel', { executionId: 'x', reason: 'last words' });
    await closing.close();
    expect(await received.reasons).toEqual(['last words']);
  });
});
