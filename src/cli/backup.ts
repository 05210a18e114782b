/** `npm run backup -- --out FILE`: a consistent online copy of the SQLite database (VACUUM INTO). */
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { openOrm } from '../db/orm.js';
import { parseCliArgs, type CliUsage } from './args.js';
import { cliConfig, fail, runCli } from './shared.js';

const USAGE: CliUsage = {
  synopsis: 'npm run backup -- --out FILE',
  summary: 'Writes a consistent online copy of the SQLite database (VACUUM INTO) while the gateway runs; prints {backup, bytes}.',
  flags: [['--out FILE', 'the new file (an existing file is never overwritten)']],
};

runCli(async () => {
  const values = parseCliArgs(USAGE, { out: { type: 'string' } });
  if (!values.out) fail('--out FILE is required');
  const out = resolve(values.out);
  if (existsSync(out)) fail(`${out} already exists; choose a new file`);
  const config = cliConfig();
  if (config.database.target.driver !== 'sqlite') fail('backup copies SQLite databases; use pg_dump for PostgreSQL');
  const orm = await openOrm(config.database.target);
  try {
    // Owner-only from its first byte (SPEC §14): VACUUM INTO fills an empty file it finds, keeping its mode.
    closeSync(openSync(out, 'wx', 0o600));
    // VACUUM INTO reads one consistent snapshot while the gateway keeps writing (WAL).
    await orm.em.getConnection().execute('VACUUM INTO ?', [out]);
  } finally {
    await orm.close(true);
  }
  console.log(JSON.stringify({ backup: out, bytes: statSync(out).size }));
});
