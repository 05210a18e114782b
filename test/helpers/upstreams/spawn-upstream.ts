import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestUpstreamOptions, TestUpstreamState } from './test-upstream.js';

/**
 * The test upstream in a child process, for tests where the server must really
 * die (`crash` tool → process.exit, `kill()`), or come back on the same port
 * (`restart()`). Control goes through the side endpoints, so every helper is async.
 *
 * ```ts
 * const upstream = await spawnTestUpstream();
 * await upstream.kill();      // SIGKILL: sockets drop at once
 * await upstream.restart();   // same port, fresh process (no sessions)
 * ```
 */
export interface SpawnedTestUpstream {
  readonly url: string;
  readonly port: number;
  /** Pid of the current process (changes after `restart()`). */
  readonly pid: number;
  state(): Promise<TestUpstreamState>;
  addTool(name: string): Promise<void>;
  removeTool(name: string): Promise<void>;
  expireSessions(): Promise<void>;
  /** Resolves when the current process has exited (e.g. after the `crash` tool). */
  exited(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** Starts a fresh process on the same port (after kill/crash, or stops the live one first). */
  restart(): Promise<void>;
  /** SIGTERM (SIGKILL after 3 s). Idempotent. */
  stop(): Promise<void>;
}

export type SpawnOptions = Omit<TestUpstreamOptions, 'onCrash' | 'port'> & {
  port?: number;
  /** @default 20 s (the child compiles TypeScript through tsx) */
  readyTimeoutMs?: number;
};

const CHILD_ENTRY = fileURLToPath(new URL('./child-main.ts', import.meta.url));

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function launch(options: TestUpstreamOptions, timeoutMs: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD_ENTRY], {
    env: { ...process.env, TEST_UPSTREAM_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2_000);
  });
  return new Promise((resolveLaunch, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`test upstream did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`test upstream exited during start (${code}): ${stderr}`));
    };
    child.once('exit', onExit);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /READY (\d+)/.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout?.removeAllListeners('data');
      child.stdout?.resume();
      resolveLaunch({ child, port: Number(match[1]) });
    });
  });
}

async function waitExit(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  await new Promise<void>((r) => child.once('exit', () => r()));
}

export async function spawnTestUpstream(options: SpawnOptions = {}): Promise<SpawnedTestUpstream> {
  const { readyTimeoutMs = 20_000, ...upstreamOptions } = options;
  const launched = await launch(upstreamOptions, readyTimeoutMs);
  const { port } = launched;
  let { child } = launched;
  const host = upstreamOptions.host ?? '127.0.0.1';
  const origin = `http://${host}:${port}`;
  const side = async (path: string, method = 'POST'): Promise<unknown> => {
    const response = await fetch(`${origin}${path}`, { method });
    return response.json();
  };

  const handle: SpawnedTestUpstream = {
    url: `${origin}${upstreamOptions.path ?? '/mcp'}`,
    port,
    get pid() {
      return child.pid ?? -1;
    },
    state: async () => (await side('/_test/state', 'GET')) as TestUpstreamState,
    addTool: async (name) => void (await side(`/_test/tools?add=${encodeURIComponent(name)}`)),
    removeTool: async (name) => void (await side(`/_test/tools?remove=${encodeURIComponent(name)}`)),
    expireSessions: async () => void (await side('/_test/expire-sessions')),
    exited: () => waitExit(child),
    async kill() {
      if (isRunning(child)) child.kill('SIGKILL');
      await waitExit(child);
    },
    async restart() {
      await handle.stop();
      ({ child } = await launch({ ...upstreamOptions, port }, readyTimeoutMs));
    },
    async stop() {
      if (!isRunning(child)) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      child.kill('SIGTERM');
      await waitExit(child);
      clearTimeout(timer);
    },
  };
  return handle;
}
