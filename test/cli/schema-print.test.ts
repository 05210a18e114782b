/** `npm run schema:print -- --check` tells a maintainer when the checked-in SDL drifted, without writing. */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function check(cwd: string) {
  return spawnSync(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'src/cli/print-schema.ts'), '--check'], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('schema:print --check', () => {
  it('passes on the checked-in SDL and fails, naming the fix, on a drifted copy it leaves untouched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmws-sdl-'));
    mkdirSync(join(dir, 'schema'));
    const sdl = join(dir, 'schema/schema.graphql');
    copyFileSync(join(ROOT, 'schema/schema.graphql'), sdl);
    expect(check(dir).status).toBe(0);

    const drifted = readFileSync(sdl, 'utf8').replace('type Query {', 'type Query {\n  removedLater: Int');
    writeFileSync(sdl, drifted);
    const result = check(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/out of date: run npm run schema:print/);
    expect(readFileSync(sdl, 'utf8')).toBe(drifted);
  });
});
