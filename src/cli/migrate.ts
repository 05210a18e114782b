/** `npm run migrate` applies pending migrations; `-- --status` lists applied and pending ones. */
import { migrateUp, openOrm } from '../db/orm.js';
import { parseCliArgs, type CliUsage } from './args.js';
import { cliConfig, runCli } from './shared.js';

const USAGE: CliUsage = {
  synopsis: 'npm run migrate [-- --status]',
  summary: 'Applies pending migrations to TMWS_DATABASE_URL (npm start does this too).',
  flags: [['--status', 'list applied and pending migrations instead of applying them']],
};

runCli(async () => {
  const values = parseCliArgs(USAGE, { status: { type: 'boolean', default: false } });
  const config = cliConfig();
  const orm = await openOrm(config.database.target);
  try {
    const migrator = orm.getMigrator();
    if (values.status) {
      // One after the other: on a new database each would create the migrations table, and on PostgreSQL two
      // concurrent CREATE TABLEs of the same name fail.
      const executed = await migrator.getExecutedMigrations();
      const pending = await migrator.getPendingMigrations();
      for (const m of executed) console.log(`applied  ${m.name}`);
      for (const m of pending) console.log(`pending  ${m.name}`);
      if (executed.length + pending.length === 0) console.log('no migrations');
      return;
    }
    const applied = await migrateUp(orm);
    console.log(applied.length ? applied.map((name) => `applied  ${name}`).join('\n') : 'database is up to date');
  } finally {
    await orm.close(true);
  }
});
