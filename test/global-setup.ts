/**
 * Set-up shared by the whole test run:
 * - one temporary root for everything the run writes (os.tmpdir() points there for the test
 *   workers and their child processes), removed at the end, so no run leaves folders behind;
 * - one Chroma server (each gateway test uses its own namespaces and collection prefix, so they
 *   never see each other's vectors). Tests that must kill Chroma start a private one instead;
 * - one reference MCP server (`@modelcontextprotocol/server-everything`, Streamable HTTP): every
 *   gateway opens its own sessions on it and no test changes its state. Tests that restart or
 *   stop an upstream start a private one instead.
 *
 * Vitest calls this once per project (SQLite, PostgreSQL) in the same process: the projects
 * share one run, started by the first call and stopped after the last teardown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalChroma, type ChromaEndpoint } from '../src/vectors/chroma-server.js';
import { createLogger } from '../src/observability/logger.js';
import { startEverythingServer, type EverythingServer } from './helpers/everything-server.js';

interface TestRun {
  root: string;
  previousTmpdir: string | undefined;
  chroma: ChromaEndpoint;
  everything: EverythingServer;
}

const shared = globalThis as typeof globalThis & { tmwsTestRun?: Promise<TestRun>; tmwsTestRunUsers?: number };

async function startRun(): Promise<TestRun> {
  const root = mkdtempSync(join(tmpdir(), 'tmws-run-'));
  const previousTmpdir = process.env.TMPDIR;
  // Inherited by the forked test workers, which start after the global set-up.
  process.env.TMPDIR = root;
  const [chroma, everything] = await Promise.all([
    startLocalChroma({ path: join(root, 'chroma'), logger: createLogger('warn') }),
    startEverythingServer({ mode: 'streamableHttp' }),
  ]);
  return { root, previousTmpdir, chroma, everything };
}

async function stopRun({ root, previousTmpdir, chroma, everything }: TestRun): Promise<void> {
  await Promise.all([chroma.stop(), everything.stop()]);
  if (previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmpdir;
  rmSync(root, { recursive: true, force: true });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  shared.tmwsTestRunUsers = (shared.tmwsTestRunUsers ?? 0) + 1;
  shared.tmwsTestRun ??= startRun();
  const run = await shared.tmwsTestRun;
  project.provide('chromaUrl', run.chroma.url);
  project.provide('everythingUrl', run.everything.url);
  return async () => {
    shared.tmwsTestRunUsers = (shared.tmwsTestRunUsers ?? 1) - 1;
    if (shared.tmwsTestRunUsers > 0) return;
    shared.tmwsTestRun = undefined;
    await stopRun(run);
  };
}
