/**
 * SPEC §14: at most TMWS_MAX_SUBSCRIPTIONS_PER_AGENT open subscriptions per
 * agent (SSE and WebSocket together); one more is refused with
 * RATE_LIMIT_EXCEEDED. executionProgress on an unknown id fails at once.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ExecutionProgressDocument, ExecutionUpdatesDocument } from '../gql/graphql.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';
import { codes, collect, EventReader, sse, wsClient, type GraphQLPayload, type SseSubscription } from './client.js';
import { createConnection } from './fixtures.js';

const UPDATES = 'subscription { executionUpdates { type } }';
const STATUSES = 'subscription { connectionStatusChanged { id status } }';

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
  let upstream: TestUpstream;
  beforeAll(async () => {
    [gw, upstream] = await Promise.all([startGateway({ TMWS_MAX_SUBSCRIPTIONS_PER_AGENT: '3' }), startTestUpstream()]);
    agent = await gw.agent('sub-limit-agent', 'sub-limit-ns');
    other = await gw.agent('sub-limit-other', 'sub-limit-ns');
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.stop();
  });

  it('counts SSE and WebSocket together, refuses one more with RATE_LIMIT_EXCEEDED, and frees a slot when one ends', async () => {
    const client = wsClient(gw, `Bearer ${agent.token}`);
    const open: SseSubscription<unknown>[] = [];
    try {
      open.push(await sse(gw, ExecutionUpdatesDocument, {}, agent.token), await sse(gw, ExecutionUpdatesDocument, {}, agent.token));
      // The third, over the socket; a WebSocket subscribes asynchronously: create connections until it reports one.
      const overSocket = new EventReader(client.subscribe(STATUSES));
      let live = false;
      for (let attempt = 0; attempt < 20 && !live; attempt++) {
        const id = await createConnection(gw, agent, `sub-limit-probe-${attempt}`, upstream.url);
        live = (await overSocket.until((p) => JSON.stringify(p).includes(id), 1_000).catch(() => [])).length > 0;
      }
      expect(live).toBe(true);

      const refused = await outcome(await sse(gw, ExecutionUpdatesDocument, {}, agent.token));
      expect(refused).not.toBe('open');
      const error = (refused as GraphQLPayload<unknown>).errors![0]!;
      expect(error.extensions).toMatchObject({
        code: 'RATE_LIMIT_EXCEEDED',
        details: { endpoint_type: 'graphql_subscriptions', limit: 3 },
      });
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
  let upstream: TestUpstream;
  beforeAll(async () => {
    [gw, upstream] = await Promise.all([startGateway(), startTestUpstream()]);
    agent = await gw.agent('sub-default-agent', 'sub-default-ns');
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.stop();
  });

  it('accepts 100 on one socket and refuses the 101st', async () => {
    const client = wsClient(gw, `Bearer ${agent.token}`);
    try {
      const readers = Array.from({ length: 100 }, () => new EventReader(client.subscribe(STATUSES)));
      // All 100 are live once each has reported a connection created after it subscribed.
      const live = new Set<number>();
      for (let attempt = 0; attempt < 20 && live.size < readers.length; attempt++) {
        const id = await createConnection(gw, agent, `sub-default-probe-${attempt}`, upstream.url);
        const seen = await Promise.all(readers.map((reader) => reader.until((p) => JSON.stringify(p).includes(id), 1_000).catch(() => [])));
        seen.forEach((events, index) => events.length > 0 && live.add(index));
      }
      expect(live.size).toBe(100);
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
