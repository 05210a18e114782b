import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MikroORM, type Options } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import type { DatabaseTarget } from '../config/database-url.js';
import type { Logger } from '../observability/logger.js';
import { entities } from './entities/index.js';

const migrationsRoot = fileURLToPath(new URL('../../migrations', import.meta.url));

/** SQLite and PostgreSQL generate different DDL, so each dialect keeps its own folder. */
export function migrationsPath(target: DatabaseTarget): string {
  return target.driver === 'sqlite' ? migrationsRoot : `${migrationsRoot}/postgresql`;
}

export interface OrmOptions {
  echoSql?: boolean;
  logger?: Logger;
}

export function ormConfig(target: DatabaseTarget, options: OrmOptions = {}): Options {
  const common = {
    entities,
    extensions: [Migrator],
    debug: options.echoSql ?? false,
    logger: (message: string) => options.logger?.debug({ orm: true }, message),
    // MikroORM's own import() would bypass vitest's/tsx's loader; route it through this module.
    dynamicImportProvider: (id: string) => import(id),
    migrations: {
      path: migrationsPath(target),
      pathTs: migrationsPath(target),
      glob: '!(*.d).{js,ts}',
      emit: 'ts' as const,
      snapshot: false,
      silent: true,
      transactional: true,
      allOrNothing: true,
    },
    discovery: { warnWhenNoEntities: false },
  };
  if (target.driver === 'postgresql') {
    return { ...common, driver: PostgreSqlDriver, clientUrl: target.url, pool: { min: 0, max: 20 } };
  }
  if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
  return { ...common, driver: BetterSqliteDriver, dbName: target.path, pool: { min: 1, max: 1 } };
}

/** Opens the database; SQLite runs in WAL mode so readers never block the writer. */
export async function openOrm(target: DatabaseTarget, options: OrmOptions = {}): Promise<MikroORM> {
  const orm = await MikroORM.init(ormConfig(target, options));
  if (target.driver === 'sqlite') {
    const connection = orm.em.getConnection();
    await connection.execute('PRAGMA journal_mode = WAL');
    await connection.execute('PRAGMA synchronous = NORMAL');
    await connection.execute('PRAGMA busy_timeout = 5000');
    // WAL files never shrink by themselves: after a checkpoint, cut one that grew past 4 MiB back.
    await connection.execute('PRAGMA journal_size_limit = 4194304');
    await connection.execute('PRAGMA foreign_keys = ON');
  }
  return orm;
}

/** Applies pending migrations; returns the names applied. */
export async function migrateUp(orm: MikroORM): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}
