import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MikroORM, type Options } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import type { DatabaseTarget } from '../config/database-url.js';
import type { Logger } from '../observability/logger.js';
import { entities } from './entities/index.js';

/**
 * From source (tsx, vitest) this file is src/db/orm.ts and the migrations are the
 * repository's migrations/ folder; built (`npm run build`) it is dist/db/orm.js and
 * they are compiled beside it into dist/migrations/, so `node dist/main.js` needs no tsx.
 */
const compiled = import.meta.url.endsWith('.js');
const migrationsRoot = fileURLToPath(new URL(compiled ? '../migrations' : '../../migrations', import.meta.url));

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
  if (target.path !== ':memory:') createOwnerOnly(target.path);
  return { ...common, driver: BetterSqliteDriver, dbName: target.path, pool: { min: 1, max: 1 } };
}

/**
 * SPEC §14: the database holds every tenant's arguments and results, so its
 * folder is created 0700 and its file 0600 before SQLite opens it; SQLite
 * gives its -wal and -shm files the database file's mode. A file that exists
 * already is tightened to 0600 (a folder that exists is left alone: it may be
 * shared, like /tmp).
 */
function createOwnerOnly(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
}

/**
 * Opens the database. SQLite runs in WAL mode so readers never block the
 * writer, with `synchronous = FULL`: a transaction is on disk when its
 * commit returns, so whatever a caller saw acknowledged survives a power
 * loss too (NORMAL could lose the last commits; SPEC §10). The execution
 * write queue, the one hot writer, reaches the same durability with an
 * fdatasync off the main thread instead (see wal-sync.ts).
 */
export async function openOrm(target: DatabaseTarget, options: OrmOptions = {}): Promise<MikroORM> {
  const orm = await MikroORM.init(ormConfig(target, options));
  if (target.driver === 'sqlite') {
    const connection = orm.em.getConnection();
    await connection.execute('PRAGMA journal_mode = WAL');
    await connection.execute('PRAGMA synchronous = FULL');
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
