/**
 * The event bus's Redis publisher against real redis-servers, through a relay that counts what Redis
 * sends back: once its connection is checked it is switched to CLIENT REPLY OFF, so publishing reads
 * nothing (no answer wakes the gateway), while every message still arrives, in order — also after
 * Redis restarts. A server without CLIENT REPLY, a user who may not publish, and a server that keeps
 * answering after the switch are published to the usual way, answers (and refusals) and all.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/observability/logger.js';
import { createRedisPublisher, type Message, type RedisPublisher } from '../../src/services/redis-publisher.js';
import { eventually } from '../helpers/eventually.js';
import { startTcpRelay, type TcpRelay } from '../helpers/net.js';
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
  publisher: RedisPublisher;
  relay: TcpRelay;
  received: string[];
  logged: string[];
  close: () => Promise<void>;
}

/** A publisher connected through a relay to `server` (as `user`), and a subscriber on `channel`. */
async function setUp(
  server: RedisTestServer,
  channel: string,
  options: { user?: string; rewrite?: (fromClient: Buffer) => Buffer } = {},
): Promise<Setup> {
  const subscriber = new Redis(server.url);
  await subscriber.subscribe(channel);
  const received: string[] = [];
  subscriber.on('message', (_channel: string, message: string) => received.push(message));
  const logged: string[] = [];
  const log = (...args: unknown[]) => void logged.push(String(args.at(-1)));
  const logger = { info: log, warn: log } as unknown as Logger;
  const relay = await startTcpRelay(server.port, { rewrite: options.rewrite });
  const publisher = createRedisPublisher(`redis://${options.user ?? ''}@127.0.0.1:${relay.port}`, logger);
  return {
    publisher,
    relay,
    received,
    logged,
    close: async () => {
      publisher.close();
      subscriber.disconnect();
      await relay.close();
    },
  };
}

/** Publishes `messages` in batches of 7, a turn apart, as the event bus does. */
async function publishInBatches(publisher: RedisPublisher, channel: string, messages: string[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 7) {
    publisher.publish(messages.slice(i, i + 7).map((message): Message => [channel, message]));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const numbered = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix} ${i} ✓`);

/**
 * Publishes one message (before the connection is even up: it is held, then sent once the connection is
 * checked) and waits for it, then publishes `count` more and waits for them: resolves with the bytes
 * Redis sent the publisher meanwhile, i.e. its answers.
 */
async function bytesAnsweredPublishing(setup: Setup, channel: string, count: number): Promise<number> {
  const start = setup.received.length;
  await publishInBatches(setup.publisher, channel, ['first']);
  await eventually(() => setup.received.length === start + 1, 10_000, 'the first message');
  const before = setup.relay.bytesToClients();
  const messages = numbered('message', count);
  await publishInBatches(setup.publisher, channel, messages);
  await eventually(() => setup.received.length === start + count + 1, 10_000, `all ${count} messages`);
  await setup.publisher.settled(5_000);
  expect(setup.received.slice(start)).toEqual(['first', ...messages]);
  return setup.relay.bytesToClients() - before;
}

/** One ":1" (one subscriber got it) per message. */
const answersOf = (count: number): number => count * ':1\r\n'.length;

describe('Redis publisher', () => {
  it('delivers every message in order and is sent nothing once its connection is quiet', async () => {
    const setup = await setUp(plain, 'quiet');
    try {
      expect(await bytesAnsweredPublishing(setup, 'quiet', 300)).toBe(0);
      expect(setup.logged).toEqual([]);
    } finally {
      await setup.close();
    }
  });

  it('goes quiet again on the new connection after Redis restarts', async () => {
    const setup = await setUp(plain, 'restarted');
    try {
      expect(await bytesAnsweredPublishing(setup, 'restarted', 10)).toBe(0);
      await plain.kill();
      await plain.restart();
      // The subscriber and the publisher reconnect with backoff: publish until one message gets through.
      await eventually(
        async () => {
          setup.publisher.publish([['restarted', 'back']]);
          await new Promise((resolve) => setTimeout(resolve, 50));
          return setup.received.includes('back');
        },
        15_000,
        'a message published after the restart',
      );
      await setup.publisher.settled(5_000);
      const before = setup.relay.bytesToClients();
      const received = setup.received.length;
      const messages = numbered('after', 50);
      await publishInBatches(setup.publisher, 'restarted', messages);
      await eventually(() => setup.received.length === received + 50, 10_000, 'the 50 messages after the restart');
      expect(setup.received.slice(received)).toEqual(messages);
      expect(setup.relay.bytesToClients() - before).toBe(0);
    } finally {
      await setup.close();
    }
  });

  it('publishes to a server without CLIENT REPLY the usual way, with answers, and says so once', async () => {
    const setup = await setUp(withoutClient, 'answered');
    try {
      expect(await bytesAnsweredPublishing(setup, 'answered', 50)).toBe(answersOf(50));
      expect(setup.logged).toEqual(['event bus publishes wait for redis to answer each one']);
    } finally {
      await setup.close();
    }
  });

  it('switches back to answers when the server keeps answering after CLIENT REPLY OFF, losing nothing', async () => {
    // The relay drops the switch, so Redis answers every PUBLISH of a connection the publisher thinks quiet.
    const off = '*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n';
    const rewrite = (chunk: Buffer) => Buffer.from(chunk.toString('latin1').replace(off, ''), 'latin1');
    const setup = await setUp(plain, 'ignored', { rewrite });
    try {
      await bytesAnsweredPublishing(setup, 'ignored', 50);
      expect(setup.logged).toContain('redis kept answering after CLIENT REPLY OFF; event bus publishes wait for answers from now on');
      expect(await bytesAnsweredPublishing(setup, 'ignored', 20)).toBe(answersOf(20));
    } finally {
      await setup.close();
    }
  });

  it('does not lose events silently when the user may not publish: the refusals are logged', async () => {
    // A user that may run every command but publish on no channel (Redis 7's default for new users).
    const admin = new Redis(plain.url);
    await admin.call('ACL', 'SETUSER', 'mute', 'on', '>secret', '~*', '+@all', 'resetchannels');
    admin.disconnect();
    const setup = await setUp(plain, 'forbidden', { user: 'mute:secret' });
    try {
      await publishInBatches(setup.publisher, 'forbidden', ['refused']);
      await eventually(
        () => setup.logged.includes('event bus could not publish to redis; events are lost until it is back'),
        10_000,
        'the refused publish logged',
      );
      expect(setup.logged[0]).toBe('event bus publishes wait for redis to answer each one');
      expect(setup.received).toEqual([]);
    } finally {
      await setup.close();
    }
  });
});
