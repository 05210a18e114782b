import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { settleWithin } from '../common/deadline.js';
import type { Logger } from '../observability/logger.js';

/** A running Chroma server; `url` stays the same across automatic restarts. */
export interface ChromaEndpoint {
  url: string;
  /** Process id of the current server process (changes after a restart); undefined while it is down. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface LocalChromaOptions {
  /** Data folder; created when missing. */
  path: string;
  logger: Logger;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default a free port chosen by the OS */
  port?: number;
  /** Restart the server (with backoff) when it exits without `stop()`. @default true */
  restartOnExit?: boolean;
  /** How long to wait for the first heartbeat. @default DEFAULT_CHROMA_STARTUP_TIMEOUT_MS */
  startupTimeoutMs?: number;
}

/** @default 30 s — a cold start on a busy CI machine may take several seconds. */
export const DEFAULT_CHROMA_STARTUP_TIMEOUT_MS = 30_000;
/** Time between SIGTERM and SIGKILL in `stop()`. */
export const DEFAULT_CHROMA_STOP_GRACE_MS = 5_000;
/** First and largest delay between restarts of a server that keeps dying. */
export const CHROMA_RESTART_BACKOFF_MS = { initial: 500, max: 30_000 } as const;
/** A server that stayed up this long is considered healthy again; the backoff resets. */
const STABLE_UPTIME_MS = 60_000;
const HEARTBEAT_POLL_MS = 100;

/** Path of the `chroma` CLI shipped by the chromadb npm package (it loads the native server binding). */
export function chromaCliPath(): string {
  // chromadb's "exports" hide package.json, so walk up from its entry point to find it.
  let dir = dirname(createRequire(import.meta.url).resolve('chromadb'));
  for (;;) {
    const manifestPath = join(dir, 'package.json');
    if (existsSync(manifestPath)) {
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name?: string; bin?: Record<string, string> };
      const bin = manifest.bin?.['chroma'];
      if (manifest.name === 'chromadb' && bin) return join(dir, bin);
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the chroma CLI of the chromadb package');
    dir = parent;
  }
}

/** Asks the OS for a free TCP port on `host`. */
export async function findFreePort(host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen({ host, port: 0 }, () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

/**
 * Fails when something already listens on `port`: its heartbeat would answer for
 * ours and we would report a server that never started as ready.
 */
async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolveFree, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`cannot start Chroma: ${host}:${port} is not available (${error.code ?? error.message})`)),
    );
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolveFree()));
  });
}

async function heartbeatOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/api/v2/heartbeat`, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Starts the Chroma server from the npm binding (used when `TMWS_CHROMA_URL` is unset)
 * and resolves once it answers its heartbeat. If the process dies unexpectedly it is
 * restarted on the same port with exponential backoff; `stop()` ends it for good.
 */
export async function startLocalChroma(opts: LocalChromaOptions): Promise<ChromaEndpoint> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await findFreePort(host));
  const dataPath = resolve(opts.path);
  mkdirSync(dataPath, { recursive: true, mode: 0o700 });
  const server = new LocalChromaProcess({
    cli: chromaCliPath(),
    dataPath,
    host,
    port,
    logger: opts.logger.child({ component: 'chroma-server' }),
    restartOnExit: opts.restartOnExit ?? true,
    startupTimeoutMs: opts.startupTimeoutMs ?? DEFAULT_CHROMA_STARTUP_TIMEOUT_MS,
  });
  await server.start();
  return server;
}

interface ProcessSettings {
  cli: string;
  dataPath: string;
  host: string;
  port: number;
  logger: Logger;
  restartOnExit: boolean;
  startupTimeoutMs: number;
}

class LocalChromaProcess implements ChromaEndpoint {
  readonly url: string;
  private child: ChildProcess | undefined;
  private stopping = false;
  /** Restarts only make sense for a server that worked once; a failed first start is the caller's error. */
  private everReady = false;
  private restartDelayMs: number = CHROMA_RESTART_BACKOFF_MS.initial;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  /** Last lines of the server's output, quoted when it fails to start. */
  private outputTail: string[] = [];

  constructor(private readonly settings: ProcessSettings) {
    // Chroma's URL host needs brackets for IPv6 literals.
    const urlHost = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
    this.url = `http://${urlHost}:${settings.port}`;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  async start(): Promise<void> {
    await assertPortFree(this.settings.host, this.settings.port);
    if (this.stopping) throw new Error('Chroma was stopped while starting');
    const child = this.spawnServer();
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const deadline = Date.now() + this.settings.startupTimeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      if (await heartbeatOk(this.url)) {
        this.everReady = true;
        this.settings.logger.info({ url: this.url, pid: child.pid, path: this.settings.dataPath }, 'chroma ready');
        return;
      }
      await settleWithin(exited, HEARTBEAT_POLL_MS, undefined);
    }
    const running = child.exitCode === null && child.signalCode === null;
    if (running) await this.kill(child);
    throw new Error(
      `Chroma did not become ready on ${this.url} (${running ? 'timed out' : `exited with ${child.exitCode ?? child.signalCode}`}): ${this.outputTail.join(' | ')}`,
    );
  }

  private spawnServer(): ChildProcess {
    const { cli, dataPath, host, port } = this.settings;
    const args = [cli, 'run', '--path', dataPath, '--host', host, '--port', String(port)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.startedAt = Date.now();
    this.outputTail = [];
    const remember = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        const trimmed = line.trim();
        if (trimmed) this.outputTail = [...this.outputTail.slice(-9), trimmed];
      }
    };
    child.stdout?.on('data', remember);
    child.stderr?.on('data', remember);
    child.on('error', (error) => this.settings.logger.error({ err: error }, 'chroma process error'));
    // If the gateway exits without stop() (crash, process.exit), do not leave Chroma orphaned.
    const killOnParentExit = () => child.kill('SIGKILL');
    process.once('exit', killOnParentExit);
    child.once('exit', (code, signal) => {
      process.removeListener('exit', killOnParentExit);
      this.onExit(child, code, signal);
    });
    return child;
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || child !== this.child || !this.settings.restartOnExit || !this.everReady) return;
    if (Date.now() - this.startedAt > STABLE_UPTIME_MS) this.restartDelayMs = CHROMA_RESTART_BACKOFF_MS.initial;
    this.settings.logger.warn({ code, signal, output: this.outputTail }, 'chroma exited unexpectedly; restarting');
    this.scheduleRestart();
  }

  /** One pending restart at a time; each failed attempt (died early, port taken) schedules the next. */
  private scheduleRestart(): void {
    if (this.restartTimer || this.stopping) return;
    const wait = this.restartDelayMs;
    this.restartDelayMs = Math.min(wait * 2, CHROMA_RESTART_BACKOFF_MS.max);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.start().catch((error: unknown) => {
        this.settings.logger.error({ err: error, retryInMs: this.restartDelayMs }, 'chroma restart failed');
        this.scheduleRestart();
      });
    }, wait);
    this.restartTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (child) await this.kill(child);
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
  private async kill(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const graceful = await settleWithin(
      gone.then(() => true),
      DEFAULT_CHROMA_STOP_GRACE_MS,
      false,
    );
    if (!graceful) {
      child.kill('SIGKILL');
      await gone;
    }
  }
}
