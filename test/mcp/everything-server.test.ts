import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressUpdate } from '../../src/mcp/types.js';
import { startEverythingServer, type EverythingServer } from '../helpers/everything-server.js';
import { createPool, eventually, target, type PoolHarness } from './support.js';

/** Against the reference server, as a user would register it. */
describe.each([
  { mode: 'streamableHttp' as const, path: '/mcp', transport: 'Streamable HTTP' },
  { mode: 'sse' as const, path: '/sse', transport: 'legacy HTTP+SSE' },
])('everything server over $transport', ({ mode }) => {
  let everything: EverythingServer;
  let h: PoolHarness;

  beforeAll(async () => {
    everything = await startEverythingServer({ mode });
    h = createPool();
  });
  afterAll(async () => {
    await h?.pool.close();
    await everything?.stop();
  });

  it('connects and lists its tools', async () => {
    const tools = await h.pool.connect(target(everything.url));
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'get-sum', 'trigger-long-running-operation']));
    const sum = tools.find((t) => t.name === 'get-sum');
    expect(sum?.inputSchema).toMatchObject({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } });
    expect(sum?.description).toBe('Returns the sum of two numbers');
  });

  it('calls echo and get-sum', async () => {
    const t = target(everything.url);
    await expect(h.pool.callTool(t, 'echo', { message: 'hello gateway' })).resolves.toEqual({
      content: [{ type: 'text', text: 'Echo: hello gateway' }],
      isError: false,
    });
    const sum = await h.pool.callTool(t, 'get-sum', { a: 19, b: 23 });
    expect(JSON.stringify(sum.content)).toContain('42');
  });

  it('streams progress of a long-running operation in order', async () => {
    const updates: ProgressUpdate[] = [];
    const result = await h.pool.callTool(
      target(everything.url),
      'trigger-long-running-operation',
      { duration: 1, steps: 4 },
      {
        onProgress: (p) => updates.push(p),
      },
    );
    expect(JSON.stringify(result.content)).toContain('Long running operation completed');
    // Over legacy SSE the last notification can arrive after the result (SDK
    // drops it), so at least 3 of the 4, in order, all with total 4.
    expect(updates.length).toBeGreaterThanOrEqual(3);
    expect(updates.map((u) => u.progress)).toEqual([1, 2, 3, 4].slice(0, updates.length));
    expect(updates.every((u) => u.total === 4)).toBe(true);
  });
});

describe('transport fallback', () => {
  let everything: EverythingServer;
  let h: PoolHarness;

  beforeAll(async () => {
    everything = await startEverythingServer({ mode: 'sse' });
    h = createPool();
  });
  afterAll(async () => {
    await h?.pool.close();
    await everything?.stop();
  });

  it('falls back from Streamable HTTP to SSE on the sibling /sse path of a legacy server', async () => {
    // The user registered ".../mcp" but the server only speaks legacy SSE on /sse.
    const url = everything.url.replace(/\/sse$/, '/mcp');
    const t = target(url);
    const tools = await h.pool.connect(t);
    expect(tools.some((tool) => tool.name === 'echo')).toBe(true);
    await expect(h.pool.callTool(t, 'echo', { message: 'via fallback' })).resolves.toMatchObject({
      content: [{ type: 'text', text: 'Echo: via fallback' }],
    });
    expect(h.logs()).toContain('"transport":"sse"');
  });
});

describe('upstream restart', () => {
  let everything: EverythingServer;
  let h: PoolHarness;

  beforeAll(async () => {
    everything = await startEverythingServer({ mode: 'streamableHttp' });
    h = createPool();
  });
  afterAll(async () => {
    await h?.pool.close();
    await everything?.stop();
  });

  it('recovers transparently on the next call after the server restarts on the same port', async () => {
    const t = target(everything.url);
    await h.pool.connect(t);
    await h.pool.callTool(t, 'echo', { message: 'before' });
    const pidBefore = everything.pid;
    await everything.restart();
    expect(everything.pid).not.toBe(pidBefore);
    const after = await h.pool.callTool(t, 'echo', { message: 'after restart' });
    expect(after.content).toEqual([{ type: 'text', text: 'Echo: after restart' }]);
    expect(h.pool.isOpen(t.connectionId)).toBe(true);
  });

  it('reports the outage and the recovery through onStatusChanged', async () => {
    const t = target(everything.url);
    await h.pool.connect(t);
    h.statuses.length = 0;
    await everything.stop();
    // The dropped event stream triggers a probe; the upstream is gone → error.
    await eventually(() => h.statuses.some((s) => s.connectionId === t.connectionId && s.status === 'error'), 10_000, 'error status');
    expect(h.pool.isOpen(t.connectionId)).toBe(false);
    await everything.restart();
    // Background recovery brings it back without any traffic.
    await eventually(() => h.statuses.some((s) => s.connectionId === t.connectionId && s.status === 'active'), 20_000, 'active status');
    expect(h.pool.isOpen(t.connectionId)).toBe(true);
    await expect(h.pool.callTool(t, 'echo', { message: 'back' })).resolves.toBeTruthy();
  });
});
