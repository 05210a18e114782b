import { spawnSync } from 'node:child_process';

/**
 * The deploy pack is checked by the real tools (SPEC §13). A missing tool fails the test with
 * what to install — never a silent skip: CI (.ci/run) installs them.
 */
export function requireTool(command: string, debianPackage: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || !path) {
    throw new Error(`${command} is not installed: apt-get install ${debianPackage} (.ci/run installs it when missing)`);
  }
  return path;
}

export interface ToolRun {
  status: number | null;
  /** stdout and stderr together, for assertion messages. */
  output: string;
}

/** Runs a checking tool synchronously (they take well under a second) and keeps all it said. */
export function runTool(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ToolRun {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000, ...options });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
