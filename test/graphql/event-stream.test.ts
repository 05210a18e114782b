import { createPubSub } from '@graphql-yoga/subscription';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors/index.js';
import { openEventQueue, withCleanup } from '../../src/graphql/event-stream.js';

type Channels = { topic: [id: string, payload: number] };

describe('openEventQueue', () => {
  it('listens from the moment it is opened: events published before the first read are kept, in order', async () => {
    const pubsub = createPubSub<Channels>();
    const queue = openEventQueue(pubsub.subscribe('topic', 'a'));
    pubsub.publish('topic', 'a', 1);
    pubsub.publish('topic', 'b', 99);
    pubsub.publish('topic', 'a', 2);
    expect(await queue.next()).toEqual({ done: false, value: 1 });
    expect(await queue.next()).toEqual({ done: false, value: 2 });
    await queue.close();
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });

  it('ends a subscriber that falls too far behind with SERVICE_UNAVAILABLE', async () => {
    const pubsub = createPubSub<Channels>();
    const queue = openEventQueue(pubsub.subscribe('topic', 'a'), { maxPending: 3 });
    for (let i = 0; i < 5; i++) pubsub.publish('topic', 'a', i);
    await new Promise((r) => setTimeout(r, 10));
    const values: number[] = [];
    const error = await (async () => {
      for await (const value of queue) values.push(value);
    })().catch((e: unknown) => e);
    expect(values).toEqual([0, 1, 2]);
    expect(isAppError(error) && error.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('fail() delivers what is buffered, then the error, and stops listening', async () => {
    const pubsub = createPubSub<Channels>();
    const queue = openEventQueue(pubsub.subscribe('topic', 'a'));
    pubsub.publish('topic', 'a', 1);
    await new Promise((r) => setTimeout(r, 10));
    queue.fail(new Error('revoked'));
    pubsub.publish('topic', 'a', 2);
    expect(await queue.next()).toEqual({ done: false, value: 1 });
    await expect(queue.next()).rejects.toThrow('revoked');
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });
});

describe('withCleanup', () => {
  it('runs the cleanup when the stream is ended before it ever started', async () => {
    let cleaned = 0;
    async function* never(): AsyncGenerator<number> {
      yield 1;
    }
    const stream = withCleanup(never(), async () => {
      cleaned += 1;
    });
    await stream.return?.();
    await stream.return?.();
    expect(cleaned).toBe(1);
  });

  it('unblocks a generator waiting on its queue when the client goes away', async () => {
    const pubsub = createPubSub<Channels>();
    const queue = openEventQueue(pubsub.subscribe('topic', 'a'));
    async function* relay(): AsyncGenerator<number> {
      for await (const value of queue) yield value;
    }
    const stream = withCleanup(relay(), () => queue.close());
    const pending = stream.next();
    await new Promise((r) => setTimeout(r, 10));
    await stream.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
  });
});
