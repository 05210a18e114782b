/**
 * The event bus on Redis: events reach subscribers on another bus (another
 * instance) in the order they were published, including events published in
 * the same turn of the event loop (those leave together, after the turn).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/observability/logger.js';
import { createEventBus, type EventBus } from '../../src/services/event-bus.js';
import { eventually } from '../helpers/eventually.js';
import { startTcpRelay } from '../helpers/net.js';
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

const CHANNEL = 'execution-cancel';

/** Subscribers Redis knows on the channel (asked on a connection of the test's own). */
async function subscribers(): Promise<number> {
  const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await probe.connect();
    const [, count] = (await probe.pubsub('NUMSUB', CHANNEL)) as [string, number];
    return Number(count);
  } catch {
    return 0;
  } finally {
    probe.disconnect();
  }
}

/** Subscribes on `bus`; `reasons` resolves with the first `count` cancellation reasons it receives. */
async function receive(bus: EventBus, count: number): Promise<{ reasons: Promise<string[]> }> {
  const before = await subscribers();
  const iterator = bus.pubsub.subscribe(CHANNEL)[Symbol.asyncIterator]();
  const first = iterator.next(); // subscribes now
  // Redis must have the SUBSCRIBE before anything is published.
  await eventually(async () => (await subscribers()) > before, 10_000, 'the bus subscribed on Redis');
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
  it('confirms its subscriptions: an event published as soon as subscribed() resolves reaches a bus that just started', async () => {
    for (let round = 0; round < 5; round++) {
      const fresh = createEventBus(redis.url);
      try {
        const iterator = fresh.pubsub.subscribe(CHANNEL)[Symbol.asyncIterator]();
        const first = iterator.next();
        expect(await fresh.subscribed()).toBe(true);
        here.pubsub.publish(CHANNEL, { executionId: 'x', reason: `round ${round}` });
        const lost = new Promise((resolve) => setTimeout(() => resolve('lost'), 10_000).unref());
        await expect(Promise.race([first, lost])).resolves.toMatchObject({ value: { reason: `round ${round}` } });
        await iterator.return?.();
      } finally {
        await fresh.close();
      }
    }
  });

  // ioredis writes a SUBSCRIBE at once while its connection is still being set up (SUBSCRIBE may run while
  // Redis loads), and its ready check (INFO) then fails in subscriber mode: the client reconnected without
  // the channel, silently. A gateway whose services subscribed in that window never heard another instance.
  it('keeps a subscription made while its connection is still being set up', async () => {
    const relay = await startTcpRelay(redis.port, { hold: true });
    const fresh = createEventBus(`redis://127.0.0.1:${relay.port}`);
    try {
      // Connected, handshake sent, nothing answered yet: the window in question.
      await eventually(() => relay.heldText().includes('setname'), 10_000, 'the connection handshake');
      const iterator = fresh.pubsub.subscribe(CHANNEL)[Symbol.asyncIterator]();
      const first = iterator.next();
      await eventually(() => relay.heldText().includes('subscribe'), 10_000, 'the SUBSCRIBE written during the handshake');
      relay.release();
      expect(await fresh.subscribed()).toBe(true);
      here.pubsub.publish(CHANNEL, { executionId: 'x', reason: 'after set-up' });
      const lost = new Promise((resolve) => setTimeout(() => resolve('lost'), 10_000).unref());
      await expect(Promise.race([first, lost])).resolves.toMatchObject({ value: { reason: 'after set-up' } });
      await iterator.return?.();
    } finally {
      await fresh.close();
      await relay.close();
    }
  });

  // The event target sends SUBSCRIBE and UNSUBSCRIBE without handling their failure; one still unanswered
  // when the bus closes (a shutdown, a subscription ended during an outage) was an unhandled rejection,
  // which ends a Node process.
  it('closes with a SUBSCRIBE and an UNSUBSCRIBE still unanswered, without an unhandled rejection', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    const relay = await startTcpRelay(redis.port, { hold: true });
    try {
      const fresh = createEventBus(`redis://127.0.0.1:${relay.port}`);
      const iterator = fresh.pubsub.subscribe(CHANNEL)[Symbol.asyncIterator]();
      void iterator.next();
      await eventually(() => relay.heldText().includes('subscribe'), 10_000, 'the SUBSCRIBE sent');
      await iterator.return?.();
      await eventually(() => relay.heldText().includes('unsubscribe'), 10_000, 'the UNSUBSCRIBE sent');
      await fresh.close();
      // Node reports an unhandled rejection once the microtasks of the turn it happened in have run.
      await new Promise((resolve) => setImmediate(resolve));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
      await relay.close();
    }
  });

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
    const warnings: string[] = [];
    const infos: string[] = [];
    const messageOf = (args: unknown[]) => String(args[args.length - 1]);
    const logger = {
      warn: (...args: unknown[]) => warnings.push(messageOf(args)),
      info: (...args: unknown[]) => infos.push(messageOf(args)),
    } as unknown as Logger;
    const publisher = createEventBus(redis.url, logger);
    await redis.kill();
    for (const reason of ['lost 1', 'lost 2']) publisher.pubsub.publish(CHANNEL, { executionId: 'x', reason });
    // After the publish client's retries the queued commands are rejected: handled, and logged once.
    const lostWarning = 'event bus could not publish to redis; events are lost until it is back';
    await eventually(() => warnings.includes(lostWarning), 10_000, 'the lost publishes were reported');
    // Many reconnect attempts by now, yet each connection said it was down once, like the limiter's.
    expect(warnings.sort()).toEqual(
      [lostWarning, 'event bus publish redis connection error', 'event bus subscribe redis connection error'].sort(),
    );
    await redis.restart();
    const received = await receive(there, 1);
    // The publisher reconnects with backoff: publish until the first 'back' arrives.
    let arrived = false;
    void received.reasons.then(() => (arrived = true));
    await eventually(
      () => {
        publisher.pubsub.publish(CHANNEL, { executionId: 'x', reason: 'back' });
        return arrived;
      },
      10_000,
      'an event published after the outage arrived',
    );
    expect(await received.reasons).toEqual(['back']);
    expect(warnings).toHaveLength(3);
    await eventually(() => infos.includes('event bus subscribe redis connection ready'), 10_000, 'the recovery was logged');
    expect(infos).toContain('event bus publish redis connection ready');
    await publisher.close();
  });

  it('sends what was published right before close', async () => {
    const received = await receive(there, 1);
    const closing = createEventBus(redis.url);
    closing.pubsub.publish('execution-cancel', { executionId: 'x', reason: 'last words' });
    await closing.close();
    expect(await received.reasons).toEqual(['last words']);
  });
});
