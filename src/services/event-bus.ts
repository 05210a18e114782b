import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import type { Redis } from 'ioredis';
import { createRedisClient } from '../common/redis-client.js';
import { settleWithin } from '../common/deadline.js';
import type { ConnectionStatus, ExecutionStatus } from '../db/entities/index.js';
import type { Logger } from '../observability/logger.js';
import { createRedisPublisher, type Message, type RedisPublisher } from './redis-publisher.js';

export type ExecutionEventType = 'STATE' | 'PROGRESS' | 'LOG' | 'COMPLETED' | 'FAILED' | 'CANCELLED';

/** Everything a subscriber needs to render one step of an execution, without a database read. */
export interface ExecutionEventPayload {
  type: ExecutionEventType;
  executionId: string;
  namespace: string;
  agentId: string;
  connectionId: string;
  toolName: string;
  status: ExecutionStatus;
  progress: number | null;
  total: number | null;
  message: string | null;
  at: string;
}

export interface ConnectionStatusPayload {
  connectionId: string;
  namespace: string;
  agentId: string;
  serverName: string;
  status: ConnectionStatus;
  errorMessage: string | null;
  at: string;
}

/** A request to abort an execution, possibly running on another instance. */
export interface CancelRequestPayload {
  executionId: string;
  reason: string;
}

type Channels = {
  execution: [executionId: string, payload: ExecutionEventPayload];
  'namespace-executions': [namespace: string, payload: ExecutionEventPayload];
  'namespace-connections': [namespace: string, payload: ConnectionStatusPayload];
  'execution-cancel': [payload: CancelRequestPayload];
  /** A connection was disconnected on some instance: every instance drops its upstream session. */
  'connection-closed': [payload: { connectionId: string }];
  /** A connection's stored tool catalogue was replaced (create, discover, upstream tools/list_changed). */
  'namespace-catalogue': [namespace: string, payload: CatalogueChangedPayload];
  /** Tool governance: a refresh held back a tool (changed definition, scan finding, new tool under a cautious policy). */
  'namespace-tool-quarantined': [namespace: string, payload: ToolQuarantinedPayload];
  /** Downstream MCP endpoint: a client cancelled a request that may be running on another instance. */
  'mcp-request-cancel': [payload: McpRequestCancelPayload];
  /** Downstream MCP endpoint: a session was ended (DELETE) on some instance. */
  'mcp-session-closed': [payload: { sessionId: string }];
};

export interface ToolQuarantinedPayload {
  connectionId: string;
  agentId: string;
  serverName: string;
  toolName: string;
  reasons: string[];
  at: string;
}

export interface CatalogueChangedPayload {
  /** Empty for a namespace-wide change. */
  connectionId: string;
  /** The connection's owner, or `*` when a change (the tool policy) may alter every agent's catalogue. */
  agentId: string;
}

/** Identifies one downstream JSON-RPC request: the session (or the agent, without one) and the request id. */
export interface McpRequestCancelPayload {
  requestKey: string;
  reason: string;
}

/**
 * Typed publish/subscribe shared by the services and every front door.
 * In-process by default; with Redis, an event published on one instance
 * reaches subscribers on all instances (SPEC §10).
 */
export interface EventBus {
  readonly pubsub: PubSub<Channels>;
  /**
   * Resolves true once every subscription made so far is in effect on Redis,
   * so an event published afterwards on any instance reaches it; false when
   * Redis did not confirm within `timeoutMs`. Redis drops a message for a
   * channel whose SUBSCRIBE it has not processed yet, and subscribing sends
   * that command without waiting: an instance that served requests before
   * then could miss another's event (a DELETEd /mcp session still open here).
   */
  subscribed(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** How long start-up waits for Redis to confirm the event bus subscriptions. */
export const SUBSCRIBED_WAIT_MS = 5_000;

export function createEventBus(redisUrl?: string, logger?: Logger): EventBus {
  if (!redisUrl) {
    // Every subscription (GraphQL, a /mcp stream) adds a listener per topic; many per namespace is normal,
    // not a leak, so Node's warning past 10 listeners is turned off for the bus.
    const eventTarget = new EventTarget();
    setMaxListeners(0, eventTarget);
    return { pubsub: createPubSub<Channels>({ eventTarget }), subscribed: () => Promise.resolve(true), close: async () => {} };
  }
  // Subscriptions must survive Redis hiccups: reconnecting clients, unlike the limiter's. A publish waits
  // HOLD_WHILE_DOWN_MS for a connection (then the event is lost, logged once); a subscribe waits longer.
  // No ready check: ioredis writes a SUBSCRIBE at once even while its connection is still being set up
  // (Redis accepts SUBSCRIBE while loading), and its ready check, an INFO, then fails in subscriber mode;
  // the client reconnected without the channels subscribed in that window, and never said so.
  // Subscribing commands wait for Redis however long it is away (no maxRetriesPerRequest): one given up
  // after ioredis's default 20 reconnects would leave its subscription silently empty once Redis is back.
  const subscribeClient = createRedisClient(redisUrl, {
    role: 'event bus subscribe',
    logger,
    overrides: { enableReadyCheck: false, maxRetriesPerRequest: null },
  });
  let closing = false;
  const subscribing = subscribingSide(subscribeClient, logger, () => closing);
  // Only the subscribing side of the event target is used: its dispatchEvent is replaced below, and the
  // publishing connection is the RedisPublisher's own, which no other code may send commands on.
  const target = createRedisEventTarget({ publishClient: subscribing, subscribeClient: subscribing });
  const redisPublisher = createRedisPublisher(redisUrl, logger);
  const publisher = publishAfterTurn(redisPublisher, logger);
  const eventTarget: RedisEventTarget = {
    addEventListener: target.addEventListener.bind(target),
    removeEventListener: target.removeEventListener.bind(target),
    dispatchEvent: publisher.dispatchEvent,
  };
  return {
    pubsub: createPubSub<Channels>({ eventTarget }),
    async subscribed(timeoutMs = SUBSCRIBED_WAIT_MS) {
      // A subscription is made when its iterator first pulls, possibly later in this turn: let those run first.
      await new Promise((resolve) => setImmediate(resolve));
      // Redis answers one connection's commands in order: the PONG comes after every SUBSCRIBE sent before it.
      const confirmed = subscribeClient.ping().then(
        () => true,
        () => false,
      );
      return settleWithin(confirmed, timeoutMs, false);
    },
    close: async () => {
      closing = true;
      // Last events out, waiting for Redis only briefly: a shutdown must not hang on a Redis that is down.
      publisher.flush();
      await publisher.settled(CLOSE_PUBLISH_WAIT_MS);
      redisPublisher.close();
      subscribeClient.disconnect();
    },
  };
}

/**
 * What the event target is given to subscribe with: the client, except that
 * SUBSCRIBE and UNSUBSCRIBE failures are handled. The event target sends
 * them without a handler, and one still unanswered when the connection is
 * closed would be an unhandled rejection, which ends a Node process. A
 * failure while the bus is open is logged; one during close is expected.
 */
function subscribingSide(client: Redis, logger: Logger | undefined, closing: () => boolean): Redis {
  const failed = (command: string) => (error: unknown) => {
    if (!closing()) logger?.warn({ err: error }, `event bus ${command} failed`);
  };
  const side = {
    on: client.on.bind(client),
    subscribe: (...channels: string[]) => client.subscribe(...channels).catch(failed('SUBSCRIBE')),
    unsubscribe: (...channels: string[]) => client.unsubscribe(...channels).catch(failed('UNSUBSCRIBE')),
  };
  // The event target calls nothing else on its subscribing client (and nothing at all on its publishing one here).
  return side as unknown as Redis;
}

/** How long `close()` waits for the last publishes to reach Redis. */
const CLOSE_PUBLISH_WAIT_MS = 1_000;

type RedisEventTarget = ReturnType<typeof createRedisEventTarget>;
type BusEvent = Parameters<RedisEventTarget['dispatchEvent']>[0];

/**
 * Publishes the events of one turn of the event loop to Redis at the end of
 * that turn, in order, as one write (the same JSON on the same channel as
 * @graphql-yoga/redis-event-target, whose subscriber side is used as is).
 * A tool call publishes its terminal event just before its response is
 * written; serialising and sending it first (and waking Redis) put about half
 * a millisecond on every call's latency at low concurrency. Subscribers still
 * receive every event, a turn later.
 *
 * An event that cannot be serialised or sent is lost, logged once per outage
 * (RedisPublisher), and never becomes an unhandled rejection: a Redis outage
 * must not take the gateway down.
 */
function publishAfterTurn(
  publisher: RedisPublisher,
  logger: Logger | undefined,
): { dispatchEvent(event: BusEvent): boolean; flush(): void; settled(timeoutMs: number): Promise<void> } {
  let queued: BusEvent[] = [];
  const flush = () => {
    const events = queued;
    queued = [];
    const messages: Message[] = [];
    for (const event of events) {
      try {
        messages.push([event.type, event.detail === undefined ? '' : JSON.stringify(event.detail)]);
      } catch (error) {
        logger?.warn({ err: error, channel: event.type }, 'event bus could not serialise an event; it is lost');
      }
    }
    publisher.publish(messages);
  };
  return {
    dispatchEvent(event) {
      if (queued.length === 0) setImmediate(flush);
      queued.push(event);
      return true;
    },
    flush,
    settled: (timeoutMs) => publisher.settled(timeoutMs),
  };
}
