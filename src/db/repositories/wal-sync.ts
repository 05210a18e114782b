import { closeSync, fdatasync, openSync } from 'node:fs';

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

  const syncOnce = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      let fd: number;
      try {
        // Opened per sync (a few microseconds, no I/O): SQLite may delete and re-create the WAL, never a stale file.
        fd = openSync(walPath, 'r');
      } catch (error) {
        // No WAL file: nothing is pending in it (a checkpoint moved it into the synced database file).
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') resolve();
        else reject(error);
        return;
      }
      // Only the fdatasync, the part that waits for the disk, goes to the thread pool.
      fdatasync(fd, (error) => {
        closeSync(fd);
        if (error) reject(error);
        else resolve();
      });
    });

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
