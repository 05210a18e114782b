import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionSchema } from '../../src/db/entities/index.js';
import { migrateUp, openOrm } from '../../src/db/orm.js';
import { ExecutionMaintenance, ExecutionRepository, type ExecutionOutcome } from '../../src/db/repositories/execution.repository.js';
import { suiteDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { openFilesOf } from '../helpers/open-files.js';

/**
 * The execution write path (group-commit queue, plain SQL) must read back
 * exactly like MikroORM's own writes did, and keep "first outcome wins" and
 * scoping, on SQLite and PostgreSQL alike.
 */

const owner = { agentId: 'owner', namespace: 'writes', role: 'agent' as const };
const stranger = { agentId: 'stranger', namespace: 'writes', role: 'agent' as const };
const admin = { agentId: 'boss', namespace: 'writes', role: 'admin' as const };
const foreignAdmin = { agentId: 'boss', namespace: 'elsewhere', role: 'admin' as const };

function outcome(status: ExecutionOutcome['status'], extra: Partial<ExecutionOutcome> = {}): ExecutionOutcome {
  return {
    status,
    isError: false,
    result: { content: [{ type: 'text', text: "it's done" }], isError: false },
    errorCode: null,
    errorMessage: null,
    finishedAt: new Date(),
    durationMs: 7,
    ...extra,
  };
}

function newExecution() {
  return {
    id: randomUUID(),
    connectionId: randomUUID(),
    toolName: 'echo',
    arguments: { message: 'quote \' and " and ✓', nested: { n: 1 } },
    source: 'REST' as const,
    requestId: 'req-1',
    startedAt: new Date(),
  };
}

function behavesLikeTheAuditTrail(open: () => Promise<MikroORM>) {
  let orm: MikroORM;
  let repo: ExecutionRepository;

  beforeAll(async () => {
    orm = await open();
    await migrateUp(orm);
    repo = new ExecutionRepository(orm.em);
  });

  afterAll(async () => {
    await orm?.close(true);
  });

  const start = () => repo.insert(owner, newExecution());

  it('reads a RUNNING execution back right after it was recorded', async () => {
    const started = await start();
    const read = await repo.findReadable(owner, started.id);
    expect(read).toMatchObject({ id: started.id, status: 'RUNNING', isError: false, agentId: 'owner', namespace: 'writes' });
    expect(read.arguments).toEqual(started.arguments);
    expect(read.startedAt).toBeInstanceOf(Date);
    expect(read.startedAt.getTime()).toBe(started.startedAt.getTime());
    expect(read.finishedAt ?? null).toBeNull();
  });

  it('records the terminal state once: the first outcome wins', async () => {
    const started = await start();
    const [first, second] = await Promise.all([
      repo.finish(owner, started.id, outcome('COMPLETED', { isError: true })),
      repo.finish(owner, started.id, outcome('CANCELLED')),
    ]);
    expect([first, second]).toEqual([true, false]);
    const read = await repo.findReadable(owner, started.id);
    expect(read).toMatchObject({ status: 'COMPLETED', isError: true, durationMs: 7 });
    expect(read.result).toEqual({ content: [{ type: 'text', text: "it's done" }], isError: false });
    expect(read.finishedAt).toBeInstanceOf(Date);
    expect(await repo.finish(owner, started.id, outcome('FAILED'))).toBe(false);
  });

  it('changes only executions in the finishing principal’s scope', async () => {
    const started = await start();
    await repo.settled();
    expect(await repo.finish(stranger, started.id, outcome('COMPLETED'))).toBe(false);
    expect(await repo.finish(foreignAdmin, started.id, outcome('COMPLETED'))).toBe(false);
    expect((await repo.findReadable(owner, started.id)).status).toBe('RUNNING');
    expect(await repo.finish(admin, started.id, outcome('CANCELLED', { errorCode: 'CANCELLED', errorMessage: 'stop' }))).toBe(true);
    expect(await repo.findReadable(owner, started.id)).toMatchObject({ status: 'CANCELLED', errorCode: 'CANCELLED', errorMessage: 'stop' });
  });

  it('never writes into somebody else’s open transaction: a rollback there loses no execution', async () => {
    let recorded: Promise<boolean> | undefined;
    let id = '';
    const transaction = (orm.em.fork() as SqlEntityManager).transactional(async (em) => {
      await em.execute('select 1'); // the transaction now holds its connection
      const started = await start();
      id = started.id;
      recorded = repo.finish(owner, id, outcome('COMPLETED'));
      await new Promise((resolve) => setTimeout(resolve, 50)); // long enough for the queue to write
      throw new Error('roll back');
    });
    await expect(transaction).rejects.toThrow('roll back');
    expect(await recorded).toBe(true);
    expect(await repo.findReadable(owner, id)).toMatchObject({ status: 'COMPLETED', durationMs: 7 });
  });

  it('retention purges finished executions older than the cutoff, in chunks, and keeps running ones', async () => {
    const longAgo = new Date(Date.now() - 3_600_000);
    const old = await Promise.all(
      Array.from({ length: 1_100 }, async () => (await repo.insert(owner, { ...newExecution(), startedAt: longAgo })).id),
    );
    await Promise.all(old.map((id) => repo.finish(owner, id, outcome('COMPLETED'))));
    const stillRunning = await repo.insert(owner, { ...newExecution(), startedAt: longAgo });
    const recent = await start();
    await repo.settled();
    const purged = await new ExecutionMaintenance(orm.em).purgeOlderThan(new Date(Date.now() - 60_000));
    expect(purged).toBeGreaterThanOrEqual(1_100);
    await expect(repo.findReadable(owner, old[0]!)).rejects.toThrow();
    await expect(repo.findReadable(owner, old.at(-1)!)).rejects.toThrow();
    expect((await repo.findReadable(owner, stillRunning.id)).status).toBe('RUNNING');
    expect((await repo.findReadable(owner, recent.id)).status).toBe('RUNNING');
  });

  it('isolates a row the database refuses: every other row of its batch is written (SPEC §10)', async () => {
    // An enum CHECK refuses 'BOGUS' on both dialects: the stand-in for any value one tenant could smuggle in.
    const refused = { ...newExecution(), source: 'BOGUS' as 'REST' };
    const burst = [...Array.from({ length: 20 }, () => newExecution()), refused, ...Array.from({ length: 20 }, () => newExecution())];
    const started = await Promise.all(burst.map((execution) => repo.insert(owner, execution)));
    const finished = await Promise.allSettled(started.map((execution) => repo.finish(owner, execution.id, outcome('COMPLETED'))));
    finished.forEach((result, i) => expect(result.status).toBe(burst[i] === refused ? 'rejected' : 'fulfilled'));
    for (const execution of started.filter((e) => e.id !== refused.id)) {
      expect((await repo.findReadable(owner, execution.id)).status).toBe('COMPLETED');
    }
    await expect(repo.findReadable(owner, refused.id)).rejects.toThrow();

    // The same for terminal states written as one multi-row UPDATE.
    const running = await Promise.all(Array.from({ length: 30 }, () => start()));
    await repo.settled();
    const outcomes = await Promise.allSettled(
      running.map((execution, i) => repo.finish(owner, execution.id, outcome(i === 15 ? ('BOGUS' as 'FAILED') : 'COMPLETED'))),
    );
    outcomes.forEach((result, i) => expect(result.status).toBe(i === 15 ? 'rejected' : 'fulfilled'));
    const statuses = await Promise.all(running.map(async (execution) => (await repo.findReadable(owner, execution.id)).status));
    statuses.forEach((status, i) => expect(status).toBe(i === 15 ? 'RUNNING' : 'COMPLETED'));
  });

  it('reconciles a RUNNING row the database failed to take: the terminal state writes the whole row', async () => {
    let databaseDown = true;
    const flaky = new ExecutionRepository(orm.em, {
      wrapSql: (runner) => ({
        query: (sql, params) =>
          databaseDown && sql.startsWith('insert') ? Promise.reject(new Error('database is locked')) : runner.query(sql, params),
      }),
    });
    const execution = newExecution();
    await expect(flaky.insert(owner, execution, { durable: true })).rejects.toThrow('database is locked');
    databaseDown = false;
    expect(await flaky.finish(stranger, execution.id, outcome('CANCELLED'))).toBe(false);
    expect(await flaky.finish(owner, execution.id, outcome('COMPLETED'))).toBe(true);
    expect(await flaky.findReadable(owner, execution.id)).toMatchObject({
      status: 'COMPLETED',
      arguments: execution.arguments,
      durationMs: 7,
    });
  });

  it('records progress on a running execution in scope, never on a finished one, with NUL made safe', async () => {
    const started = await start();
    await repo.recordProgress(owner, started.id, { progress: 2, progressTotal: 4, progressMessage: 'half\u0000way' });
    await repo.recordProgress(stranger, started.id, { progress: 3, progressTotal: 4, progressMessage: 'not yours' });
    expect(await repo.findReadable(owner, started.id)).toMatchObject({ progress: 2, progressTotal: 4, progressMessage: 'half\uFFFDway' });
    await repo.recordProgress(admin, started.id, { progress: 3, progressTotal: 4, progressMessage: null });
    expect(await repo.findReadable(owner, started.id)).toMatchObject({ progress: 3, progressMessage: null });
    await repo.finish(owner, started.id, outcome('COMPLETED'));
    await repo.recordProgress(owner, started.id, { progress: 4, progressTotal: 4, progressMessage: 'late' });
    expect(await repo.findReadable(owner, started.id)).toMatchObject({ status: 'COMPLETED', progress: 3 });
  });

  it('answers nobody before the batch is durable (acknowledged means durable, SPEC §10)', async () => {
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const held = new ExecutionRepository(orm.em, {
      wrapSync: (sync) => async () => {
        await gate;
        await sync();
      },
    });
    const execution = await held.insert(owner, newExecution());
    let answered = false;
    const finished = held.finish(owner, execution.id, outcome('COMPLETED')).then((changed) => ((answered = true), changed));
    // Committed (readable) but not yet acknowledged while the sync is held back.
    await eventually(
      async () => (await orm.em.fork().findOne(ExecutionSchema, { id: execution.id }))?.status === 'COMPLETED',
      10_000,
      'the row COMPLETED',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    openGate();
    expect(await finished).toBe(true);
  });

  /** A repository that records what each sync is told, and can fail its INSERTs or its syncs. */
  function watchedRepository() {
    const told: boolean[] = [];
    const failing = { insert: false, sync: false };
    const watched = new ExecutionRepository(orm.em, {
      wrapSql: (runner) => ({
        query: async (sql, params) => {
          if (failing.insert && sql.trimStart().toLowerCase().startsWith('insert')) throw new Error('disk full');
          return runner.query(sql, params);
        },
      }),
      wrapSync: (sync) => async (request) => {
        told.push(request?.alone ?? false);
        if (failing.sync) throw new Error('fdatasync: I/O error');
        await sync(request);
      },
    });
    return { watched, told, failing };
  }

  it('tells the sync whether the batch answers every call in flight (only then may it block the main thread)', async () => {
    const { watched, told } = watchedRepository();
    const first = await watched.insert(owner, newExecution());
    const second = await watched.insert(owner, newExecution());
    await watched.finish(owner, first.id, outcome('COMPLETED'));
    expect(told.at(-1)).toBe(false);
    await watched.finish(owner, second.id, outcome('COMPLETED'));
    expect(told.at(-1)).toBe(true);
    // A startExecution's durable RUNNING row is synced while its call is in flight.
    const started = await watched.insert(owner, newExecution(), { durable: true });
    expect(told.at(-1)).toBe(false);
    await watched.finish(owner, started.id, outcome('CANCELLED'));
    expect(told.at(-1)).toBe(true);
  });

  it.each([
    ['failed to be written', 'insert', 'disk full'],
    ['was written but not synced', 'sync', 'I/O error'],
  ] as const)('does not count a call whose durable RUNNING row %s as in flight', async (_how, fault, message) => {
    const { watched, told, failing } = watchedRepository();
    failing[fault] = true;
    await expect(watched.insert(owner, newExecution(), { durable: true })).rejects.toThrow(message);
    failing[fault] = false;
    const next = await watched.insert(owner, newExecution());
    await watched.finish(owner, next.id, outcome('COMPLETED'));
    expect(told.at(-1)).toBe(true);
  });

  it('keeps every execution of a burst and reports each outcome', async () => {
    const burst = await Promise.all(Array.from({ length: 60 }, () => start()));
    const changed = await Promise.all(
      burst.map((execution, i) => repo.finish(i % 3 === 0 ? stranger : owner, execution.id, outcome('COMPLETED'))),
    );
    expect(changed.filter(Boolean)).toHaveLength(40);
    const { rows } = await repo.list(owner, { limit: 100, offset: 0, status: 'RUNNING' });
    const stillRunning = new Set(rows.map((row) => row.id));
    burst.forEach((execution, i) => expect(stillRunning.has(execution.id)).toBe(i % 3 === 0));
  });
}

describe('execution writes on SQLite', () => {
  const target = suiteDatabase('sqlite');
  behavesLikeTheAuditTrail(() => openOrm(target));
});

describe('the WAL a SQLite gateway syncs', () => {
  const target = suiteDatabase('sqlite');

  it('is the database’s own, held open from one call to the next and let go on close', async () => {
    if (target.driver !== 'sqlite') throw new Error('a SQLite target');
    const wal = `${target.path}-wal`;
    const orm = await openOrm(target);
    try {
      await migrateUp(orm);
      // SQLite's own connection has the WAL open too.
      const before = openFilesOf(wal).length;
      const repo = new ExecutionRepository(orm.em);
      for (let i = 0; i < 3; i++) {
        const execution = await repo.insert(owner, newExecution());
        await repo.finish(owner, execution.id, outcome('COMPLETED'));
      }
      expect(openFilesOf(wal)).toHaveLength(before + 1);
      await repo.close();
      expect(openFilesOf(wal)).toHaveLength(before);
    } finally {
      await orm.close(true);
    }
  });
});

describe('execution writes on PostgreSQL', () => {
  const target = suiteDatabase('postgresql');
  behavesLikeTheAuditTrail(() => openOrm(target));
});
