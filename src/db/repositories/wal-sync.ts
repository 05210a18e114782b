import { closeSync, fdatasync, fdatasyncSync, fstatSync, openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * Durable group commit for SQLite.
 *
 * With `synchronous = FULL`, every commit fsyncs the WAL inside the
 * statement, on the main thread (better-sqlite3 is synchronous): on a disk
 * whose fsync takes milliseconds that stalls every request for every commit.
 * The execution write queue instead commits its batch with
 * `synchronous = NORMAL` (atomic and consistent, not yet durable) and then
 * has the WAL file fdatasync'ed before it answers anyone: the frames of the
 * batch are then on disk exactly as FULL would have left them.
 *
 * Where the fdatasync runs depends on who would wait for it:
 * - while other tool calls are in flight, on libuv's thread pool, so the main
 *   thread serves them meanwhile;
 * - when the batch answers every call in flight (`alone`), on the main thread
 *   itself. Nobody is delayed but a request arriving during the sync, and the
 *   call skips two thread hand-offs (a wake-up of a pool thread and one of the
 *   event loop): on a 2-core VM at one caller that was ~0.1–0.3 ms of CPU per
 *   call, more than the fdatasync itself. Only while recent syncs were quick
 *   (`inlineBudgetMs`): a slow disk, and a new process until a sync on the
 *   pool has timed its disk, stay on the pool; a rare stall of a quick disk
 *   holds the loop as long as it lasts, delaying only requests that arrive
 *   meanwhile.
 *
 * Calls that arrive while a sync runs share the next one (their frames may
 * have missed the running one).
 *
 * The WAL stays open between syncs: opening and closing it cost about as much
 * CPU as SQLite's whole commit of a row (a path walk and a file table entry
 * each time; ~1.5 % of a call at one caller). SQLite deletes the WAL only when
 * the last connection to the database closes, and a later one creates a new
 * file under the same name; an `fstat` (no path walk) before each sync notices
 * that the file held is no longer linked and opens the current one.
 */
export interface WalSyncRequest {
  /** The batch being made durable answers every call in flight: blocking the main thread delays nobody waiting. */
  alone: boolean;
}

/** Resolves once everything written to the WAL before the call is on stable storage. */
export type WalSync = (request?: WalSyncRequest) => Promise<void>;

/** A WAL sync that keeps the file open: `close` lets it go (a sync after that opens the file for itself alone). */
export type WalFileSync = WalSync & { close(): void };

export interface WalSyncOptions {
  /**
   * Longest typical sync (ms, a moving average of recent ones) for which the
   * main thread may wait for the disk itself. It bounds how long a request
   * arriving during the sync waits, like any other synchronous piece of work
   * of that length. A local SSD syncs in well under a millisecond, the
   * virtual disk of a shared 2-core VM in ~0.6 ms (p90 0.9 ms); a disk that
   * takes longer is left to the thread pool. @default 2
   */
  inlineBudgetMs?: number;
  /** @default performance.now */
  now?: () => number;
}

/** Weight of the newest sync in the moving average of sync times. */
const RECENT_WEIGHT = 0.1;
/** A sample counts for at most this many budgets: one hiccup of the disk does not turn inline syncs off, a slow disk does. */
const OUTLIER_CAP = 4;

export function walFileSync(walPath: string, options: WalSyncOptions = {}): WalFileSync {
  const inlineBudgetMs = options.inlineBudgetMs ?? 2;
  const now = options.now ?? (() => performance.now());
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  /** Moving average of recent sync times (ms), on either path. Starts just over the budget: the disk is unknown until it has synced on the pool. */
  let recentMs = inlineBudgetMs * 1.01;
  /** The WAL as last opened, kept for the next sync while it is still the file SQLite writes. */
  let held: number | undefined;
  let closed = false;

  const record = (startedAt: number) => {
    const tookMs = Math.min(now() - startedAt, OUTLIER_CAP * inlineBudgetMs);
    recentMs += (tookMs - recentMs) * RECENT_WEIGHT;
  };

  const letGo = () => {
    if (held === undefined) return;
    closeSync(held);
    held = undefined;
  };

  /** The WAL SQLite writes now, open; undefined when there is none (a checkpoint moved everything into the synced database file). */
  const openWal = (): number | undefined => {
    if (held !== undefined && !closed) {
      let linked = false;
      try {
        linked = fstatSync(held).nlink > 0;
      } finally {
        // Unlinked, or unreadable: the next sync opens the file again rather than trusting this descriptor.
        if (!linked) letGo();
      }
      if (linked) return held;
    }
    let fd: number;
    try {
      fd = openSync(walPath, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (!closed) held = fd;
    return fd;
  };

  /**
   * Done with a sync's file: closed unless it is held for the next one. A
   * failed sync lets the held file go too (the next one opens it afresh), and
   * after `close` the sync that was running lets it go once it is over.
   */
  const doneWith = (fd: number, failed = false) => {
    if (fd !== held) closeSync(fd);
    else if (failed || closed) letGo();
  };

  const syncHere = (): Promise<void> => {
    const startedAt = now();
    try {
      const fd = openWal();
      if (fd === undefined) return Promise.resolve();
      let failed = true;
      try {
        fdatasyncSync(fd);
        failed = false;
      } finally {
        doneWith(fd, failed);
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    } finally {
      record(startedAt);
    }
  };

  const syncOnPool = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const startedAt = now();
      let fd: number | undefined;
      try {
        fd = openWal();
      } catch (error) {
        reject(error);
        return;
      }
      if (fd === undefined) {
        resolve();
        return;
      }
      const opened = fd;
      // Only the fdatasync, the part that waits for the disk, goes to the thread pool.
      fdatasync(opened, (error) => {
        doneWith(opened, error !== null);
        record(startedAt);
        if (error) reject(error);
        else resolve();
      });
    });

  const sync = ((request) => {
    // While a sync runs, a new one queues behind it (whichever path it would take): waiters are answered in order.
    if (!running) {
      if (request?.alone && recentMs <= inlineBudgetMs) return syncHere();
      running = syncOnPool().finally(() => {
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
  }) as WalFileSync;
  sync.close = () => {
    closed = true;
    // A sync on the pool still uses the file: it lets it go when it is over (doneWith). Syncs queued behind it
    // open the file for themselves alone.
    if (!running) letGo();
  };
  return sync;
}
