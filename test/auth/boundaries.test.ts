/**
 * `auth/` sits below the database: it declares the AgentLookup port and
 * `db/` implements it. An import from `auth/` into `db/` (or into a door or
 * the services) would make a folder loop, since `db/` imports the Principal.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const AUTH_DIR = resolve(import.meta.dirname, '../../src/auth');
const ALLOWED_FOLDERS = new Set(['auth', 'common', 'errors']);

/** Every relative import specifier of a TypeScript file (static, dynamic and type-only). */
function relativeImports(source: string): string[] {
  return [...source.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)].map((match) => match[1] ?? '');
}

describe('auth/ imports', () => {
  it('reach only auth/, common/ and errors/ (no db/, no doors, no services)', () => {
    const outside: string[] = [];
    for (const file of readdirSync(AUTH_DIR).filter((name) => name.endsWith('.ts'))) {
      for (const specifier of relativeImports(readFileSync(join(AUTH_DIR, file), 'utf8'))) {
        const folder =
          resolve(AUTH_DIR, specifier)
            .slice(resolve(AUTH_DIR, '..').length + 1)
            .split('/')[0] ?? '';
        if (!ALLOWED_FOLDERS.has(folder)) outside.push(`${file} → ${specifier}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('would notice an import into db/', () => {
    expect(relativeImports("import type { AgentRepository } from '../db/repositories/agent.repository.js';")).toEqual([
      '../db/repositories/agent.repository.js',
    ]);
  });
});
