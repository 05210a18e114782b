/**
 * The database a test gateway runs on. The suite runs twice for the files that
 * matter most (isolation, executions, several instances): once on SQLite and once
 * on PostgreSQL (the `postgresql` project in vitest.config.ts), because a batch
 * that only PostgreSQL rejects is invisible on SQLite.
 *
 * PostgreSQL: `TMWS_TEST_POSTGRES_URL` (default postgresql://postgres@127.0.0.1:5432/postgres)
 * must allow CREATE DATABASE; each database is fresh and dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { openOrm } from '../../src/db/orm.js';

export type TestDialect = 'sqlite' | 'postgresql';

export const POSTGRES_ADMIN_URL = process.env.TMWS_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  dialect: TestDialect;
  /** A `TMWS_DATABASE_URL`. */
  url: string;
  /** Removes the database (PostgreSQL: DROP … WITH (FORCE); SQLite: its folder). */
  drop(): Promise<void>;
}

/** The dialect of the running vitest project. */
export function testDialect(): TestDialect {
  return inject('testDialect') ?? 'sqlite';
}

/** A fresh, empty database of the project's dialect (or of `dialect`). */
export async function createTestDatabase(dialect: TestDialect = testDialect()): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tmws-db-'));
    return {
      dialect,
      url: `sqlite:///${join(dir, 'tmws.db')}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `tmws_test_${randomBytes(6).toString('hex')}`;
  await adminExecute(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    dialect,
    url: url.href,
    drop: () => adminExecute(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {}),
  };
}

async function adminExecute(sql: string): Promise<void> {
  const admin = await openOrm({ driver: 'postgresql', url: POSTGRES_ADMIN_URL });
  try {
    await admin.em.getConnection().execute(sql);
  } finally {
    await admin.close(true);
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    testDialect: TestDialect;
  }
}
