/**
 * SPEC §14: at most TMWS_MAX_SUBSCRIPTIONS_PER_AGENT open subscriptions per
 * agent (SSE and WebSocket together); one more is refused with
 * RATE_LIMIT_EXCEEDED. executionProgress on an unknown id fails at once.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ExecutionProgressDocument, ExecutionUpdatesDocument } from '../gql/graphql.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { codes, collect, EventReader, sse, wsClient, type GraphQLPayload, type SseSubscription } from './client.js';

const UPDATES = 'subscription { executionUpdates { type } }';

/** The first payload of a subscription that the server refused (it ends after it), or 'open' (closed again here). */
async function outcome(subscription: SseSubscription<unknown>): Promise<GraphQLPayload<unknown> | 'open'> {
  const reader = new EventReader(subscription.events);
  const first = await reader.next(1_500);
  if (first !== 'timeout' && !first.done) return first.value;
  subscription.close();
  return 'open';
}

describe('subscriptions per agent (limit 3)', () => {
  let gw: TestGateway;
  let agent: TestAgent;
  let other: TestAgent;
  beforeAll(async () => {
    gw = await startGateway({ TMWS_MAX_SUBSCRIPTIONS_PER_AGENT: '3' });
    agent = await gw.agent('sub-limit-agent', 'sub-limit-ns');
    other = await gw.agent('sub-limit-other', 'sub-limit-ns');
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('counts SSE and WebSocket together, refuses one more with RATE_LIMIT_EXCEEDED, and frees a slot when one ends', async () => {
    const client = wsClient(gw, `Bearer ${agent.token}`);
    const open: SseSubscription<unknown>[] = [];
    try {
      open.push(await sse(gw, ExecutionUpdatesDocument, {}, agent.token), await sse(gw, ExecutionUpdatesDocument, {}, agent.token));
      // The third, over the socket: its events are read so that a refusal would show.
      const overSocket = new EventReader(client.subscribe(UPDATES));
      expect(await overSocket.next(1_000)).toBe('timeout');

      const refused = await outcome(await sse(gw, ExecutionUpdatesDocument, {}, agent.token));
      expect(refused).not.toBe('open');
      const error = (refused as GraphQLPayload<unknown>).errors![0]!;
      expect(error.extensions).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', details: { endpoint_type: 'graphql_subscriptions', limit: 3 } });
      expect(error.message).toBe('Too many open subscriptions: at most 3 per agent; end one before opening another');
      const overWs = await collect(client.subscribe(UPDATES));
      expect(overWs.flatMap((p) => codes(p))).toEqual(['RATE_LIMIT_EXCEEDED']);

      // Another agent has its own allowance.
      const others = await sse(gw, ExecutionUpdatesDocument, {}, other.token);
      expect(await outcome(others)).toBe('open');
      others.close();

      // Ending one (the client goes away) gives its slot back.
      open.shift()!.close();
      await expect.poll(async () => outcome(await sse(gw, ExecutionUpdatesDocument, {}, agent.token)), { timeout: 10_000 }).toBe('open');
    } finally {
      for (const subscription of open) subscription.close();
      await client.dispose();
    }
  });
});

describe('subscriptions per agent (default 100)', () => {
  let gw: TestGateway;
  let agent: TestAgent;
  beforeAll(async () => {
    gw = await startGateway();
    agent = await gw.agent('sub-default-agent', 'sub-default-ns');
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('accepts 100 on one socket and refuses the 101st', async () => {
    const client = wsClient(gw, `Bearer ${agent.token}`);
    try {
      const readers = Array.from({ length: 100 }, () => new EventReader(client.subscribe(UPDATES)));
      const results = await Promise.all(readers.map((reader) => reader.next(2_000)));
      expect(results.every((r) => r === 'timeout')).toBe(true);
      const overflow = await collect(client.subscribe(UPDATES));
      expect(overflow.flatMap((p) => codes(p))).toEqual(['RATE_LIMIT_EXCEEDED']);
    } finally {
      await client.dispose();
    }
    // Closing the socket gives all 100 back.
    await expect.poll(async () => outcome(await sse(gw, ExecutionUpdatesDocument, {}, agent.token)), { timeout: 10_000 }).toBe('open');
  });

  it('fails executionProgress on an unknown id with one lookup, not a polling loop', async () => {
    const lookups = vi.spyOn(gw.gateway.services.executions, 'get');
    try {
      const subscription = await sse(gw, ExecutionProgressDocument, { executionId: '6f0e4a8e-0000-4000-8000-0000000000aa' }, agent.token);
      const events = await collect(subscription.events);
      expect(events.flatMap((e) => codes(e))).toEqual(['EXECUTION_NOT_FOUND']);
      expect(lookups).toHaveBeenCalledTimes(1);
    } finally {
      lookups.mockRestore();
    }
  });
});
