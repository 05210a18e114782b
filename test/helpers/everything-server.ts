import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { inject } from 'vitest';
import { freePort, waitForPort } from './net.js';

/**
 * The reference MCP server (`@modelcontextprotocol/server-everything`) as a
 * child process on a free port, for tests that want a real third-party server.
 *
 * ```ts
 * const everything = await startEverythingServer({ mode: 'streamableHttp' });
 * // everything.url === 'http://127.0.0.1:<port>/mcp'  ('…/sse' in sse mode)
 * await everything.restart();   // same port, fresh process: all sessions gone
 * await everything.stop();
 * ```
 * Tools used by the gateway tests: `echo {message}`, `get-sum {a, b}`,
 * `trigger-long-running-operation {duration (s), steps}` (progress per step).
 *
 * Most tests only need its URL: {@link sharedEverythingUrl} is the one server the
 * whole run shares (started by test/global-setup.ts). Start a private one to
 * restart or stop it.
 */
export type EverythingMode = 'streamableHttp' | 'sse';

export interface EverythingServer {
  readonly mode: EverythingMode;
  readonly port: number;
  /** Full MCP URL: `/mcp` for streamableHttp, `/sse` for sse. */
  readonly url: string;
  /** Pid of the current process (changes after `restart()`). */
  readonly pid: number;
  /** SIGTERM (SIGKILL after 3 s) and wait for the exit. Idempotent. */
  stop(): Promise<void>;
  /** Stops and starts a fresh process on the same port; resolves when it accepts TCP. */
  restart(): Promise<void>;
}

export interface EverythingOptions {
  mode: EverythingMode;
  /** Default: a free port. */
  port?: number;
  /** @default 20 s */
  readyTimeoutMs?: number;
}

const ENTRY = resolve(process.cwd(), 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

function launch(mode: EverythingMode, port: number): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [ENTRY, mode], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-2_000);
  });
  return { child, stderr: () => tail };
}

async function waitReady(child: ChildProcess, port: number, timeoutMs: number, stderr: () => string): Promise<void> {
  let onExit: ((code: number | null) => void) | undefined;
  const exited = new Promise<never>((_, reject) => {
    onExit = (code) => reject(new Error(`everything server exited early (${code}): ${stderr()}`));
    child.once('exit', onExit);
  });
  try {
    await Promise.race([waitForPort(port, timeoutMs), exited]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    if (onExit) child.off('exit', onExit);
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

export async function startEverythingServer(options: EverythingOptions): Promise<EverythingServer> {
  const { mode } = options;
  const port = options.port ?? (await freePort());
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  let current = launch(mode, port);
  await waitReady(current.child, port, readyTimeoutMs, current.stderr);

  return {
    mode,
    port,
    url: `http://127.0.0.1:${port}${mode === 'sse' ? '/sse' : '/mcp'}`,
    get pid() {
      return current.child.pid ?? -1;
    },
    stop: () => terminate(current.child),
    async restart() {
      await terminate(current.child);
      current = launch(mode, port);
      await waitReady(current.child, port, readyTimeoutMs, current.stderr);
    },
  };
}

/** The run's shared everything server (Streamable HTTP, `…/mcp`); never restart or stop it. */
export function sharedEverythingUrl(): string {
  return inject('everythingUrl');
}

declare module 'vitest' {
  export interface ProvidedContext {
    everythingUrl: string;
  }
}
