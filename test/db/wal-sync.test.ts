import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { walFileSync } from '../../src/db/repositories/wal-sync.js';

/**
 * Where the WAL's fdatasync runs: on the main thread when the batch answers
 * every call in flight and the disk has been quick, on the thread pool
 * otherwise. A sync on the main thread is over before the caller's next
 * microtask; one on the pool needs a turn of the event loop at least.
 */

const dir = mkdtempSync(join(tmpdir(), 'tmws-wal-sync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function walFile(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, 'frames');
  return path;
}

/** Whether the sync was over after a few microtasks, i.e. without waiting for the thread pool. */
async function overAtOnce(synced: Promise<void>): Promise<boolean> {
  let over = false;
  void synced.then(() => (over = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  const atOnce = over;
  await synced;
  return atOnce;
}

describe('the WAL sync', () => {
  it('syncs on the main thread when the batch is alone', async () => {
    const sync = walFileSync(walFile('alone-wal'));
    expect(await overAtOnce(sync({ alone: true }))).toBe(true);
  });

  it('leaves the sync to the thread pool while other calls are in flight, or when nothing is said', async () => {
    const sync = walFileSync(walFile('busy-wal'));
    expect(await overAtOnce(sync({ alone: false }))).toBe(false);
    expect(await overAtOnce(sync())).toBe(false);
  });

  it('stops syncing on the main thread once the disk has been slow, and starts again once it is quick', async () => {
    let clock = 0;
    let tookMs = 10;
    // Every sync appears to take `tookMs`: the clock moves on between the two readings of one sync.
    let reading = 0;
    const now = () => (reading++ % 2 === 0 ? clock : (clock += tookMs));
    const sync = walFileSync(walFile('slow-wal'), { inlineBudgetMs: 2, now });
    const where: boolean[] = [];
    for (let i = 0; i < 8; i++) where.push(await overAtOnce(sync({ alone: true })));
    expect(where[0]).toBe(true);
    expect(where.slice(-3)).toEqual([false, false, false]);
    tookMs = 0.3;
    for (let i = 0; i < 30; i++) where.push(await overAtOnce(sync({ alone: true })));
    expect(where.at(-1)).toBe(true);
  });

  it('lets one hiccup of the disk pass without leaving the main thread', async () => {
    let clock = 0;
    const took = [0.4, 0.4, 50, 0.4, 0.4];
    let reading = 0;
    let sample = 0;
    const now = () => (reading++ % 2 === 0 ? clock : (clock += took[sample++ % took.length]!));
    const sync = walFileSync(walFile('hiccup-wal'), { inlineBudgetMs: 2, now });
    const where: boolean[] = [];
    for (let i = 0; i < took.length; i++) where.push(await overAtOnce(sync({ alone: true })));
    expect(where).toEqual([true, true, true, true, true]);
  });

  it('waits for a sync already running on the pool, even when alone', async () => {
    const sync = walFileSync(walFile('queued-wal'));
    const first = sync({ alone: false });
    expect(await overAtOnce(sync({ alone: true }))).toBe(false);
    await first;
  });

  it('has nothing to do when there is no WAL file (a checkpoint emptied it), on either path', async () => {
    const sync = walFileSync(join(dir, 'absent-wal'));
    await expect(sync({ alone: true })).resolves.toBeUndefined();
    await expect(sync({ alone: false })).resolves.toBeUndefined();
  });

  it('fails the waiters when the WAL cannot be opened', async () => {
    // A directory cannot be synced as a file here: open() succeeds on Linux, so use a path under a file instead.
    const sync = walFileSync(join(walFile('not-a-dir'), 'wal'));
    await expect(sync({ alone: true })).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(sync({ alone: false })).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});
