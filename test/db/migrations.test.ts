import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DatabaseTarget } from '../../src/config/database-url.js';
import { AgentSchema, McpConnectionSchema } from '../../src/db/entities/index.js';
import { migrateUp, openOrm } from '../../src/db/orm.js';
import { ConnectionRepository } from '../../src/db/repositories/connection.repository.js';
import { DuplicateConnectionError } from '../../src/errors/index.js';
import { suiteDatabase } from '../helpers/database.js';

const principal = { agentId: 'migrator', namespace: 'mig', role: 'agent' as const };

/** Applies migrations, checks idempotence and that the schema enforces live-name uniqueness. */
async function exercise(target: DatabaseTarget) {
  const orm = await openOrm(target);
  try {
    const applied = await migrateUp(orm);
    expect(applied.length).toBeGreaterThan(0);
    expect(await migrateUp(orm)).toEqual([]);
    // MikroORM's SQLite comparator always reports enum CHECK constraints as changed, so the
    // "nothing left to generate" check is only meaningful on PostgreSQL.
    if (target.driver === 'postgresql') expect(await orm.getMigrator().checkMigrationNeeded()).toBe(false);

    await expectExecutionListIndexed(orm, target);

    const em = orm.em.fork();
    em.create(AgentSchema, { id: 'migrator', namespace: 'mig', name: 'm', role: 'agent', status: 'active' });
    await em.flush();
    const repo = new ConnectionRepository(orm.em);
    const first = await repo.insert(principal, { serverName: 'dup', url: 'http://x/mcp', timeoutSeconds: 30, headersSealed: null });
    await expect(
      repo.insert(principal, { serverName: 'dup', url: 'http://x/mcp', timeoutSeconds: 30, headersSealed: null }),
    ).rejects.toBeInstanceOf(DuplicateConnectionError);
    await repo.update(principal, first.id, { status: 'disconnected', liveName: null });
    await repo.insert(principal, { serverName: 'dup', url: 'http://x/mcp', timeoutSeconds: 30, headersSealed: null });
    expect(await orm.em.fork().count(McpConnectionSchema, { serverName: 'dup' })).toBe(2);
    await repo.replaceTools(principal, first.id, [{ name: 't', description: null, inputSchema: { type: 'object' } }]);
    expect((await repo.tools(principal, first.id))[0]?.inputSchema).toEqual({ type: 'object' });
  } finally {
    await orm.close(true);
  }
}

/**
 * The executions indexes serve the list's order and its counts (test/db/execution-queries.test.ts
 * plans every such query on SQLite). PostgreSQL's planner picks by table size, so there the
 * migrated indexes themselves are checked.
 */
async function expectExecutionListIndexed(orm: Awaited<ReturnType<typeof openOrm>>, target: DatabaseTarget) {
  if (target.driver !== 'postgresql') return;
  const rows: { indexname: string; indexdef: string }[] = await orm.em
    .getConnection()
    .execute("select indexname, indexdef from pg_indexes where tablename = 'executions' and indexname <> 'executions_pkey'");
  const columns = Object.fromEntries(rows.map((row) => [row.indexname, /\((.*)\)$/.exec(row.indexdef)?.[1]]));
  expect(columns).toEqual({
    executions_namespace_started_index: 'namespace, started_at, agent_id',
    executions_connection_index: 'connection_id, started_at, namespace, agent_id',
    executions_status_index: 'status, namespace, started_at, agent_id',
  });
}

describe('migrations', () => {
  it('apply on a fresh SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmws-mig-'));
    await exercise({ driver: 'sqlite', path: join(dir, 'fresh.db') });
  });

  describe('on PostgreSQL', () => {
    const target = suiteDatabase('postgresql');
    it('apply on a fresh database', async () => {
      await exercise(target);
    });
  });
});
