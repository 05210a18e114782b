import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ExternalServiceError } from '../../src/errors/index.js';
import { UpstreamCancelledError, UpstreamTimeoutError } from '../../src/mcp/client-pool.js';
import type { ProgressUpdate } from '../../src/mcp/types.js';
import { freePort } from '../helpers/net.js';
import { startTestUpstream, type TestUpstream, type TestUpstreamOptions } from '../helpers/upstreams/index.js';
import { createPool, eventually, rejectionOf, target, type PoolHarness } from './support.js';

/** "Fast" means well short of the SDK's 60 s default, with room for a loaded 2-core CI machine. */
const FAILS_FAST_MS = 5_000;

let upstream: TestUpstream | undefined;
let harness: PoolHarness | undefined;

async function setup(options: TestUpstreamOptions = {}): Promise<{ upstream: TestUpstream; h: PoolHarness }> {
  upstream = await startTestUpstream(options);
  harness = createPool();
  return { upstream, h: harness };
}

afterEach(async () => {
  await harness?.pool.close();
  await upstream?.stop();
  harness = undefined;
  upstream = undefined;
});

describe('connect and discover', () => {
  it('initializes and lists the catalogue with schemas, titles and annotations', async () => {
    const { upstream, h } = await setup();
    const tools = await h.pool.connect(target(upstream.url));
    const add = tools.find((t) => t.name === 'add');
    expect(add).toEqual({
      name: 'add',
      title: 'Add two numbers',
      description: 'Adds a and b, with structured output',
      inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
      outputSchema: { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] },
      annotations: { readOnlyHint: true },
    });
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'fail', 'slow', 'crash']));
  });

  it('follows tools/list pagination: 257 tools over 3 pages', async () => {
    const { upstream, h } = await setup({ bulkTools: 250, pageSize: 100 });
    const tools = await h.pool.connect(target(upstream.url));
    expect(tools).toHaveLength(257);
    expect(new Set(tools.map((t) => t.name)).size).toBe(257);
    expect(tools.at(-1)?.name).toBe('bulk-249');
  });

  it('re-lists on demand with the same pagination', async () => {
    const { upstream, h } = await setup({ bulkTools: 30, pageSize: 8 });
    const t = target(upstream.url);
    await h.pool.connect(t);
    upstream.addTool('late-arrival');
    const tools = await h.pool.listTools(t);
    expect(tools).toHaveLength(38);
    expect(tools.some((tool) => tool.name === 'late-arrival')).toBe(true);
  });

  it('shares one session among concurrent callers of one connection', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    const results = await Promise.all([
      h.pool.connect(t),
      h.pool.listTools(t),
      ...Array.from({ length: 8 }, (_, i) => h.pool.callTool(t, 'echo', { message: `m${i}` })),
    ]);
    expect(results).toHaveLength(10);
    expect(upstream.state().sessionsOpened).toBe(1);
    expect(h.pool.isOpen(t.connectionId)).toBe(true);
  });

  it('opens a session lazily for a connection created elsewhere (another gateway instance)', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    const result = await h.pool.callTool(t, 'echo', { message: 'no connect() first' });
    expect(result.content).toEqual([{ type: 'text', text: 'no connect() first' }]);
  });
});

describe('calling tools', () => {
  it('relays content, structuredContent and isError faithfully', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    await h.pool.connect(t);
    await expect(h.pool.callTool(t, 'add', { a: 2, b: 3 })).resolves.toEqual({
      content: [{ type: 'text', text: '{"sum":5}' }],
      structuredContent: { sum: 5 },
      isError: false,
    });
    await expect(h.pool.callTool(t, 'fail', { message: 'nope' })).resolves.toEqual({
      content: [{ type: 'text', text: 'nope' }],
      isError: true,
    });
  });

  it('passes _meta, annotations and fields it does not know through untouched', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    const result = await h.pool.callTool(t, 'meta', {});
    expect(result).toEqual({
      content: [
        { type: 'text', text: 'hello', annotations: { audience: ['user'] } },
        { type: 'resource_link', uri: 'file:///report.txt', name: 'report' },
      ],
      _meta: { 'example.com/trace': 'abc' },
      isError: false,
      'x-result-extension': true,
    });
  });

  it('reports an upstream JSON-RPC error (unknown tool) as a 502 upstream_error', async () => {
    const { upstream, h } = await setup();
    const error = await rejectionOf(h.pool.callTool(target(upstream.url), 'no-such-tool', {}));
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect((error as ExternalServiceError).details).toMatchObject({
      reason: 'upstream_error',
      upstream_message: 'Unknown tool: no-such-tool',
    });
  });

  it('delivers progress in order, with a progressToken sent on every call', async () => {
    const { upstream, h } = await setup();
    const updates: ProgressUpdate[] = [];
    const result = await h.pool.callTool(
      target(upstream.url),
      'slow',
      { ms: 200, steps: 4 },
      {
        onProgress: (p) => updates.push(p),
      },
    );
    expect(result.content).toEqual([{ type: 'text', text: 'slept 200 ms' }]);
    expect(updates).toEqual([1, 2, 3, 4].map((i) => ({ progress: i, total: 4, message: `step ${i} of 4` })));
  });

  it('progress resets the idle timeout', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url, { timeoutMs: 400 });
    // 1.2 s in total, but a progress notification every 200 ms.
    const result = await h.pool.callTool(t, 'slow', { ms: 1_200, steps: 6 });
    expect(result.isError).toBe(false);
  });

  it('times out with UpstreamTimeoutError and tells the upstream to stop', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    await h.pool.connect(t);
    const started = Date.now();
    const error = await rejectionOf(h.pool.callTool(t, 'slow', { ms: 5_000 }, { timeoutMs: 300 }));
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect((error as UpstreamTimeoutError).details).toMatchObject({ reason: 'timeout', connection_id: t.connectionId });
    expect(Date.now() - started).toBeLessThan(FAILS_FAST_MS);
    await eventually(() => upstream.state().cancellations === 1, 5_000, 'upstream saw the cancellation');
    // The session survives a slow tool.
    await expect(h.pool.callTool(t, 'echo', { message: 'still here' })).resolves.toBeTruthy();
  });

  it('maxTotalTimeoutMs caps a call even while progress keeps arriving', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url, { timeoutMs: 400 });
    const error = await rejectionOf(h.pool.callTool(t, 'slow', { ms: 4_000, steps: 40 }, { maxTotalTimeoutMs: 500 }));
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
  });

  it('forwards cancellation upstream (notifications/cancelled) and rejects with UpstreamCancelledError', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    await h.pool.connect(t);
    const controller = new AbortController();
    const call = h.pool.callTool(t, 'slow', { ms: 10_000 }, { signal: controller.signal });
    await eventually(() => upstream.state().calls.slow === 1, 5_000, 'the call reached the upstream');
    controller.abort('user pressed stop');
    const error = await rejectionOf(call);
    expect(error).toBeInstanceOf(UpstreamCancelledError);
    expect((error as UpstreamCancelledError).details).toMatchObject({ reason: 'cancelled' });
    await eventually(() => upstream.state().cancellations === 1, 5_000, 'upstream saw the cancellation');
    expect(upstream.state().cancelReasons).toEqual(['user pressed stop']);
    const count = await h.pool.callTool(t, 'cancellations', {});
    expect(count.structuredContent).toEqual({ count: 1 });
  });

  it('a caller signal reused across calls keeps no listeners once the calls are done', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    const controller = new AbortController();
    for (let i = 0; i < 50; i++) await h.pool.callTool(t, 'echo', { message: String(i) }, { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // Aborting afterwards cancels nothing.
    controller.abort();
    await h.pool.callTool(t, 'echo', { message: 'after' });
    expect(upstream.state().cancellations).toBe(0);
  });

  it('an already-aborted signal never reaches the upstream', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    await h.pool.connect(t);
    const error = await rejectionOf(h.pool.callTool(t, 'echo', { message: 'x' }, { signal: AbortSignal.abort() }));
    expect(error).toBeInstanceOf(UpstreamCancelledError);
    expect(upstream.state().calls.echo).toBeUndefined();
  });
});

describe('session lifecycle', () => {
  it('re-establishes an expired session transparently and does not repeat the call', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    await h.pool.connect(t);
    await upstream.expireSessions();
    const result = await h.pool.callTool(t, 'echo', { message: 'after expiry' });
    expect(result.content).toEqual([{ type: 'text', text: 'after expiry' }]);
    expect(upstream.state().sessionsOpened).toBe(2);
    expect(upstream.state().calls.echo).toBe(1);
    // Recovered without a visible outage.
    expect(h.statuses.filter((s) => s.status === 'error')).toEqual([]);
  });

  it('re-lists the catalogue after a session was re-established and reports a change', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    await h.pool.connect(t);
    await upstream.expireSessions();
    upstream.addTool('appeared-while-away');
    await h.pool.callTool(t, 'echo', { message: 'x' });
    const event = await eventually(() => h.toolEvents.find((e) => e.connectionId === t.connectionId), 5_000);
    expect(event?.tools.some((tool) => tool.name === 'appeared-while-away')).toBe(true);
  });

  it('propagates notifications/tools/list_changed as a fresh, paginated catalogue', async () => {
    const { upstream, h } = await setup({ bulkTools: 12, pageSize: 5 });
    const t = target(upstream.url);
    const initial = await h.pool.connect(t);
    expect(initial).toHaveLength(19);
    upstream.addTool('hot-new-tool', 'Just deployed');
    const [added] = await eventually(() => h.toolEvents.length === 1 && h.toolEvents, 5_000, 'tools changed event');
    expect(added?.connectionId).toBe(t.connectionId);
    expect(added?.tools).toHaveLength(20);
    expect(added?.tools.find((tool) => tool.name === 'hot-new-tool')?.description).toBe('Just deployed');

    upstream.removeTool('echo');
    const [, removed] = await eventually(() => h.toolEvents.length === 2 && h.toolEvents, 5_000, 'second event');
    expect(removed?.tools.some((tool) => tool.name === 'echo')).toBe(false);
  });

  it('disconnect sends DELETE for the session, is idempotent, and the next call opens a new session', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    await h.pool.connect(t);
    expect(upstream.state().activeSessions).toBe(1);
    await h.pool.disconnect(t.connectionId);
    expect(upstream.state().sessionsDeleted).toBe(1);
    expect(upstream.state().activeSessions).toBe(0);
    expect(h.pool.isOpen(t.connectionId)).toBe(false);
    await h.pool.disconnect(t.connectionId);
    await h.pool.disconnect('never-connected');
    await h.pool.callTool(t, 'echo', { message: 'lazily again' });
    expect(upstream.state().sessionsOpened).toBe(2);
  });

  it('a call in flight when the connection is disconnected fails as disconnected', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    await h.pool.connect(t);
    const outcome = rejectionOf(h.pool.callTool(t, 'slow', { ms: 5_000 }));
    await eventually(() => upstream.state().calls.slow === 1, 5_000);
    await h.pool.disconnect(t.connectionId);
    const error = await outcome;
    expect((error as ExternalServiceError).details).toMatchObject({ reason: 'disconnected' });
  });

  it('a changed URL or credentials replaces the session', async () => {
    const { upstream, h } = await setup();
    const t = target(upstream.url);
    await h.pool.connect(t);
    await h.pool.callTool({ ...t, headers: { 'x-rotated': '1' } }, 'echo', { message: 'x' });
    expect(upstream.state().sessionsOpened).toBe(2);
    // A different timeout alone keeps the session.
    await h.pool.callTool({ ...t, headers: { 'x-rotated': '1' }, timeoutMs: 1234 }, 'echo', { message: 'y' });
    expect(upstream.state().sessionsOpened).toBe(2);
  });
});

describe('upstream credentials', () => {
  it('sends the connection headers on every request and never logs them', async () => {
    const { upstream, h } = await setup({ requiredHeaders: { authorization: 'Bearer s3cret-token' } });
    const t = target(upstream.url, { headers: { authorization: 'Bearer s3cret-token' } });
    await h.pool.connect(t);
    await h.pool.callTool(t, 'slow', { ms: 50, steps: 2 });
    await h.pool.callTool(t, 'echo', { message: 'x' });
    await h.pool.disconnect(t.connectionId);
    const state = upstream.state();
    expect(state.requests).toBeGreaterThanOrEqual(5);
    expect(state.unauthorized).toBe(0);
    expect(state.sessionsDeleted).toBe(1);
    expect(h.logs()).not.toContain('s3cret-token');
  });

  it('reports refused credentials as an unauthorized upstream, leaving no session', async () => {
    const { upstream, h } = await setup({ requiredHeaders: { authorization: 'Bearer right' } });
    const t = target(upstream.url, { headers: { authorization: 'Bearer wrong' } });
    const error = await rejectionOf(h.pool.connect(t));
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect((error as ExternalServiceError).details).toMatchObject({ reason: 'unauthorized', status: 401 });
    expect(h.pool.isOpen(t.connectionId)).toBe(false);
  });
});

describe('unreachable and non-MCP upstreams', () => {
  it('connect to a closed port fails fast with ExternalServiceError (unreachable)', async () => {
    harness = createPool();
    const port = await freePort();
    const t = target(`http://127.0.0.1:${port}/mcp`);
    const started = Date.now();
    const error = await rejectionOf(harness.pool.connect(t));
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect((error as ExternalServiceError).httpStatus).toBe(502);
    expect((error as ExternalServiceError).details).toMatchObject({ reason: 'unreachable', connection_id: t.connectionId });
    expect(Date.now() - started).toBeLessThan(FAILS_FAST_MS);
    expect(harness.pool.isOpen(t.connectionId)).toBe(false);
  });

  it('a call to a closed port fails with unreachable after a short reconnect attempt', async () => {
    harness = createPool();
    const port = await freePort();
    const error = await rejectionOf(harness.pool.callTool(target(`http://127.0.0.1:${port}/mcp`), 'echo', {}));
    expect((error as ExternalServiceError).details).toMatchObject({ reason: 'unreachable' });
  });

  it('an HTTP server that is not MCP fails the handshake after trying Streamable HTTP and SSE', async () => {
    const { upstream, h } = await setup({ path: '/somewhere-else' });
    const url = upstream.url.replace('/somewhere-else', '/mcp');
    const error = await rejectionOf(h.pool.connect(target(url)));
    expect((error as ExternalServiceError).details).toMatchObject({ reason: 'handshake_failed', status: 404 });
    // POST /mcp, GET /mcp (SSE), GET /sse (sibling): all 404, nothing left open.
    expect(upstream.state().sessionsOpened).toBe(0);
  });

  it('a connect that exceeds the timeout fails with UpstreamTimeoutError', async () => {
    const { createServer } = await import('node:http');
    // Accepts the request, never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      harness = createPool();
      const started = Date.now();
      const error = await rejectionOf(harness.pool.connect(target(`http://127.0.0.1:${port}/mcp`, { timeoutMs: 500 })));
      expect(error).toBeInstanceOf(UpstreamTimeoutError);
      expect(Date.now() - started).toBeLessThan(FAILS_FAST_MS);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
