/**
 * Fresh databases for tests. The suite runs twice for the files that matter most
 * (isolation, executions, several instances): once on SQLite and once on PostgreSQL
 * (the `postgresql` project in vitest.config.ts), because a batch that only
 * PostgreSQL rejects is invisible on SQLite.
 *
 * PostgreSQL: `TMWS_TEST_POSTGRES_URL` (default postgresql://postgres@127.0.0.1:5432/postgres)
 * must allow CREATE DATABASE; each database is fresh and dropped afterwards, even
 * while gateways still hold connections to it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import type { DatabaseTarget } from '../../src/config/database-url.js';
import { openOrm } from '../../src/db/orm.js';

export type TestDialect = 'sqlite' | 'postgresql';

export const POSTGRES_ADMIN_URL = process.env.TMWS_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  dialect: TestDialect;
  /** A `TMWS_DATABASE_URL`. */
  url: string;
  /** The same database for `openOrm`. */
  target: DatabaseTarget;
  /** Creates it (PostgreSQL; a SQLite file appears on first open). */
  create(): Promise<void>;
  /** Removes it (PostgreSQL: DROP … WITH (FORCE); SQLite: its folder). */
  drop(): Promise<void>;
}

/** The dialect of the running vitest project. */
export function testDialect(): TestDialect {
  return inject('testDialect') ?? 'sqlite';
}

/** Names a fresh database of `dialect` without creating it yet. */
export function describeTestDatabase(dialect: TestDialect = testDialect()): TestDatabase {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tmws-db-'));
    const path = join(dir, 'tmws.db');
    return {
      dialect,
      url: `sqlite:///${path}`,
      target: { driver: 'sqlite', path },
      create: async () => {},
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `tmws_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    dialect,
    url: url.href,
    target: { driver: 'postgresql', url: url.href },
    create: () => adminExecute(`CREATE DATABASE ${name}`),
    drop: () => adminExecute(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {}),
  };
}

/** A fresh, empty database of the project's dialect (or of `dialect`). */
export async function createTestDatabase(dialect: TestDialect = testDialect()): Promise<TestDatabase> {
  const database = describeTestDatabase(dialect);
  await database.create();
  return database;
}

/** A fresh database for the enclosing `describe`: created before its tests, dropped after them. */
export function suiteDatabase(dialect: TestDialect): DatabaseTarget {
  const database = describeTestDatabase(dialect);
  beforeAll(() => database.create());
  afterAll(() => database.drop());
  return database.target;
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
