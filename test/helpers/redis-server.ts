import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';

/**
 * A private redis-server for tests that must pause, kill or restart Redis
 * without disturbing anything else. It runs in the foreground as our child
 * (`--daemonize no`) so every signal goes to a pid we own.
 */
export interface RedisTestServer {
  readonly url: string;
  readonly port: number;
  /** Pid of the current redis-server process (changes after `restart()`). */
  readonly pid: number;
  /** Stops the server for good (SIGTERM, SIGKILL after 2 s) and removes its folder. */
  stop(): Promise<void>;
  /** SIGSTOP: the socket stays open but nothing answers, like a hung Redis. */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** SIGKILL: connections drop at once. */
  kill(): Promise<void>;
  /** Starts a fresh (empty) server on the same port after `kill()` or `stop()`-less death. */
  restart(): Promise<void>;
}

/** @default 10 s — a cold redis-server is ready in well under a second. */
const DEFAULT_READY_TIMEOUT_MS = 10_000;

/** Resolves once `PING` over a raw socket answers `+PONG`. */
async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolvePing) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      const done = (result: boolean): void => {
        socket.destroy();
        resolvePing(result);
      };
      socket.setTimeout(500, () => done(false));
      socket.once('error', () => done(false));
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

/** Starts a private, non-persistent redis-server on a free loopback port. */
export async function startRedis(): Promise<RedisTestServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tmws-redis-'));
  let child: ChildProcess;
  let paused = false;

  const launch = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    const spawnFailure = new Promise<never>((_, reject) => child.once('error', reject));
    await Promise.race([waitForPong(port, DEFAULT_READY_TIMEOUT_MS), spawnFailure]);
  };

  const signal = (name: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, name);
  };

  const killNow = async (): Promise<void> => {
    if (paused) signal('SIGCONT');
    paused = false;
    signal('SIGKILL');
    await exited(child);
  };

  // A test that fails half-way must not leave a stopped redis-server behind.
  const onExit = (): void => {
    try {
      signal('SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);

  await launch();

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? -1;
    },
    async stop() {
      process.removeListener('exit', onExit);
      if (paused) signal('SIGCONT');
      paused = false;
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), 2_000);
      await exited(child);
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
    pause() {
      signal('SIGSTOP');
      paused = true;
    },
    resume() {
      signal('SIGCONT');
      paused = false;
    },
    kill: killNow,
    async restart() {
      await killNow();
      await launch();
    },
  };
}
