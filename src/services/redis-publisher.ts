import type { Redis } from 'ioredis';
import { createRedisClient } from '../common/redis-client.js';
import { settleWithin } from '../common/deadline.js';
import type { Logger } from '../observability/logger.js';

/**
 * How long events wait for a connection that is down (or not yet up and
 * checked) before they count as lost; counted from the first event held.
 */
export const HOLD_WHILE_DOWN_MS = 2_000;

/** Held events beyond this many are lost, oldest first: an outage must not grow memory without bound. */
export const MAX_HELD_EVENTS = 10_000;

/** An answer slower than this to the connection check (or to a publish in `answered` mode) means a broken connection. */
export const PUBLISH_COMMAND_TIMEOUT_MS = 2_000;

/**
 * The channel the connection check publishes an empty message to: a user that may not publish (Redis 7
 * ACLs, `resetchannels`) is found out there, since a connection that is not answered hears no errors.
 */
export const PROBE_CHANNEL = 'tmws:event-bus:probe';

export interface RedisPublisher {
  /** Sends the messages in order (as one write on a quiet connection), or holds them while the connection is down. */
  publish(messages: Message[]): void;
  /** Resolves once everything published has been handed to the socket, or after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void>;
  /** Closes the connection (after what was written has been sent). */
  close(): void;
}

/**
 * Publishes to Redis on a connection of its own that Redis does not answer.
 *
 * Nobody reads PUBLISH's answer (how many subscribers got the message), yet
 * each one woke the gateway: at one call at a time a tool call publishes
 * twice (RUNNING, then its outcome), and the two answers, arriving while the
 * process was idle, cost gateway CPU per call (bench/README.md, "Sixth
 * round"). So once a connection is ready, it is switched to `CLIENT REPLY OFF`
 * (Redis 3.2+) and the messages of each `publish` are written to its socket as one RESP
 * write; ioredis still owns the connection (TLS, AUTH, reconnects, error
 * logging), and no other code holds it, so no command that expects an answer
 * can follow the switch.
 *
 * - A fresh connection is first checked through ioredis: `CLIENT REPLY ON`
 *   and a PUBLISH to PROBE_CHANNEL. Their answers come after those of
 *   everything ioredis sent before, so nothing sent earlier is left waiting.
 *   A server that refuses either (a Redis-compatible server without CLIENT
 *   REPLY, a user whose ACL forbids publishing) is published to the usual
 *   way, answers and all, so that its refusals are logged.
 * - A server that accepts the switch yet keeps answering is found out by the
 *   bytes it sends: the connection is dropped and the next one is answered.
 * - While the connection is down or being checked, events are held, in order,
 *   for up to HOLD_WHILE_DOWN_MS; then they are lost, logged once per
 *   outage. Events written just before a connection breaks are lost without
 *   a word: pub/sub is at most once anyway (a subscriber that is away misses
 *   events too), and the subscription side resynchronises on its own.
 */
export function createRedisPublisher(url: string, logger?: Logger): RedisPublisher {
  const client = createRedisClient(url, {
    role: 'event bus publish',
    logger,
    overrides: { maxRetriesPerRequest: 2, commandTimeout: PUBLISH_COMMAND_TIMEOUT_MS },
  });
  return new QuietPublisher(client, logger);
}

type Mode = 'pending' | 'quiet' | 'answered';

class QuietPublisher implements RedisPublisher {
  private mode: Mode = 'pending';
  /** Bumped at every close, so a check answered on an earlier connection does not switch the new one. */
  private connection = 0;
  /** Set when this server accepted the switch but kept answering: every later connection stays answered. */
  private switchIgnored = false;
  /** The connection's `bytesRead` when it went quiet; it must not move. */
  private readAtQuiet = 0;
  /** Messages waiting for a connection (mode `pending`), oldest first. */
  private held: Message[] = [];
  private holdTimer: NodeJS.Timeout | undefined;
  private heldOut: { promise: Promise<void>; resolve: () => void } | undefined;
  private lastWrite: Promise<void> = Promise.resolve();
  private readonly answers = new Set<Promise<unknown>>();
  private failing = false;
  private saidAnswered = false;

  constructor(
    private readonly client: Redis,
    private readonly logger: Logger | undefined,
  ) {
    client.on('ready', () => void this.check(this.connection));
    client.on('close', () => {
      this.connection++;
      this.mode = 'pending';
    });
  }

  publish(messages: Message[]): void {
    if (messages.length === 0) return;
    if (this.mode === 'answered') this.publishAnswered(messages);
    else if (this.mode === 'quiet' && this.stillQuiet() && this.write(publishes(messages))) this.published();
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

  close(): void {
    this.client.disconnect();
  }

  /** Checks a fresh connection, then switches it to quiet, or to answered when the server refuses. */
  private async check(connection: number): Promise<void> {
    let refusal: Error | undefined = this.switchIgnored ? new Error('redis kept answering after CLIENT REPLY OFF') : undefined;
    if (!refusal) {
      try {
        await this.client.call('CLIENT', 'REPLY', 'ON');
        await this.client.publish(PROBE_CHANNEL, '');
      } catch (error) {
        if (!isReplyError(error)) {
          // No answer in time on a connection that says it is ready: start over on a new one.
          if (connection === this.connection) this.client.disconnect(true);
          return;
        }
        refusal = error;
      }
    }
    if (connection !== this.connection) return; // closed meanwhile: the next `ready` checks again
    if (refusal) {
      if (!this.saidAnswered) this.logger?.info({ err: refusal }, 'event bus publishes wait for redis to answer each one');
      this.saidAnswered = true;
      this.mode = 'answered';
    } else {
      // Raw, past ioredis, which would wait for an answer forever.
      if (!this.write(resp('CLIENT', 'REPLY', 'OFF'))) return;
      this.readAtQuiet = this.client.stream.bytesRead;
      this.mode = 'quiet';
    }
    this.release();
  }

  /** False (and the connection dropped, to be answered from then on) when a quiet connection has been sent bytes. */
  private stillQuiet(): boolean {
    if (this.client.stream.bytesRead === this.readAtQuiet) return true;
    this.logger?.warn('redis kept answering after CLIENT REPLY OFF; event bus publishes wait for answers from now on');
    this.switchIgnored = true;
    this.client.disconnect(true);
    return false;
  }

  /** Sends what was held, in order, once the connection is usable. */
  private release(): void {
    const held = this.held;
    this.held = [];
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.mode === 'answered') {
      this.publishAnswered(held);
    } else if (held.length > 0) {
      if (this.write(publishes(held))) this.published();
      else this.hold(held);
    }
    if (this.held.length === 0) this.settleHeld();
  }

  /** The usual way: one PUBLISH per message through ioredis, its answer (or refusal) awaited. */
  private publishAnswered(messages: Message[]): void {
    for (const [channel, message] of messages) {
      const answer = this.client.publish(channel, message).then(
        () => this.published(),
        (error: unknown) => this.lost(error),
      );
      this.answers.add(answer);
      void answer.finally(() => this.answers.delete(answer));
    }
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
    this.lastWrite = new Promise((resolve) =>
      stream.write(data, (error) => {
        if (error) this.lost(error);
        resolve();
      }),
    );
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

export type Message = [channel: string, message: string];

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

function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

function withResolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
