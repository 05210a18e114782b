/**
 * SPEC §14 bounds at the pool: what the connection status and the error say
 * when an upstream's catalogue or messages cross them, and that a call ended
 * by the caller closes its upstream request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ExternalServiceError } from '../../src/errors/index.js';
import { UpstreamCancelledError } from '../../src/mcp/client-pool.js';
import { startHostileUpstream, type HostileUpstream } from '../fixtures/hostile-upstream.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';
import { createPool, eventually, rejectionOf, target, type PoolHarness } from './support.js';

let upstream: TestUpstream | undefined;
let hostile: HostileUpstream | undefined;
let h: PoolHarness | undefined;

afterEach(async () => {
  await h?.pool.close();
  await upstream?.stop();
  await hostile?.stop();
  h = upstream = hostile = undefined;
});

describe('tools per connection', () => {
  it('a catalogue that grows past the limit (list_changed) turns the connection to error with a clear message', async () => {
    upstream = await startTestUpstream();
    h = createPool(undefined, { maxTools: 8 });
    const t = target(upstream.url);
    expect(await h.pool.connect(t)).toHaveLength(7);
    upstream.addTool('eighth');
    await eventually(() => h?.toolEvents.some((e) => e.tools.length === 8), 5_000, 'the 8-tool catalogue');
    upstream.addTool('ninth');
    const status = await eventually(() => h?.statuses.find((s) => s.status === 'error'), 5_000, 'error status');
    expect(status.message).toMatch(/more than 8 tools.*TMWS_MAX_TOOLS_PER_CONNECTION/);
    // Nothing past the limit was reported as the catalogue.
    expect(h.toolEvents.every((e) => e.tools.length <= 8)).toBe(true);
    const error = await rejectionOf(h.pool.listTools(t));
    expect((error as ExternalServiceError).details).toMatchObject({ reason: 'too_many_tools', limit: 8 });
  });
});

describe('message size', () => {
  it('a tools/list page past TMWS_MAX_RESULT_BYTES fails the connect as result_too_large', async () => {
    upstream = await startTestUpstream({ bulkTools: 2_000 });
    h = createPool(undefined, { maxMessageBytes: 64 * 1024 });
    const error = await rejectionOf(h.pool.connect(target(upstream.url)));
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect((error as ExternalServiceError).details).toMatchObject({ reason: 'result_too_large', limit_bytes: 64 * 1024 });
  });

  it('the same catalogue in pages under the limit is accepted', async () => {
    upstream = await startTestUpstream({ bulkTools: 2_000, pageSize: 100 });
    h = createPool(undefined, { maxMessageBytes: 64 * 1024, maxTools: 5_000 });
    expect(await h.pool.connect(target(upstream.url))).toHaveLength(2_007);
  });
});

describe('the standalone event stream (Streamable HTTP GET)', () => {
  it('one endless event on it is cut at the limit; the session and its calls carry on', async () => {
    hostile = await startHostileUpstream({ endlessGetStream: true });
    h = createPool(undefined, { maxMessageBytes: 256 * 1024 });
    const t = target(hostile.url);
    await h.pool.connect(t);
    await eventually(() => (hostile?.state().closedByClient ?? 0) > 0, 10_000, 'the endless GET stream closed by the gateway');
    await expect(h.pool.callTool(t, 'echo', { message: 'still here' })).resolves.toMatchObject({
      content: [{ type: 'text', text: 'still here' }],
    });
    expect(h.pool.isOpen(t.connectionId)).toBe(true);
  });
});

describe('a response stream that ends without an answer', () => {
  it('after a progress notification: the call fails at once as protocol_error, not at the timeout', async () => {
    hostile = await startHostileUpstream();
    h = createPool();
    const t = target(hostile.url, { timeoutMs: 60_000 });
    await h.pool.connect(t);
    const progress: number[] = [];
    const started = performance.now();
    const error = await rejectionOf(h.pool.callTool(t, 'progress-then-end', {}, { onProgress: (p) => progress.push(p.progress) }));
    expect((error as ExternalServiceError).details).toMatchObject({ reason: 'protocol_error' });
    expect(progress).toEqual([1]);
    expect(performance.now() - started).toBeLessThan(30_000);
    // An ordinary call on the same session still answers.
    await expect(h.pool.callTool(t, 'echo', { message: 'ok' })).resolves.toMatchObject({ isError: false });
  });
});

describe('closing the upstream request', () => {
  it('a cancelled call closes its still-open upstream request and tells the upstream', async () => {
    hostile = await startHostileUpstream();
    h = createPool();
    const t = target(hostile.url, { timeoutMs: 60_000 });
    await h.pool.connect(t);
    const controller = new AbortController();
    const outcome = rejectionOf(h.pool.callTool(t, 'never-answers', {}, { signal: controller.signal }));
    await eventually(() => hostile?.state().openCalls === 1, 5_000, 'the call reached the upstream');
    controller.abort('user gave up');
    expect(await outcome).toBeInstanceOf(UpstreamCancelledError);
    await eventually(() => hostile?.state().openCalls === 0, 5_000, 'the upstream request closed');
    await eventually(() => (hostile?.state().cancellations ?? 0) > 0, 5_000, 'notifications/cancelled');
    expect(hostile.state().closedByClient).toBe(1);
  });
});
