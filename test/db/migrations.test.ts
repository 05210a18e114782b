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
 * Executions are listed newest first by `started_at` within a namespace: an index must cover that
 * order, or every page sorts the namespace's whole history. SQLite's plan shows a whole-order sort as
 * "USE TEMP B-TREE FOR ORDER BY" (only the id tie-break, "LAST TERM OF ORDER BY", is left to sort);
 * PostgreSQL's planner picks by table size, so there the index itself is checked.
 */
async function expectExecutionListIndexed(orm: Awaited<ReturnType<typeof openOrm>>, target: DatabaseTarget) {
  const connection = orm.em.getConnection();
  if (target.driver === 'sqlite') {
    // The first page, and a page after a cursor (find-page.ts's seek predicate).
    for (const seek of ['', 'and "started_at" <= ? and ("started_at" < ? or "id" > ?) ']) {
      const plan: { detail: string }[] = await connection.execute(
        `explain query plan select "id" from "executions" where "namespace" = ? and "agent_id" = ? ${seek}` +
          'order by "started_at" desc, "id" asc limit 21',
        seek ? ['mig', 'migrator', 1, 1, 'x'] : ['mig', 'migrator'],
      );
      const details = plan.map((row) => row.detail).join(' | ');
      expect(details).toContain('executions_namespace_started_index');
      expect(details).not.toContain('TEMP B-TREE FOR ORDER BY');
    }
  } else {
    const [index] = await connection.execute<{ indexdef: string }[]>(
      "select indexdef from pg_indexes where tablename = 'executions' and indexname = 'executions_namespace_started_index'",
    );
    expect(index?.indexdef).toMatch(/\(namespace, started_at\)/);
  }
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
