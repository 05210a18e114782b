import { open } from 'node:fs/promises';

/**
 * Durable group commit for SQLite without blocking the event loop.
 *
 * With `synchronous = FULL`, every commit fsyncs the WAL inside the
 * statement, on the main thread (better-sqlite3 is synchronous): on a disk
 * whose fsync takes milliseconds that stalls every request for every commit.
 * The execution write queue instead commits its batch with
 * `synchronous = NORMAL` (atomic and consistent, not yet durable) and then
 * waits for an `fdatasync` of the WAL file on libuv's thread pool before it
 * answers anyone: the frames of the batch are then on disk exactly as FULL
 * would have left them, and the main thread serves other requests meanwhile.
 *
 * Returns a function that resolves once everything written to the WAL before
 * the call is on stable storage. Calls that arrive while a sync runs share
 * the next one (their frames may have missed the running one).
 */
export function walFileSync(walPath: string): () => Promise<void> {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;

  const syncOnce = async (): Promise<void> => {
    let handle;
    try {
      // Opened per sync: SQLite may delete and re-create the WAL (last connection closed), never a stale file.
      handle = await open(walPath, 'r');
    } catch (error) {
      // No WAL file: nothing is pending in it (a checkpoint moved it into the synced database file).
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
  };

  const sync = (): Promise<void> => {
    if (!running) {
      running = syncOnce().finally(() => {
        running = undefined;
      });
      return running;
    }
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return sync();
      });
    return queued;
  };
  return sync;
}
