import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { stripVTControlCharacters } from 'node:util';
import type { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateUp, openOrm } from '../../src/db/orm.js';
import { ExecutionMaintenance, ExecutionRepository, type ExecutionListQuery } from '../../src/db/repositories/execution.repository.js';
import type { Logger } from '../../src/observability/logger.js';

/**
 * On SQLite every read runs on the event loop: a list or a count that reads a
 * namespace's whole history stalls every other tenant's calls for as long
 * (tens of milliseconds per 50,000 executions). Every query the executions
 * list sends — pages and counts, for an agent and an admin, with each filter,
 * before and after a cursor — is planned here as SQLite plans it: a page walks
 * an index in the list's order (only the id tie-break is sorted), a count
 * with at most one filter reads index entries only, and nothing scans the table.
 */

const agent = { agentId: 'planner', namespace: 'plans', role: 'agent' as const };
const admin = { agentId: 'boss', namespace: 'plans', role: 'admin' as const };
const FILTERS: Omit<ExecutionListQuery, 'limit'>[] = [
  {},
  { status: 'COMPLETED' },
  { connectionId: randomUUID() },
  { status: 'FAILED', connectionId: randomUUID() },
];

let dir: string;
let orm: MikroORM;
let repo: ExecutionRepository;
const statements: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tmws-plans-'));
  // MikroORM's query log inlines the parameters: each line is a statement SQLite can plan as it ran.
  const logger = { debug: (_fields: unknown, message: string) => statements.push(message) } as unknown as Logger;
  orm = await openOrm({ driver: 'sqlite', path: join(dir, 'plans.db') }, { echoSql: true, logger });
  await migrateUp(orm);
  repo = new ExecutionRepository(orm.em);
});
afterAll(async () => {
  await repo?.close();
  await orm?.close(true);
  rmSync(dir, { recursive: true, force: true });
});

/** The `select` statements on executions logged since `from`, without the log's colours and timing. */
function selectsSince(from: number): string[] {
  return statements
    .slice(from)
    .map((line) => stripVTControlCharacters(line))
    .map((line) => /^\[query\] (select .* from `executions` .*?)(?: \[took .*)?$/.exec(line)?.[1])
    .filter((sql): sql is string => sql !== undefined);
}

async function planOf(sql: string): Promise<string> {
  const plan: { detail: string }[] = await orm.em.getConnection().execute(`explain query plan ${sql}`);
  return plan.map((row) => row.detail).join(' | ');
}

describe('the executions list on SQLite', () => {
  it('pages in index order and counts from index entries, for every filter, caller and cursor', async () => {
    let planned = 0;
    for (const principal of [agent, admin]) {
      for (const filter of FILTERS) {
        for (const after of [undefined, { at: new Date(), id: randomUUID() }]) {
          const from = statements.length;
          await repo.list(principal, { ...filter, limit: 50, ...(after ? { after } : {}) });
          const [page, count, ...rest] = selectsSince(from);
          expect(rest).toEqual([]);
          const where = `${principal.role} ${JSON.stringify(filter)}${after ? ' after a cursor' : ''}`;

          const pagePlan = await planOf(page!);
          expect(pagePlan, `page, ${where}`).toMatch(/SEARCH e0 USING (COVERING )?INDEX executions_/);
          expect(pagePlan, `page, ${where}`).not.toMatch(/TEMP B-TREE FOR ORDER BY|SCAN e0/);

          const countPlan = await planOf(count!);
          expect(count, `count, ${where}`).toMatch(/^select count\(\*\)/);
          expect(countPlan, `count, ${where}`).toMatch(/SEARCH e0 USING (COVERING )?INDEX executions_/);
          expect(countPlan, `count, ${where}`).not.toContain('SCAN e0');
          if (Object.keys(filter).length <= 1) expect(countPlan, `count, ${where}`).toContain('COVERING INDEX');
          planned += 2;
        }
      }
    }
    expect(planned).toBe(32);
  });

  it('sweeps retention namespace by namespace through an index, never reading the whole table', async () => {
    for (const principal of [agent, { agentId: 'other', namespace: 'plans-too', role: 'agent' as const }]) {
      const started = {
        id: randomUUID(),
        connectionId: randomUUID(),
        toolName: 'echo',
        arguments: {},
        source: 'REST' as const,
        requestId: 'r',
      };
      await repo.insert(principal, { ...started, startedAt: new Date(Date.now() - 3_600_000) });
    }
    await repo.settled();
    const from = statements.length;
    // Nothing is old enough: the sweep every minute that finds nothing must cost next to nothing.
    expect(await new ExecutionMaintenance(orm.em).purgeOlderThan(new Date(Date.now() - 86_400_000))).toBe(0);
    const selects = selectsSince(from);
    expect(selects.length).toBeGreaterThanOrEqual(4); // per namespace: find it, look for expired rows; then no next one
    for (const sql of selects) {
      // SEARCH: a range of the index; SCAN … USING INDEX only for the first namespace, which stops at its first entry (limit 1).
      const plan = await planOf(sql);
      expect(plan, sql).toMatch(/^(SEARCH|SCAN) e0 USING (COVERING )?INDEX executions_namespace_started_index/);
      if (plan.startsWith('SCAN')) expect(sql).toMatch(/order by `e0`.`namespace` asc limit 1$/);
      expect(plan, sql).not.toContain('TEMP B-TREE');
    }
  });
});
