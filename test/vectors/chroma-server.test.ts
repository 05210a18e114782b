import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { startLocalChroma } from '../../src/vectors/chroma-server.js';

async function heartbeat(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/api/v2/heartbeat`, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('local Chroma server', () => {
  it('starts on a free loopback port, comes back on the same URL after a crash, and stops for good', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmws-chroma-supervisor-'));
    const chroma = await startLocalChroma({ path: dir, logger: createLogger('silent') });
    try {
      expect(chroma.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await heartbeat(chroma.url)).toBe(true);
      const firstPid = chroma.pid;
      expect(firstPid).toBeTypeOf('number');

      process.kill(firstPid!, 'SIGKILL');
      await waitFor(async () => chroma.pid !== undefined && chroma.pid !== firstPid && (await heartbeat(chroma.url)), 20_000);

      await chroma.stop();
      expect(chroma.pid).toBeUndefined();
      expect(await heartbeat(chroma.url)).toBe(false);
    } finally {
      await chroma.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a port that is already taken instead of mistaking the other server for its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmws-chroma-busy-'));
    const first = await startLocalChroma({ path: dir, logger: createLogger('silent') });
    try {
      const port = Number(new URL(first.url).port);
      await expect(startLocalChroma({ path: join(dir, 'second'), logger: createLogger('silent'), port })).rejects.toThrow(
        /is not available/,
      );
    } finally {
      await first.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
