/**
 * `npm run schema:print`: writes schema/schema.graphql from the Pothos schema
 * (sorted SDL). The file is checked in; a test fails when it drifts.
 * `--check` exits 1 instead of writing when the file is out of date.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { printGatewaySchema } from '../graphql/schema.js';
import { parseCliArgs, type CliUsage } from './args.js';

const USAGE: CliUsage = {
  synopsis: 'npm run schema:print [-- --check]',
  summary: 'Writes schema/schema.graphql (sorted SDL) from the Pothos schema.',
  flags: [['--check', 'write nothing; exit 1 when the file differs from the code']],
};

export const SCHEMA_PATH = resolve(process.cwd(), 'schema/schema.graphql');

function main(): number {
  const { check } = parseCliArgs(USAGE, { check: { type: 'boolean', default: false } });
  const sdl = printGatewaySchema();
  if (check) {
    const current = existsSync(SCHEMA_PATH) ? readFileSync(SCHEMA_PATH, 'utf8') : '';
    if (current === sdl) return 0;
    process.stderr.write(`${SCHEMA_PATH} is out of date: run npm run schema:print\n`);
    return 1;
  }
  mkdirSync(dirname(SCHEMA_PATH), { recursive: true });
  writeFileSync(SCHEMA_PATH, sdl);
  process.stdout.write(`wrote ${SCHEMA_PATH}\n`);
  return 0;
}

process.exitCode = main();
