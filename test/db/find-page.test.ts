/**
 * Keyset pages on the dialect of the running project: rows that share a
 * timestamp are paged by id, one at a time, with no repeat and no gap, and a
 * row written between two pages does not move the next one.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GovernanceAuditSchema, type GovernanceAudit } from '../../src/db/entities/index.js';
import { migrateUp, openOrm } from '../../src/db/orm.js';
import { findPage, type PagePosition } from '../../src/db/repositories/find-page.js';
import { suiteDatabase, testDialect } from '../helpers/database.js';

const target = suiteDatabase(testDialect());
let orm: Awaited<ReturnType<typeof openOrm>>;

beforeAll(async () => {
  orm = await openOrm(target);
  await migrateUp(orm);
});
afterAll(async () => {
  await orm?.close(true);
});

async function insert(namespace: string, createdAt: Date): Promise<string> {
  const em = orm.em.fork();
  const id = randomUUID();
  em.create(GovernanceAuditSchema, { id, namespace, actorAgentId: 'pager', action: 'policy_updated', details: {}, createdAt });
  await em.flush();
  return id;
}

const positionOf = (row: GovernanceAudit): PagePosition => ({ at: row.createdAt, id: row.id });

describe('findPage after a position', () => {
  it('pages through rows of one millisecond by id, then older rows, and ignores a row written meanwhile', async () => {
    const namespace = `pager-${randomUUID()}`;
    const same = new Date('2026-12-06T10:00:00.123Z');
    const older = new Date('2026-12-06T09:59:59.999Z');
    const tied = [];
    for (let i = 0; i < 5; i++) tied.push(await insert(namespace, same));
    const old = [await insert(namespace, older), await insert(namespace, older)];
    const expected = [...tied.sort(), ...old.sort()];

    const seen: string[] = [];
    let after: PagePosition | undefined;
    for (let page = 0; page < 10; page++) {
      const window = await findPage(orm.em.fork(), GovernanceAuditSchema, { namespace }, 'createdAt', {
        limit: 2,
        ...(after ? { after } : {}),
      });
      expect(window.total).toBe(expected.length + (page > 0 ? 1 : 0));
      seen.push(...window.rows.map((row) => row.id));
      if (page === 0) await insert(namespace, new Date(same.getTime() + 1)); // newer than every row: before the cursor
      if (!window.hasMore) break;
      after = positionOf(window.rows.at(-1)!);
    }
    expect(seen).toEqual(expected);
  });

  it('reads from an offset when no position is given (the REST list)', async () => {
    const namespace = `offset-${randomUUID()}`;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await insert(namespace, new Date(Date.UTC(2026, 11, 6, 12, 0, i))));
    const page = await findPage(orm.em.fork(), GovernanceAuditSchema, { namespace }, 'createdAt', { limit: 1, offset: 1 });
    expect(page.rows.map((row) => row.id)).toEqual([ids[1]]);
    expect(page).toMatchObject({ total: 3, hasMore: true });
  });
});
