/**
 * Maintainer command: writes a migration for each dialect from the entity
 * definitions. SQLite uses an in-memory database; PostgreSQL needs a scratch
 * database URL (`--postgres postgresql://…`), since the diff is computed
 * against a live schema.
 */
import { openOrm } from '../db/orm.js';
import { parseCliArgs, type CliUsage } from './args.js';

const USAGE: CliUsage = {
  synopsis: 'npm run migration:create -- [--initial] [--postgres URL]',
  summary:
    'Maintainers: writes a migration per dialect from the entity definitions (SQLite in memory; PostgreSQL needs a scratch database).',
  flags: [
    ['--initial', 'write the initial migration instead of a diff'],
    ['--postgres URL', 'also write the PostgreSQL migration, diffed against this scratch database'],
  ],
};

const values = parseCliArgs(USAGE, { postgres: { type: 'string' }, initial: { type: 'boolean' } });

async function createFor(target: Parameters<typeof openOrm>[0]): Promise<void> {
  const orm = await openOrm(target);
  try {
    const migrator = orm.getMigrator();
    await migrator.up();
    const result = values.initial ? await migrator.createInitialMigration() : await migrator.createMigration();
    console.log(result.fileName ? `${target.driver}: wrote ${result.fileName}` : `${target.driver}: no changes`);
  } finally {
    await orm.close(true);
  }
}

await createFor({ driver: 'sqlite', path: ':memory:' });
if (values.postgres) await createFor({ driver: 'postgresql', url: values.postgres });
