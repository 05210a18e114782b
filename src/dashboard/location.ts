import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the dashboard's sources and its build live: in the package's folder,
 * found by walking up from this module to the nearest package.json, so it works
 * from src/ (tsx) and from a compiled dist/ alike, whatever the working directory.
 */
function packageRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(folder, 'package.json'))) return folder;
    const parent = dirname(folder);
    if (parent === folder) return process.cwd();
    folder = parent;
  }
}

const root = packageRoot();

export const DASHBOARD_SOURCE = join(root, 'dashboard');
/** The build output (not committed): index.html and assets/ with content-hashed names. */
export const DASHBOARD_BUILD = join(root, 'build', 'dashboard');
