import type { Redis } from 'ioredis';
import { settleWithin } from '../common/deadline.js';
import type { Logger } from '../observability/logger.js';

/** How long events wait for a connection that is down (or not yet up) before they count as lost. */
export const HOLD_WHILE_DOWN_MS = 2_000;

/** Held events beyond this many are lost, oldest first: an outage must not grow memory without bound. */
export const MAX_HELD_EVENTS = 10_000;

/**
 * Publishes to Redis on a connection that Redis does not answer.
 *
 * Nobody reads PUBLISH's answer (how many subscribers got the message), yet
 * each one woke the gateway: at one call at a time a tool call publishes
 * twice (RUNNING, then its outcome), and the two answers, arriving while the
 * process was idle, cost more gateway CPU per call than the Redis writes
 * themselves (bench/README.md, "Sixth round"). So once a connection is ready,
 * it is switched to `CLIENT REPLY OFF` (Redis 3.2+) and the events of a turn
 * of the event loop are written to its socket as one RESP write; ioredis
 * still owns the connection (TLS, AUTH, reconnects, error logging).
 *
 * - A fresh connection is first asked `CLIENT REPLY ON` through ioredis. Its
 *   answer comes after the answer of everything ioredis sent before, so
 *   nothing sent later is left waiting for a reply; a server that refuses the
 *   command (a Redis-compatible server without it) is published to the usual
 *   way, answers and all.
 * - While the connection is down or being checked, events are held, in order,
 *   for up to HOLD_WHILE_DOWN_MS (about what ioredis's two retries gave
 *   before); then they are lost, logged once per outage, like before. Pub/sub
 *   is at most once anyway: a subscriber that is away misses events too.
 */
export function createRedisPublisher(client: Redis, logger: Logger | undefined): RedisPublisher {
  return new QuietPublisher(client, logger);
}

export interface RedisPublisher {
  /** Sends the message with the others of this batch (see `flush`), or holds it while the connection is down. */
  publish(channel: string, message: string): void;
  /** Writes what `publish` collected: call once per batch (the event bus: at the end of a turn). */
  flush(): void;
  /** Resolves once everything published has been handed to the socket, or after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void>;
}

type Mode = 'pending' | 'quiet' | 'answered';

class QuietPublisher implements RedisPublisher {
  private mode: Mode = 'pending';
  /** Bumped at every close, so a check answered on an earlier connection does not switch the new one. */
  private connection = 0;
  /** Messages of the current batch. */
  private batch: Message[] = [];
  /** Messages waiting for a connection (mode `pending`), oldest first. */
  private held: Message[] = [];
  private holdTimer: NodeJS.Timeout | undefined;
  private heldOut: { promise: Promise<void>; resolve: () => void } | undefined;
  private lastWrite: Promise<void> = Promise.resolve();
  private readonly answers = new Set<Promise<unknown>>();
  private failing = false;
  private saidUnsupported = false;

  constructor(
    private readonly client: Redis,
    private readonly logger: Logger | undefined,
  ) {
    client.on('ready', () => this.check(this.connection));
    client.on('close', () => {
      this.connection++;
      this.mode = 'pending';
    });
  }

  publish(channel: string, message: string): void {
    if (this.mode === 'answered') {
      const answer = this.client.publish(channel, message).then(
        () => this.published(),
        (error: unknown) => this.lost(error),
      );
      this.answers.add(answer);
      void answer.finally(() => this.answers.delete(answer));
      return;
    }
    this.batch.push([channel, message]);
  }

  flush(): void {
    if (this.batch.length === 0) return;
    const messages = this.batch;
    this.batch = [];
    if (this.mode === 'quiet' && this.write(publishes(messages))) this.published();
    else this.hold(messages);
  }

  async settled(timeoutMs: number): Promise<void> {
    const everything = (async () => {
      await this.heldOut?.promise;
      await this.lastWrite;
      await Promise.allSettled([...this.answers]);
    })();
    await settleWithin(everything, timeoutMs, undefined);
  }

  /** Asks a fresh connection whether it can go quiet, then does. */
  private check(connection: number): void {
    this.client.call('CLIENT', 'REPLY', 'ON').then(
      () => {
        if (connection !== this.connection) return;
        // Raw, past ioredis, which would wait for an answer forever.
        if (!this.write(resp('CLIENT', 'REPLY', 'OFF'))) return;
        this.mode = 'quiet';
        this.release();
      },
      (error: unknown) => {
        if (connection !== this.connection || !isReplyError(error)) return; // closed meanwhile: the next `ready` checks again
        if (!this.saidUnsupported)
          this.logger?.info({ err: error }, 'redis does not support CLIENT REPLY; event bus publishes wait for answers');
        this.saidUnsupported = true;
        this.mode = 'answered';
        this.release();
      },
    );
  }

  /** Sends what was held, in order, once the connection is usable. */
  private release(): void {
    const held = this.held;
    this.held = [];
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.mode === 'answered') {
      for (const [channel, message] of held) this.publish(channel, message);
    } else if (held.length > 0) {
      if (this.write(publishes(held))) this.published();
      else this.hold(held);
    }
    if (this.held.length === 0) this.settleHeld();
  }

  private hold(messages: Message[]): void {
    this.held = this.held.concat(messages);
    if (this.held.length > MAX_HELD_EVENTS) {
      this.held.splice(0, this.held.length - MAX_HELD_EVENTS);
      this.lost(new Error(`more than ${MAX_HELD_EVENTS} events waiting for redis`));
    }
    this.heldOut ??= withResolvers();
    this.holdTimer ??= setTimeout(() => {
      this.holdTimer = undefined;
      if (this.held.length === 0) return;
      this.held = [];
      this.lost(new Error(`redis was not reachable within ${HOLD_WHILE_DOWN_MS} ms`));
      this.settleHeld();
    }, HOLD_WHILE_DOWN_MS);
    this.holdTimer.unref();
  }

  private settleHeld(): void {
    this.heldOut?.resolve();
    this.heldOut = undefined;
  }

  /** False when the socket cannot take it (closing): the caller holds the commands for the next connection. */
  private write(data: string): boolean {
    const stream = this.client.stream;
    if (this.client.status !== 'ready' || !stream?.writable) return false;
    this.lastWrite = new Promise((resolve) => stream.write(data, () => resolve()));
    return true;
  }

  private published(): void {
    if (this.failing) this.logger?.info('event bus publishing to redis again');
    this.failing = false;
  }

  private lost(error: unknown): void {
    if (!this.failing) this.logger?.warn({ err: error }, 'event bus could not publish to redis; events are lost until it is back');
    this.failing = true;
  }
}

type Message = [channel: string, message: string];

function publishes(messages: Message[]): string {
  let out = '';
  for (const [channel, message] of messages) out += resp('PUBLISH', channel, message);
  return out;
}

/** One command in the Redis protocol (RESP): an array of bulk strings, lengths in bytes. */
function resp(...parts: string[]): string {
  let out = `*${parts.length}\r\n`;
  for (const part of parts) out += `$${Buffer.byteLength(part)}\r\n${part}\r\n`;
  return out;
}

function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

function withResolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
