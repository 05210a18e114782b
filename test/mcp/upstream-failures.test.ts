import { afterEach, describe, expect, it } from 'vitest';
import { ExternalServiceError } from '../../src/errors/index.js';
import { spawnTestUpstream, type SpawnedTestUpstream } from '../helpers/upstreams/index.js';
import { createPool, eventually, rejectionOf, target, type PoolHarness } from './support.js';

/** Upstreams that really die: the test upstream in its own process. */
let upstream: SpawnedTestUpstream | undefined;
let h: PoolHarness | undefined;

afterEach(async () => {
  await h?.pool.close();
  await upstream?.stop();
  h = undefined;
  upstream = undefined;
});

describe('an upstream process that dies', () => {
  it('fails an in-flight call promptly as connection_lost, without retrying it', async () => {
    upstream = await spawnTestUpstream();
    h = createPool();
    const t = target(upstream.url, { timeoutMs: 20_000 });
    await h.pool.connect(t);
    const started = Date.now();
    const error = await rejectionOf(h.pool.callTool(t, 'crash', {}));
    await upstream.exited();
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect((error as ExternalServiceError).details).toMatchObject({ reason: 'connection_lost', connection_id: t.connectionId });
    // Noticed by the session, not by the 20 s timeout.
    expect(Date.now() - started).toBeLessThan(8_000);
    await eventually(() => h?.statuses.some((s) => s.status === 'error'), 5_000, 'error status');
    expect(h.pool.isOpen(t.connectionId)).toBe(false);
  });

  it('comes back after a restart on the same port: status active again and calls work', async () => {
    upstream = await spawnTestUpstream();
    h = createPool();
    const t = target(upstream.url);
    await h.pool.connect(t);
    await upstream.kill();
    await eventually(() => h?.statuses.some((s) => s.status === 'error'), 10_000, 'error status');
    await upstream.restart();
    await eventually(() => h?.statuses.some((s) => s.status === 'active'), 20_000, 'active status');
    await expect(h.pool.callTool(t, 'echo', { message: 'again' })).resolves.toMatchObject({
      content: [{ type: 'text', text: 'again' }],
    });
    const state = await upstream.state();
    expect(state.calls.echo).toBe(1);
  });

  it('a call while the upstream is down fails as unreachable in about a second, not at the timeout', async () => {
    upstream = await spawnTestUpstream();
    h = createPool();
    const t = target(upstream.url, { timeoutMs: 30_000 });
    await h.pool.connect(t);
    await upstream.kill();
    await eventually(() => h?.pool.isOpen(t.connectionId) === false, 10_000, 'the pool noticed the outage');
    const started = Date.now();
    const error = await rejectionOf(h.pool.callTool(t, 'echo', { message: 'x' }));
    expect((error as ExternalServiceError).details).toMatchObject({ reason: 'unreachable' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a call racing the death of the upstream fails fast and is never retried blindly', async () => {
    upstream = await spawnTestUpstream();
    h = createPool();
    const t = target(upstream.url, { timeoutMs: 30_000 });
    await h.pool.connect(t);
    await upstream.kill();
    // Right after the kill the session may still look alive: whether the request
    // left before the socket closed cannot always be known, so the pool answers
    // either "unreachable" (provably not delivered) or "connection_lost" (maybe
    // delivered, so not repeated) — never a hang until the timeout.
    const started = Date.now();
    const error = await rejectionOf(h.pool.callTool(t, 'echo', { message: 'x' }));
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect(['unreachable', 'connection_lost']).toContain((error as ExternalServiceError).details.reason);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('list_changed keeps working on the re-established session', async () => {
    upstream = await spawnTestUpstream();
    h = createPool();
    const t = target(upstream.url);
    await h.pool.connect(t);
    await upstream.restart();
    // Wake the pool with a request it may repeat: a tools/call racing the pool's own
    // notice of the restart may fail as "connection lost" and is rightly not retried.
    await h.pool.listTools(t);
    const before = h.toolEvents.length;
    await upstream.addTool('after-restart');
    const event = await eventually(
      () => h?.toolEvents.slice(before).find((e) => e.tools.some((tool) => tool.name === 'after-restart')),
      10_000,
      'tools changed after restart',
    );
    expect(event.connectionId).toBe(t.connectionId);
  });
});
