/**
 * `npm run schema:print`: writes schema/schema.graphql from the Pothos schema
 * (sorted SDL). The file is checked in; a test fails when it drifts.
 * `--check` exits 1 instead of writing when the file is out of date.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { printGatewaySchema } from '../graphql/schema.js';

export const SCHEMA_PATH = resolve(process.cwd(), 'schema/schema.graphql');

function main(argv: string[]): number {
  const sdl = printGatewaySchema();
  if (argv.includes('--check')) {
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

process.exitCode = main(process.argv.slice(2));
