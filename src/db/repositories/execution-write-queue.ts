import {
  MAX_ROWS_PER_STATEMENT,
  applyFinish,
  inScope,
  insertSql,
  updateSql,
  type FinishWrite,
  type InsertValues,
} from './execution-write-sql.js';
import type { SqlRunner } from './sql-runner.js';
import type { WalSync } from './wal-sync.js';

export type { FinishWrite, InsertValues } from './execution-write-sql.js';

/**
 * Group commit for the two writes every tool call makes (the RUNNING row and
 * its terminal state). Writes are queued and written by one loop: whatever
 * queued up while the previous batch was being written goes out as one
 * multi-row INSERT plus one multi-row UPDATE, so under load the cost of a
 * statement (driver round trip, commit) is shared by every call in the batch.
 *
 * A terminal state (and a read) is written on the next turn of the event
 * loop, never behind a timer. A RUNNING row may wait up to INSERT_DELAY_MS:
 * a call that finishes within that time is written once, as its final row,
 * instead of an INSERT followed by an UPDATE.
 *
 * Guarantees the repository builds on:
 * - one row's bad value never fails another's write: a statement that fails
 *   is retried row by row, so only the offending row fails (SPEC §10);
 * - a RUNNING row that could not be written is reconciled by its terminal
 *   state: `finish` then inserts the whole final row;
 * - writes reach the database in the order they were queued (an execution's
 *   terminal state never overtakes its RUNNING row);
 * - `finish` resolves only once written, with whether it changed the row
 *   (first outcome wins, exactly like a single conditional UPDATE);
 * - `settled()` resolves once everything queued before the call is written,
 *   so a read that starts with it sees every execution this process recorded.
 */

/**
 * Longest time a RUNNING row stays in memory before it is written (when no
 * terminal state or read flushes it sooner). Other gateway instances see a
 * running execution that much later; this one never does (reads flush).
 */
export const INSERT_DELAY_MS = 10;

interface QueuedInsert {
  kind: 'insert';
  id: string;
  /** What is written: the RUNNING row, or the final row when its terminal state joined this batch. */
  values: InsertValues;
  /** The RUNNING row as queued, kept to reconcile it if this write fails. */
  running: InsertValues;
  /** Somebody is answered on this row (startExecution): it must be durable first. */
  durable: boolean;
  settle: (error?: unknown) => void;
  written: Promise<unknown>;
}

/** A RUNNING row that could not be written, and why. */
interface FailedInsert {
  running: InsertValues;
  error: unknown;
}

interface QueuedFinish {
  kind: 'finish';
  write: FinishWrite;
  resolve: (changed: boolean) => void;
  reject: (error: unknown) => void;
  written: Promise<unknown>;
}

type Queued = QueuedInsert | QueuedFinish;

/** What the database said about one terminal state, reported once the batch is durable. */
interface UpdateOutcome {
  item: QueuedFinish;
  outcome: { changed: boolean } | { error: unknown };
}

export class ExecutionWriteQueue {
  private queue: Queued[] = [];
  private inFlight: Queued[] = [];
  private writing = false;
  /** A terminal state or a read is waiting: write without delay. */
  private urgent = false;
  private immediate = false;
  private timer: NodeJS.Timeout | undefined;
  /** RUNNING rows that failed to be written: their finish inserts the final row instead. */
  private readonly failedInserts = new Map<string, FailedInsert>();
  /** Executions queued as RUNNING whose terminal state is not queued yet: the calls in flight. */
  private readonly unfinished = new Set<string>();

  /**
   * @param durable resolves once everything committed so far is on stable
   *   storage (SQLite: an fdatasync of the WAL, see wal-sync.ts); nobody
   *   hears about a batch before. It is told whether the batch answers every
   *   call in flight. @default already durable (PostgreSQL commits are)
   */
  constructor(
    private readonly sql: SqlRunner,
    private readonly dialect: () => 'sqlite' | 'postgresql',
    private readonly durable: WalSync = async () => undefined,
  ) {}

  /**
   * Queues a new row. Resolves once it is written; rejects when it could not
   * be (the execution's `finish` then tries again with the final row). Nobody
   * has to wait for it: a rejection nobody awaits is not reported as unhandled.
   * `durable` writes it on the next turn of the event loop instead of after
   * INSERT_DELAY_MS, and resolves only once it is on stable storage; otherwise
   * a RUNNING row is durable with the next batch that somebody is answered on.
   */
  insert(id: string, values: InsertValues, durable = false): Promise<void> {
    let settle!: (error?: unknown) => void;
    const outcome = new Promise<void>((resolve, reject) => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the write's own failure, passed on as raised.
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    outcome.catch(() => undefined);
    this.queue.push({ kind: 'insert', id, values, running: values, durable, settle, written: outcome.catch(() => undefined) });
    this.unfinished.add(id);
    this.requestWrite(durable);
    return outcome;
  }

  /**
   * Queues a terminal state; resolves with whether the row was still RUNNING
   * (and in scope). Rejects only when the row could not be written at all.
   */
  finish(write: FinishWrite): Promise<boolean> {
    let resolve!: (changed: boolean) => void;
    let reject!: (error: unknown) => void;
    const result = new Promise<boolean>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.queue.push({ kind: 'finish', write, resolve, reject, written: result.catch(() => undefined) });
    this.unfinished.delete(write.id);
    this.requestWrite(true);
    return result;
  }

  /** Resolves once every write queued so far has been written (or has failed). */
  async settled(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight.length === 0) return;
    if (this.queue.length > 0) this.requestWrite(true);
    await Promise.all([...this.inFlight, ...this.queue].map((q) => q.written));
  }

  private requestWrite(urgent: boolean): void {
    if (urgent) this.urgent = true;
    // A write in progress loops on to whatever is queued when it ends.
    if (this.writing || this.immediate) return;
    if (this.urgent) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.immediate = true;
      // Next turn of the loop: every write queued by this turn's callbacks joins the batch.
      setImmediate(() => {
        this.immediate = false;
        void this.drain();
      });
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.drain();
      }, INSERT_DELAY_MS);
      this.timer.unref();
    }
  }

  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        this.urgent = false;
        const { batch, deferred } = takeBatch(this.queue);
        this.queue = deferred;
        this.inFlight = batch;
        if (deferred.some((item) => item.kind === 'finish')) this.urgent = true;
        try {
          await this.writeBatch(batch);
        } catch (error) {
          // writeBatch settles its own statements; this only guards against a bug leaving waiters hanging.
          for (const item of batch) {
            if (item.kind === 'insert') item.settle(error);
            else item.reject(error);
          }
        }
        this.inFlight = [];
        // Only RUNNING rows left and nobody waiting: let them wait for their terminal state a little.
        if (!this.urgent) break;
      }
    } finally {
      this.writing = false;
      if (this.queue.length > 0) this.requestWrite(this.urgent);
    }
  }

  private async writeBatch(batch: Queued[]): Promise<void> {
    const inserts = new Map<string, QueuedInsert>();
    const updates: QueuedFinish[] = [];
    const coalesced: { finish: QueuedFinish; changed: boolean }[] = [];
    for (const item of batch) {
      if (item.kind === 'insert') {
        inserts.set(item.id, item);
        continue;
      }
      const pending = inserts.get(item.write.id) ?? this.reconciliation(item.write);
      if (pending) {
        // Its row is written in this very batch: write the final state straight away.
        inserts.set(item.write.id, pending);
        const changed = inScope(pending.values, item.write);
        if (changed) pending.values = applyFinish(pending.values, item.write);
        coalesced.push({ finish: item, changed });
      } else {
        updates.push(item);
      }
    }
    const failures = await this.writeInserts([...inserts.values()]);
    const updated = updates.length > 0 ? await this.writeUpdates(updates) : [];
    for (const insert of inserts.values()) {
      const error = failures.get(insert.id);
      if (error !== undefined) this.rememberFailedInsert(insert, error);
    }
    const notify = (syncError: unknown) => {
      for (const insert of inserts.values()) {
        const error = failures.get(insert.id) ?? syncError;
        // A durable insert that failed (written or not) fails its call before it starts: no terminal state follows.
        if (error !== undefined && insert.durable) this.unfinished.delete(insert.id);
        insert.settle(error);
      }
      for (const { finish, changed } of coalesced) {
        const error = failures.get(finish.write.id) ?? syncError;
        if (error === undefined) finish.resolve(changed);
        else finish.reject(error);
      }
      for (const { item, outcome } of updated) {
        if (syncError !== undefined) item.reject(syncError);
        else if ('error' in outcome) item.reject(outcome.error);
        else item.resolve(outcome.changed);
      }
    };
    // Acknowledged means durable (SPEC §10): nobody learns the outcome of this batch before it is on disk.
    // The sync runs while the next batch is written (a sync requested during another one waits for the
    // next, so it covers this batch). A batch of plain RUNNING rows answers nobody and waits for no sync
    // (the next one covers it), which halves the syncs when calls outlast INSERT_DELAY_MS. A failed sync
    // fails every waiter (the rows were written, so nothing is reconciled).
    if (!batch.some((item) => item.kind === 'finish' || item.durable)) return notify(undefined);
    this.durable({ alone: this.unfinished.size === 0 && this.queue.length === 0 }).then(
      () => notify(undefined),
      (error: unknown) => notify(error ?? new Error('sync failed')),
    );
  }

  /** A finish for a RUNNING row that failed to be written, by someone in its scope: insert the row again, as final. */
  private reconciliation(write: FinishWrite): QueuedInsert | undefined {
    const failed = this.failedInserts.get(write.id);
    if (!failed || !inScope(failed.running, write)) return undefined;
    this.failedInserts.delete(write.id);
    const written = Promise.resolve();
    return {
      kind: 'insert',
      id: write.id,
      values: failed.running,
      running: failed.running,
      durable: true,
      settle: () => undefined,
      written,
    };
  }

  private rememberFailedInsert(insert: QueuedInsert, error: unknown): void {
    if (this.failedInserts.size > 10_000) this.failedInserts.clear();
    this.failedInserts.set(insert.id, { running: insert.running, error });
  }

  /** Writes the rows; returns the error of each row that could not be written. */
  private async writeInserts(rows: QueuedInsert[]): Promise<Map<string, unknown>> {
    const failures = new Map<string, unknown>();
    for (let start = 0; start < rows.length; start += MAX_ROWS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + MAX_ROWS_PER_STATEMENT);
      await this.rowByRowOnFailure(
        chunk,
        (part) =>
          this.sql.query(
            insertSql(part.length),
            part.flatMap((row) => row.values),
          ),
        (row, error) => failures.set(row.id, error),
      );
    }
    return failures;
  }

  /** Writes the terminal states; returns each one's outcome, for the caller to report once durable. */
  private async writeUpdates(updates: QueuedFinish[]): Promise<UpdateOutcome[]> {
    const outcomes = updates.map((item): UpdateOutcome => ({ item, outcome: { changed: false } }));
    const outcomeOf = new Map(outcomes.map((entry) => [entry.item, entry]));
    for (let start = 0; start < updates.length; start += MAX_ROWS_PER_STATEMENT) {
      const chunk = updates.slice(start, start + MAX_ROWS_PER_STATEMENT);
      await this.rowByRowOnFailure(
        chunk,
        async (part) => {
          const rows = await this.sql.query(updateSql(part.length, this.dialect() === 'postgresql'), part.flatMap(updateParams));
          const changed = new Set(rows.map((row) => String(row.id)));
          for (const item of part) outcomeOf.get(item)!.outcome = { changed: changed.has(item.write.id) };
        },
        (item, error) => (outcomeOf.get(item)!.outcome = { error }),
      );
    }
    return outcomes;
  }

  /**
   * Writes a chunk in one statement; when that fails, writes each row on its
   * own, so a value the database refuses fails only its own row (one
   * tenant's data never makes another tenant's write fail).
   */
  private async rowByRowOnFailure<T>(
    chunk: T[],
    write: (part: T[]) => Promise<unknown>,
    fail: (item: T, error: unknown) => void,
  ): Promise<void> {
    try {
      await write(chunk);
      return;
    } catch (error) {
      if (chunk.length === 1) {
        fail(chunk[0]!, error);
        return;
      }
    }
    for (const item of chunk) {
      try {
        await write([item]);
      } catch (error) {
        fail(item, error);
      }
    }
  }
}

/**
 * Takes everything queued, except a second terminal state for an execution
 * already finishing in this batch: it waits for the next batch, so "first
 * outcome wins" is decided by the database exactly as one UPDATE after another.
 */
function takeBatch(queue: Queued[]): { batch: Queued[]; deferred: Queued[] } {
  const finishing = new Set<string>();
  const batch: Queued[] = [];
  const deferred: Queued[] = [];
  for (const item of queue) {
    if (item.kind === 'finish') {
      if (finishing.has(item.write.id) || deferred.length > 0) {
        deferred.push(item);
        continue;
      }
      finishing.add(item.write.id);
    } else if (deferred.length > 0) {
      // Keep queue order behind a deferred write.
      deferred.push(item);
      continue;
    }
    batch.push(item);
  }
  return { batch, deferred };
}

function updateParams(item: QueuedFinish): unknown[] {
  return [item.write.id, item.write.namespace, item.write.agentId, ...item.write.values];
}
