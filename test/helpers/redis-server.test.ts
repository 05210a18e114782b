/**
 * A test's private Redis is its own: a redis-server that another file started on the same port meanwhile
 * is never taken for it (its own would fail to bind, exit, and leave a PONG from the other one).
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pidOnPort, startRedis } from './redis-server.js';

describe('startRedis', () => {
  it('refuses to restart onto its port when another redis-server took it meanwhile', async () => {
    const ours = await startRedis();
    await ours.kill();
    const other = spawn('redis-server', ['--port', String(ours.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    try {
      await expect.poll(() => pidOnPort(ours.port), { timeout: 10_000 }).toBe(other.pid);
      await expect(ours.restart()).rejects.toThrow(`answered by redis-server pid ${other.pid}, not ours`);
    } finally {
      other.kill('SIGKILL');
      await ours.stop();
    }
  });
});
