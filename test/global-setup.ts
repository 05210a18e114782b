/**
 * One Chroma server for the whole test run (each gateway test uses its own
 * namespaces, so they never see each other's vectors). Tests that must kill
 * Chroma start a private one instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalChroma } from '../src/vectors/chroma-server.js';
import { createLogger } from '../src/observability/logger.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'tmws-chroma-'));
  const chroma = await startLocalChroma({ path: dir, logger: createLogger('warn') });
  project.provide('chromaUrl', chroma.url);
  return async () => {
    await chroma.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
