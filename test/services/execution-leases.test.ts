/**
 * SPEC §10 execution leases: RUNNING rows of an instance whose lease expired
 * become FAILED GATEWAY_RESTARTED (done by any other instance), rows of a
 * live instance never do — on SQLite and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseTarget } from '../../src/config/database-url.js';
import { ExecutionSchema } from '../../src/db/entities/index.js';
import { migrateUp, openOrm } from '../../src/db/orm.js';
import { ExecutionLeases } from '../../src/db/repositories/execution-lease.repository.js';
import { ExecutionRepository } from '../../src/db/repositories/execution.repository.js';
import { createEventBus, type ExecutionEventPayload } from '../../src/services/event-bus.js';
import { ExecutionLeaseKeeper } from '../../src/services/execution-leases.js';
import { createLogger } from '../../src/observability/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';

const owner = { agentId: 'lease-owner', namespace: 'leases', role: 'agent' as const };
/** Live instances: a lease long enough that a busy test machine never lets it lapse, swept often. */
const LIVE = { ttlMs: 5_000, renewEveryMs: 500, sweepEveryMs: 100 };
/** The lease a crashed instance took before it stopped renewing. */
const CRASHED_TTL_MS = 300;

function leasesBehave(target: () => Promise<DatabaseTarget>) {
  let orm: MikroORM;
  const logger = createLogger('silent');
  const events = createEventBus();
  const keepers: ExecutionLeaseKeeper[] = [];

  beforeAll(async () => {
    orm = await openOrm(await target());
    await migrateUp(orm);
  });
  afterAll(async () => {
    for (const keeper of keepers) await keeper.stop();
    await orm?.close(true);
  });

  const instance = async (options = LIVE) => {
    const instanceId = randomUUID();
    const keeper = new ExecutionLeaseKeeper({ leases: new ExecutionLeases(orm.em), events, logger, instanceId, options });
    keepers.push(keeper);
    await keeper.start();
    return { keeper, repo: new ExecutionRepository(orm.em, { instanceId }) };
  };
  const run = (repo: ExecutionRepository) =>
    repo.insert(
      owner,
      {
        id: randomUUID(),
        connectionId: randomUUID(),
        toolName: 'slow',
        arguments: {},
        source: 'REST',
        requestId: null,
        startedAt: new Date(),
      },
      { durable: true },
    );
  const status = async (id: string) => (await orm.em.fork().findOneOrFail(ExecutionSchema, { id })).status;

  it('fails the RUNNING rows of an instance that stopped renewing, and only those', async () => {
    const survivor = await instance();
    const mine = await Promise.all(Array.from({ length: 3 }, () => run(survivor.repo)));

    // A crashed instance: registered with a lease, then never renewed again.
    const crashedId = randomUUID();
    await new ExecutionLeases(orm.em).register({ id: crashedId, host: 'elsewhere', pid: 1 }, CRASHED_TTL_MS);
    const crashedRepo = new ExecutionRepository(orm.em, { instanceId: crashedId });
    const orphans = await Promise.all(Array.from({ length: 5 }, () => run(crashedRepo)));

    // A live instance (lease renewed, here far longer than the test) is never swept.
    const live = await instance({ ttlMs: 60_000, renewEveryMs: 20_000, sweepEveryMs: 20_000 });
    const others = await Promise.all(Array.from({ length: 3 }, () => run(live.repo)));

    const terminal: ExecutionEventPayload[] = [];
    const iterator = events.pubsub.subscribe('namespace-executions', owner.namespace)[Symbol.asyncIterator]();
    void (async () => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) terminal.push(next.value);
    })();

    await eventually(
      async () => (await Promise.all(orphans.map((e) => status(e.id)))).every((s) => s === 'FAILED'),
      20_000,
      'the orphans FAILED',
    );
    const failed = await orm.em.fork().find(ExecutionSchema, { id: { $in: orphans.map((e) => e.id) } });
    for (const row of failed) {
      expect(row).toMatchObject({ status: 'FAILED', errorCode: 'GATEWAY_RESTARTED' });
      expect(row.finishedAt).toBeInstanceOf(Date);
    }
    // Several more sweeps (every 100 ms) run meanwhile: the live instances' rows stay untouched.
    await new Promise((resolve) => setTimeout(resolve, 5 * LIVE.sweepEveryMs));
    for (const execution of [...mine, ...others]) expect(await status(execution.id)).toBe('RUNNING');
    await eventually(
      () => orphans.every((e) => terminal.some((t) => t.executionId === e.id && t.type === 'FAILED')),
      20_000,
      'a FAILED event per orphan',
    );
    void iterator.return?.();

    // Finishing one's own row still works after the sweeps.
    expect(
      await survivor.repo.finish(owner, mine[0]!.id, {
        status: 'COMPLETED',
        isError: false,
        result: null,
        errorCode: null,
        errorMessage: null,
        finishedAt: new Date(),
        durationMs: 1,
      }),
    ).toBe(true);
  }, 60_000);

  it('fails rows from before leases existed when an instance starts', async () => {
    const legacy = new ExecutionRepository(orm.em);
    const execution = await run(legacy);
    await orm.em.fork().nativeUpdate(ExecutionSchema, { id: execution.id }, { instanceId: null });
    await instance();
    expect(await status(execution.id)).toBe('FAILED');
  });

  it('forgets an instance gracefully stopped, so its leftovers are swept at once', async () => {
    const stopping = await instance({ ttlMs: 60_000, renewEveryMs: 20_000, sweepEveryMs: 20_000 });
    const leftover = await run(stopping.repo);
    await stopping.keeper.stop();
    const sweeper = await instance();
    void sweeper;
    expect(await status(leftover.id)).toBe('FAILED');
  });
}

describe('execution leases on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmws-leases-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  leasesBehave(async () => ({ driver: 'sqlite', path: join(dir, 'leases.db') }));
});

describe('execution leases on PostgreSQL', () => {
  let database: TestDatabase | undefined;
  afterAll(async () => database?.drop());
  leasesBehave(async () => {
    database = await createTestDatabase('postgresql');
    return { driver: 'postgresql', url: database.url };
  });
});
