/**
 * Set-up shared by the whole test run:
 * - one temporary root for everything the run writes (os.tmpdir() points there for the test
 *   workers and their child processes), removed at the end, so no run leaves folders behind;
 * - one Chroma server (each gateway test uses its own namespaces, so they never see each
 *   other's vectors). Tests that must kill Chroma start a private one instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalChroma } from '../src/vectors/chroma-server.js';
import { createLogger } from '../src/observability/logger.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = mkdtempSync(join(tmpdir(), 'tmws-run-'));
  const previousTmpdir = process.env.TMPDIR;
  // Inherited by the forked test workers, which start after the global set-up.
  process.env.TMPDIR = root;
  const chroma = await startLocalChroma({ path: join(root, 'chroma'), logger: createLogger('warn') });
  project.provide('chromaUrl', chroma.url);
  return async () => {
    await chroma.stop();
    if (previousTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmpdir;
    rmSync(root, { recursive: true, force: true });
  };
}
