import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/knex';
import { canManage, type Principal } from '../../auth/principal.js';
import { AuthorizationError, ExecutionNotFoundError } from '../../errors/index.js';
import { ExecutionSchema, type Execution, type ExecutionSource, type ExecutionStatus } from '../entities/index.js';
import { storableJson, storableText } from '../../common/storable-text.js';
import { ExecutionWriteQueue } from './execution-write-queue.js';
import { knexRunner, sqlitePreparedRunner, type SqlRunner } from './sql-runner.js';
import { walFileSync, type WalFileSync, type WalSync } from './wal-sync.js';
import { findPage, type Page, type PageRequest } from './find-page.js';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface NewExecution {
  id: string;
  connectionId: string;
  toolName: string;
  arguments: Record<string, unknown>;
  source: ExecutionSource;
  requestId: string | null;
  startedAt: Date;
}

export type ExecutionProgressChange = Pick<Execution, 'progress' | 'progressTotal' | 'progressMessage'>;

export type ExecutionOutcome = Pick<
  Execution,
  'status' | 'isError' | 'result' | 'errorCode' | 'errorMessage' | 'finishedAt' | 'durationMs'
>;

export interface ExecutionListQuery extends PageRequest {
  connectionId?: string;
  status?: ExecutionStatus;
}

/** How each driver stores the columns the write queue fills, exactly as MikroORM writes and reads them. */
interface ValueEncoding {
  dialect: 'sqlite' | 'postgresql';
  date(value: Date): Date | number;
  bool(value: boolean): boolean | number;
}

/** MikroORM keeps SQLite datetimes as epoch milliseconds and booleans as 0/1. */
const SQLITE_ENCODING: ValueEncoding = { dialect: 'sqlite', date: (d) => d.getTime(), bool: (b) => (b ? 1 : 0) };
const POSTGRES_ENCODING: ValueEncoding = { dialect: 'postgresql', date: (d) => d, bool: (b) => b };

/** Rows deleted per statement by the retention sweep. */
const PURGE_CHUNK = 500;

/**
 * The audit trail. Same scoping rules as connections: namespace always, owner unless admin.
 *
 * The two writes of every tool call (RUNNING row, terminal state) skip
 * MikroORM's unit of work — a fork, change sets and a transaction around a
 * single INSERT cost more than the tool call — and go through a group-commit
 * queue as parameterised SQL (see ExecutionWriteQueue). Every read first waits
 * for the queue, so an execution is readable as soon as its call returned.
 */
export class ExecutionRepository {
  private encodingCache: ValueEncoding | undefined;
  private readonly writes: ExecutionWriteQueue;
  /** Statements outside the queue (progress), on the queue's connection handling. */
  private readonly sql: SqlRunner;
  /** SQLite on a file: the WAL sync, which holds the WAL open until `close`. */
  private readonly walSync: WalFileSync | undefined;

  /** The gateway instance whose lease covers the RUNNING rows this repository writes (SPEC §10). */
  readonly instanceId: string;

  /**
   * @param options.instanceId the lease this repository's RUNNING rows live under. @default a new UUID
   * @param options.wrapSql wraps the statement runner (tests inject database faults with it).
   * @param options.wrapSync wraps the wait for durability (tests hold it back with it).
   */
  constructor(
    private readonly em: EntityManager,
    options: {
      instanceId?: string;
      wrapSql?: (runner: SqlRunner) => SqlRunner;
      wrapSync?: (sync: WalSync) => WalSync;
    } = {},
  ) {
    this.instanceId = options.instanceId ?? randomUUID();
    const knex = () => this.knex;
    const sqlite = this.encoding.dialect === 'sqlite';
    const runner = sqlite ? sqlitePreparedRunner(knex, { commitWithoutSync: true }) : knexRunner(knex);
    const path = String(em.config.get('dbName'));
    // SQLite: each batch commits without fsync, then the WAL is synced (wal-sync.ts) before anyone hears back.
    this.walSync = sqlite && path !== ':memory:' ? walFileSync(`${path}-wal`) : undefined;
    const sync: WalSync = this.walSync ?? (async () => undefined);
    const durable = options.wrapSync ? options.wrapSync(sync) : sync;
    this.sql = options.wrapSql ? options.wrapSql(runner) : runner;
    this.writes = new ExecutionWriteQueue(this.sql, () => this.encoding.dialect, durable);
  }

  private get knex(): Knex {
    return (this.em.getConnection() as unknown as { getKnex(): Knex }).getKnex();
  }

  private get encoding(): ValueEncoding {
    this.encodingCache ??= (this.knex.client as { dialect: string }).dialect === 'sqlite3' ? SQLITE_ENCODING : POSTGRES_ENCODING;
    return this.encodingCache;
  }

  /** Resolves once every execution write queued so far is in the database. */
  async settled(): Promise<void> {
    await this.writes.settled();
  }

  /** Writes what is queued, then lets the WAL file go. Before the ORM closes. */
  async close(): Promise<void> {
    await this.writes.settled();
    this.walSync?.close();
  }

  private scope(principal: Principal): { namespace: string; agentId?: string } {
    return principal.role === 'admin' ? { namespace: principal.namespace } : { namespace: principal.namespace, agentId: principal.agentId };
  }

  /**
   * Records a RUNNING execution on behalf of the principal (who must be the
   * connection owner). Queued: it reaches the database before anything queued
   * after it. With `durable`, resolves only once the row is written (and
   * rejects when it could not be); without, a failed write is reconciled by
   * the execution's `finish`, which then inserts the final row.
   */
  async insert(principal: Principal, input: NewExecution, options: { durable?: boolean } = {}): Promise<Execution> {
    const now = new Date();
    const { date, bool } = this.encoding;
    // INSERT_COLUMNS order.
    const written = this.writes.insert(
      input.id,
      [
        input.id,
        date(now),
        date(now),
        principal.namespace,
        principal.agentId,
        input.connectionId,
        input.toolName,
        storableJson(input.arguments),
        'RUNNING',
        input.source,
        input.requestId,
        bool(false),
        null,
        null,
        null,
        date(input.startedAt),
        null,
        null,
        this.instanceId,
      ],
      options.durable,
    );
    if (options.durable) await written;
    // Every field written out in one order, no spread: a literal that spreads `input` and then adds
    // fields misses V8's store cache on each added field (a runtime call per field, ~5 % of a REST call).
    const execution = {
      id: input.id,
      createdAt: now,
      updatedAt: now,
      namespace: principal.namespace,
      agentId: principal.agentId,
      connectionId: input.connectionId,
      toolName: input.toolName,
      arguments: input.arguments,
      status: 'RUNNING',
      source: input.source,
      requestId: input.requestId,
      progress: null,
      progressTotal: null,
      progressMessage: null,
      isError: false,
      result: null,
      errorCode: null,
      errorMessage: null,
      startedAt: input.startedAt,
      instanceId: this.instanceId,
      finishedAt: null,
      durationMs: null,
    };
    return execution as Execution;
  }

  async findReadable(principal: Principal, id: string): Promise<Execution> {
    if (!UUID_PATTERN.test(id)) throw new ExecutionNotFoundError(id);
    await this.writes.settled();
    const row = await this.em.fork().findOne(ExecutionSchema, { id });
    if (!row) throw new ExecutionNotFoundError(id);
    if (!canManage(principal, row)) throw new AuthorizationError('Execution belongs to another agent or namespace');
    return row;
  }

  async findManyReadable(principal: Principal, ids: readonly string[]): Promise<Execution[]> {
    const valid = ids.filter((id) => UUID_PATTERN.test(id));
    if (valid.length === 0) return [];
    await this.writes.settled();
    return this.em.fork().find(ExecutionSchema, { ...this.scope(principal), id: { $in: valid } });
  }

  async list(principal: Principal, query: ExecutionListQuery): Promise<Page<Execution>> {
    const where = {
      ...this.scope(principal),
      ...(query.connectionId ? { connectionId: query.connectionId } : {}),
      ...(query.status ? { status: query.status } : {}),
    };
    await this.writes.settled();
    return findPage(this.em.fork(), ExecutionSchema, where, 'startedAt', query);
  }

  /**
   * Progress of a running execution; a finished one is never reopened.
   * Nobody is answered on the strength of it, so on SQLite it commits
   * without an fsync of its own (the next execution batch's sync covers it):
   * a progress flood never turns into a stream of fsyncs on the main thread.
   */
  async recordProgress(principal: Principal, id: string, change: ExecutionProgressChange): Promise<void> {
    await this.writes.settled();
    const { namespace, agentId } = this.scope(principal);
    await this.sql.query(
      'update "executions" set "progress" = ?, "progress_total" = ?, "progress_message" = ? ' +
        `where "id" = ? and "namespace" = ? and "status" = 'RUNNING'${agentId === undefined ? '' : ' and "agent_id" = ?'}`,
      [
        change.progress ?? null,
        change.progressTotal ?? null,
        storableText(change.progressMessage ?? null),
        id,
        namespace,
        ...(agentId === undefined ? [] : [agentId]),
      ],
    );
  }

  /**
   * Moves a RUNNING execution to its terminal state. Returns false when it had
   * already finished (e.g. cancelled meanwhile), so the first outcome wins.
   */
  async finish(principal: Principal, id: string, outcome: ExecutionOutcome): Promise<boolean> {
    const { date, bool } = this.encoding;
    // FINISH_COLUMNS order.
    return this.writes.finish({
      id,
      namespace: principal.namespace,
      agentId: principal.role === 'admin' ? null : principal.agentId,
      values: [
        outcome.status,
        bool(outcome.isError),
        storableJson(outcome.result),
        outcome.errorCode ?? null,
        storableText(outcome.errorMessage ?? null),
        outcome.finishedAt ? date(outcome.finishedAt) : null,
        outcome.durationMs ?? null,
        date(new Date()),
      ],
    });
  }
}

/** Housekeeping that runs as the gateway itself, never on behalf of a caller. */
export class ExecutionMaintenance {
  constructor(private readonly em: EntityManager) {}

  /**
   * Deletes finished executions that started before `cutoff`, a chunk at a
   * time with a turn of the event loop between chunks: on SQLite every
   * statement runs on the main thread, and a first sweep over a long history
   * must not stall the gateway while it deletes.
   *
   * Namespace by namespace, through the `(namespace, started_at)` index: a
   * sweep that finds nothing to purge — most of them, once a minute — reads a
   * few index entries per namespace. Asked of the whole table, it scanned
   * every row (0.1–0.3 s on the event loop at 500,000 executions).
   */
  async purgeOlderThan(cutoff: Date): Promise<number> {
    let purged = 0;
    for (let namespace = await this.namespaceAfter(undefined); namespace !== undefined; namespace = await this.namespaceAfter(namespace)) {
      for (;;) {
        const expired = await this.em
          .fork()
          .find(
            ExecutionSchema,
            { namespace, startedAt: { $lt: cutoff }, status: { $ne: 'RUNNING' } },
            { fields: ['id'], limit: PURGE_CHUNK },
          );
        if (expired.length > 0) {
          purged += await this.em.fork().nativeDelete(ExecutionSchema, { id: { $in: expired.map((row) => row.id) } });
        }
        await new Promise((resolve) => setImmediate(resolve));
        if (expired.length < PURGE_CHUNK) break;
      }
    }
    return purged;
  }

  /** The next namespace holding executions, in order: one index seek each (a skip scan of the namespace index). */
  private async namespaceAfter(previous: string | undefined): Promise<string | undefined> {
    const [next] = await this.em.fork().find(ExecutionSchema, previous === undefined ? {} : { namespace: { $gt: previous } }, {
      fields: ['namespace'],
      orderBy: { namespace: 'asc' },
      limit: 1,
    });
    return next?.namespace;
  }
}
