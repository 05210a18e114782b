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

class PortTakenError extends Error {}

/** @default 10 s — a cold redis-server is ready in well under a second. */
const DEFAULT_READY_TIMEOUT_MS = 10_000;

/**
 * Sends one inline command over a raw socket and reads the answer as it arrives: `read` returns the
 * result once it has enough of it. Undefined when nothing answers in time.
 */
function askRedis<T>(port: number, command: string, read: (answer: string) => T | undefined, timeoutMs: number): Promise<T | undefined> {
  return new Promise((resolveAnswer) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let answer = '';
    const done = (result: T | undefined): void => {
      socket.destroy();
      resolveAnswer(result);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      const result = read(answer);
      if (result !== undefined) done(result);
    });
  });
}

/** Resolves once `PING` over a raw socket answers `+PONG`. */
async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await askRedis(port, 'PING', (answer) => answer.startsWith('+PONG'), 500)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid of the redis-server answering on `port` (`INFO server`), or undefined when nothing answers. */
export function pidOnPort(port: number): Promise<number | undefined> {
  return askRedis(
    port,
    'INFO server',
    (answer) => {
      const pid = /^process_id:(\d+)\r?$/m.exec(answer)?.[1];
      return pid === undefined ? undefined : Number(pid);
    },
    2_000,
  );
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

/** Fresh ports tried when the one picked was taken before redis-server could bind it. */
const PORT_ATTEMPTS = 3;

/**
 * Starts a private, non-persistent redis-server on a free loopback port. `args` are more of its
 * command-line settings, e.g. `['--rename-command', 'CLIENT', '']` for a server without CLIENT.
 */
export async function startRedis(options: { args?: string[] } = {}): Promise<RedisTestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tmws-redis-'));
  let port = await freePort();
  let child: ChildProcess;
  let paused = false;

  /**
   * Starts redis-server on `port` and makes sure the server answering there is ours: when the port was
   * taken meanwhile (another file's private Redis, started or restarted at the same moment), ours fails
   * to bind and exits, and a PONG alone would come from that other server — which its own test may
   * pause or kill under this one.
   */
  const launch = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir],
        ...(options.args ?? []),
      ],
      { stdio: 'ignore' },
    );
    const spawnFailure = new Promise<never>((_, reject) => child.once('error', reject));
    await Promise.race([waitForPong(port, DEFAULT_READY_TIMEOUT_MS), spawnFailure]);
    const answering = await pidOnPort(port);
    if (answering !== child.pid) {
      signal('SIGKILL');
      await exited(child);
      throw new PortTakenError(`port ${port} is answered by redis-server pid ${answering}, not ours (pid ${child.pid})`);
    }
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

  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === PORT_ATTEMPTS) throw error;
      port = await freePort();
    }
  }

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
