/**
 * The event bus's Redis publisher: once a connection is checked it is switched to CLIENT REPLY OFF,
 * so publishing reads nothing back (no answer wakes the gateway), while every message still arrives,
 * in order. A server without CLIENT REPLY is published to the usual way, answers and all.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/observability/logger.js';
import { createRedisPublisher, type RedisPublisher } from '../../src/services/redis-publisher.js';
import { eventually } from '../helpers/eventually.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';

let plain: RedisTestServer;
let withoutClient: RedisTestServer;

beforeAll(async () => {
  [plain, withoutClient] = await Promise.all([startRedis(), startRedis({ args: ['--rename-command', 'CLIENT', ''] })]);
});
afterAll(async () => {
  await Promise.all([plain?.stop(), withoutClient?.stop()]);
});

interface Setup {
  client: Redis;
  publisher: RedisPublisher;
  received: string[];
  infos: string[];
  errors: Error[];
  close: () => Promise<void>;
}

async function setUp(server: RedisTestServer, channel: string): Promise<Setup> {
  const subscriber = new Redis(server.url);
  await subscriber.subscribe(channel);
  const received: string[] = [];
  subscriber.on('message', (_channel: string, message: string) => received.push(message));
  const infos: string[] = [];
  const logger = { info: (...args: unknown[]) => infos.push(String(args.at(-1))), warn: () => undefined } as unknown as Logger;
  const client = new Redis(server.url);
  const errors: Error[] = [];
  client.on('error', (error: Error) => errors.push(error));
  const publisher = createRedisPublisher(client, logger);
  return {
    client,
    publisher,
    received,
    infos,
    errors,
    close: async () => {
      client.disconnect();
      subscriber.disconnect();
    },
  };
}

/** Publishes `messages` in batches of `perBatch`, a turn apart, as the event bus does. */
async function publishInBatches(publisher: RedisPublisher, channel: string, messages: string[], perBatch: number): Promise<void> {
  for (let i = 0; i < messages.length; i += perBatch) {
    for (const message of messages.slice(i, i + perBatch)) publisher.publish(channel, message);
    publisher.flush();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const numbered = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix} ${i} ✓`);

/**
 * Publishes one message (before the connection is even up: it is held, then sent once the connection is
 * checked), waits for it, then publishes `count` more in batches and waits for them: resolves with how many
 * bytes the publishing connection read meanwhile, i.e. the answers it got.
 */
async function bytesReadPublishing(setup: Setup, channel: string, count: number): Promise<number> {
  await publishInBatches(setup.publisher, channel, ['first'], 1);
  await eventually(() => setup.received.length === 1, 10_000, 'the first message');
  const readBefore = setup.client.stream.bytesRead;
  const messages = numbered('message', count);
  await publishInBatches(setup.publisher, channel, messages, 7);
  await eventually(() => setup.received.length === count + 1, 10_000, `all ${count} messages`);
  await setup.publisher.settled(5_000);
  expect(setup.received).toEqual(['first', ...messages]);
  return setup.client.stream.bytesRead - readBefore;
}

describe('Redis publisher', () => {
  it('delivers every message in order and reads no answers once the connection is quiet', async () => {
    const setup = await setUp(plain, 'quiet');
    try {
      expect(await bytesReadPublishing(setup, 'quiet', 300)).toBe(0);
      expect(setup.infos).toEqual([]);
      expect(setup.errors).toEqual([]);
    } finally {
      await setup.close();
    }
  });

  it('publishes to a server without CLIENT REPLY the usual way, with answers, and says so once', async () => {
    const setup = await setUp(withoutClient, 'answered');
    try {
      // One ":1" answer per message.
      expect(await bytesReadPublishing(setup, 'answered', 50)).toBe(50 * ':1\r\n'.length);
      expect(setup.infos).toEqual(['redis does not support CLIENT REPLY; event bus publishes wait for answers']);
      expect(setup.errors).toEqual([]);
    } finally {
      await setup.close();
    }
  });
});
