/**
 * Fresh databases for tests that must behave alike on both dialects. Register the
 * hooks inside a `describe`; the database is created before its tests and dropped after.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll } from 'vitest';
import type { DatabaseTarget } from '../../src/config/database-url.js';
import { openOrm } from '../../src/db/orm.js';

/** The PostgreSQL server of the test machine (trust auth); a database per test file is created on it. */
export const POSTGRES_ADMIN_URL = process.env.TMWS_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** A SQLite file in a temporary folder, removed after the suite. */
export function freshSqliteDatabase(): DatabaseTarget {
  const dir = mkdtempSync(join(tmpdir(), 'tmws-db-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { driver: 'sqlite', path: join(dir, 'test.db') };
}

/** A new, empty PostgreSQL database for the suite, dropped (with its connections) afterwards. */
export function freshPostgresDatabase(): DatabaseTarget {
  const database = `tmws_test_${randomBytes(4).toString('hex')}`;
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${database}`;
  let admin: MikroORM | undefined;
  beforeAll(async () => {
    admin = await openOrm({ driver: 'postgresql', url: POSTGRES_ADMIN_URL });
    await admin.em.getConnection().execute(`CREATE DATABASE ${database}`);
  });
  afterAll(async () => {
    await admin?.em.getConnection().execute(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    await admin?.close(true);
  });
  return { driver: 'postgresql', url: url.href };
}
