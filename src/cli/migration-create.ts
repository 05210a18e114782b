/**
 * Maintainer command: writes a migration for each dialect from the entity
 * definitions. SQLite uses an in-memory database; PostgreSQL needs a scratch
 * database URL (`--postgres postgresql://…`), since the diff is computed
 * against a live schema.
 */
import { parseArgs } from 'node:util';
import { openOrm } from '../db/orm.js';

const { values } = parseArgs({ options: { postgres: { type: 'string' }, initial: { type: 'boolean' } } });

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
