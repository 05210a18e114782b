/** `npm run migrate` applies pending migrations; `-- --status` lists applied and pending ones. */
import { parseArgs } from 'node:util';
import { migrateUp, openOrm } from '../db/orm.js';
import { cliConfig, runCli } from './shared.js';

runCli(async () => {
  const { values } = parseArgs({ options: { status: { type: 'boolean', default: false } } });
  const config = cliConfig();
  const orm = await openOrm(config.database);
  try {
    const migrator = orm.getMigrator();
    if (values.status) {
      const [executed, pending] = await Promise.all([migrator.getExecutedMigrations(), migrator.getPendingMigrations()]);
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
