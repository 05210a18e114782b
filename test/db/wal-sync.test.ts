import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { walFileSync } from '../../src/db/repositories/wal-sync.js';
import { openFilesOf } from '../helpers/open-files.js';

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

/** A clock on which every sync takes the next of `durations` (ms), round and round. */
function syncClock(durations: () => number): () => number {
  let clock = 0;
  let reading = 0;
  // Two readings per sync: at its start, and once it is over.
  return () => (reading++ % 2 === 0 ? clock : (clock += durations()));
}

/** A sync on a disk that always syncs in 0.3 ms, within the 2 ms budget for the main thread. */
function quickDiskSync(wal: string) {
  return walFileSync(wal, { inlineBudgetMs: 2, now: syncClock(() => 0.3) });
}

/** A WAL in a folder of its own, and what makes its path unopenable: the folder becomes a plain file (ENOTDIR). */
function walInVanishingFolder(name: string): { wal: string; vanish(): void } {
  const folder = join(dir, name);
  mkdirSync(folder);
  const wal = join(folder, 'wal');
  writeFileSync(wal, 'frames');
  return {
    wal,
    vanish() {
      rmSync(folder, { recursive: true });
      writeFileSync(folder, 'not a folder');
    },
  };
}

describe('the WAL sync', () => {
  it('syncs on the main thread when the batch is alone, once the disk has shown it is quick', async () => {
    const sync = quickDiskSync(walFile('alone-wal'));
    // The disk is unknown at first: the first sync goes to the pool and is timed there.
    expect(await overAtOnce(sync({ alone: true }))).toBe(false);
    expect(await overAtOnce(sync({ alone: true }))).toBe(true);
  });

  it('leaves the sync to the thread pool while other calls are in flight, or when nothing is said', async () => {
    const sync = quickDiskSync(walFile('busy-wal'));
    await sync({ alone: true });
    expect(await overAtOnce(sync({ alone: false }))).toBe(false);
    expect(await overAtOnce(sync())).toBe(false);
    expect(await overAtOnce(sync({ alone: true }))).toBe(true);
  });

  it('never syncs on the main thread while the disk is slow, and starts once it is quick', async () => {
    let tookMs = 10;
    const sync = walFileSync(walFile('slow-wal'), { inlineBudgetMs: 2, now: syncClock(() => tookMs) });
    const where: boolean[] = [];
    for (let i = 0; i < 8; i++) where.push(await overAtOnce(sync({ alone: true })));
    expect(where).toEqual([false, false, false, false, false, false, false, false]);
    tookMs = 0.3;
    for (let i = 0; i < 30; i++) where.push(await overAtOnce(sync({ alone: true })));
    expect(where.at(-1)).toBe(true);
  });

  it('goes back to the pool once syncs on the main thread turn slow', async () => {
    let tookMs = 0.3;
    const sync = walFileSync(walFile('turning-wal'), { inlineBudgetMs: 2, now: syncClock(() => tookMs) });
    for (let i = 0; i < 10; i++) await sync({ alone: true });
    expect(await overAtOnce(sync({ alone: true }))).toBe(true);
    tookMs = 10;
    const where: boolean[] = [];
    for (let i = 0; i < 8; i++) where.push(await overAtOnce(sync({ alone: true })));
    expect(where.slice(-3)).toEqual([false, false, false]);
  });

  it('lets one hiccup of a quick disk pass without leaving the main thread', async () => {
    const took = [0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 50, 0.4, 0.4];
    let sample = 0;
    const sync = walFileSync(walFile('hiccup-wal'), { inlineBudgetMs: 2, now: syncClock(() => took[sample++ % took.length]!) });
    const where: boolean[] = [];
    for (let i = 0; i < took.length; i++) where.push(await overAtOnce(sync({ alone: true })));
    // The first sync measures the disk on the pool; the hiccup (the 9th) and the syncs after it stay on the main thread.
    expect(where).toEqual([false, true, true, true, true, true, true, true, true, true, true]);
  });

  it('waits for a sync already running on the pool, even when alone', async () => {
    const sync = quickDiskSync(walFile('queued-wal'));
    await sync({ alone: true });
    const first = sync({ alone: false });
    expect(await overAtOnce(sync({ alone: true }))).toBe(false);
    await first;
  });

  it('has nothing to do when there is no WAL file (a checkpoint emptied it), on either path', async () => {
    const wal = walFile('absent-wal');
    const sync = quickDiskSync(wal);
    await sync({ alone: true });
    rmSync(wal);
    const inline = sync({ alone: true });
    await expect(overAtOnce(inline)).resolves.toBe(true);
    await expect(inline).resolves.toBeUndefined();
    await expect(sync({ alone: false })).resolves.toBeUndefined();
  });

  it('fails the waiters when the WAL cannot be opened, on either path', async () => {
    const { wal, vanish } = walInVanishingFolder('vanishing');
    const sync = quickDiskSync(wal);
    await sync({ alone: true });
    vanish();
    await expect(sync({ alone: true })).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(sync({ alone: false })).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  describe('the WAL file it holds', () => {
    it('stays open from one sync to the next, once, on either path', async () => {
      const wal = walFile('held-wal');
      const sync = quickDiskSync(wal);
      for (let i = 0; i < 5; i++) await sync({ alone: i % 2 === 0 });
      expect(openFilesOf(wal)).toEqual([wal]);
      sync.close();
    });

    it('is the file SQLite writes now: a WAL deleted and created again is opened anew', async () => {
      const wal = walFile('recreated-wal');
      const sync = quickDiskSync(wal);
      await sync({ alone: true });
      // The last connection closed (SQLite deleted the WAL), and a new one wrote a new WAL under the same name.
      rmSync(wal);
      expect(openFilesOf(wal)).toEqual([`${wal} (deleted)`]);
      writeFileSync(wal, 'new frames');
      await sync({ alone: true });
      expect(openFilesOf(wal)).toEqual([wal]);
      rmSync(wal);
      writeFileSync(wal, 'newer frames');
      await sync({ alone: false });
      expect(openFilesOf(wal)).toEqual([wal]);
      sync.close();
    });

    it('is let go once, when the last sync is over, when closed with one sync running and one queued', async () => {
      const wal = walFile('queued-close-wal');
      const sync = quickDiskSync(wal);
      await sync();
      const running = sync({ alone: false });
      const queued = sync({ alone: false });
      sync.close();
      // Both settle (no descriptor closed under a sync, none closed twice), and nothing stays open.
      await expect(Promise.all([running, queued])).resolves.toEqual([undefined, undefined]);
      expect(openFilesOf(wal)).toEqual([]);
    });

    it('is let go when it went away, even when the path cannot be opened again', async () => {
      const { wal, vanish } = walInVanishingFolder('failing');
      const sync = quickDiskSync(wal);
      await sync();
      expect(openFilesOf(wal)).toEqual([wal]);
      // The held file goes away with its folder, and the path now cannot be opened: the sync fails and holds nothing.
      vanish();
      await expect(sync({ alone: false })).rejects.toMatchObject({ code: 'ENOTDIR' });
      expect(openFilesOf(wal)).toEqual([]);
      sync.close();
    });

    it('is let go on close, even while a sync on the pool still uses it; a sync after close opens the file only for itself', async () => {
      const wal = walFile('closing-wal');
      const sync = quickDiskSync(wal);
      await sync();
      const onPool = sync({ alone: false });
      sync.close();
      await onPool;
      expect(openFilesOf(wal)).toEqual([]);
      await sync({ alone: true });
      await sync({ alone: false });
      expect(openFilesOf(wal)).toEqual([]);
    });
  });
});
