/**
 * A fresh PostgreSQL database per test file (the local server, trust auth),
 * dropped afterwards even when gateways still hold connections to it.
 */
import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/core';
import { openOrm } from '../../src/db/orm.js';

const POSTGRES_ADMIN_URL = process.env.TMWS_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestPostgresDatabase {
  /** `postgresql://…/tmws_test_<random>`, for TMWS_DATABASE_URL. */
  url: string;
  drop(): Promise<void>;
}

export async function createPostgresDatabase(): Promise<TestPostgresDatabase> {
  const name = `tmws_test_${randomBytes(4).toString('hex')}`;
  const admin: MikroORM = await openOrm({ driver: 'postgresql', url: POSTGRES_ADMIN_URL });
  await admin.em.getConnection().execute(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      await admin.em.getConnection().execute(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.close(true);
    },
  };
}
