/**
 * The gateway as production runs it: compiled by the build's own tsconfig files into a private
 * folder of the checkout (so node_modules resolves; `.tmp-*` is ignored by git) and started with
 * plain `node`, no tsx. Types are checked by `npm run typecheck` (pretest); here `--noCheck`
 * keeps the build to the emit, a few seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { eventually } from './eventually.js';

const root = process.cwd();
const tsc = join(root, 'node_modules/typescript/bin/tsc');

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} failed (${code}): ${output}`))));
  });
}

export interface Build {
  /** The outDir: main.js, cli/*.js, migrations/. */
  dir: string;
  remove(): void;
}

/** `npm run build`'s two compilations, into a fresh folder, side by side. */
export async function buildGateway(): Promise<Build> {
  const dir = mkdtempSync(join(root, '.tmp-build-'));
  await Promise.all([
    run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dir, '--noCheck']),
    run(process.execPath, [tsc, '-p', 'tsconfig.migrations.json', '--outDir', join(dir, 'migrations'), '--noCheck']),
  ]);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The Node flags a checkout's gateway is deployed with: those between `node`
 * and the script on `ExecStart` of its deploy/systemd/tmws.service (none for a
 * checkout without the unit). Each gateway of a `--compare` runs with its own
 * checkout's flags, as it would run in service.
 */
export function deployedNodeFlags(checkout: string): string[] {
  let unit: string;
  try {
    unit = readFileSync(join(resolve(checkout), 'deploy/systemd/tmws.service'), 'utf8');
  } catch {
    return [];
  }
  const execStart = /^ExecStart=\S+((?:\s+-\S+)*)\s+\S+main\.js\s*$/m.exec(unit);
  return execStart?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}

export interface NodeProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  /** Signals the process (SIGTERM by default) and waits for its exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** `node [nodeFlags] <script> <args>` with only `env` (plus PATH) as its environment. */
export function startNode(script: string, args: string[], env: Record<string, string>, nodeFlags: string[] = []): NodeProcess {
  const child = spawn(process.execPath, [...nodeFlags, script, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs a CLI to completion; resolves with its stdout, rejects with its output on a non-zero exit. */
export async function runNode(script: string, args: string[], env: Record<string, string>): Promise<string> {
  const cli = startNode(script, args, env);
  const code = await cli.exited;
  if (code !== 0) throw new Error(`${script} exited ${code}: ${cli.output()}`);
  return cli.output();
}

/** Waits until `url`/health answers 200 (or the process exits first). */
export async function waitHealthy(url: string, process: NodeProcess, timeoutMs = 60_000): Promise<void> {
  let exit: number | string | undefined;
  void process.exited.then((code) => (exit = code));
  await eventually(
    async () => {
      if (exit !== undefined) throw new Error(`gateway exited (${exit}) before it was healthy: ${process.output()}`);
      const response = await fetch(`${url}/health`).catch(() => undefined);
      return response?.status === 200;
    },
    timeoutMs,
    `${url}/health`,
  );
}
