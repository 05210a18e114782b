/**
 * The gateway under test as a separate child process — the production build
 * (`node <flags> dist/main.js`, NODE_ENV=production, as deploy/systemd runs it) or
 * the sources (`node <flags> --import tsx src/main.ts`, as `npm start` runs them),
 * with the Node flags of the checkout's systemd unit —
 * configured the way SPEC §9 asks: development environment,
 * rate limiter on with a scale that never caps, authentication, execution
 * recording and metrics on. Its own SQLite file in a temporary folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { signAgentToken, secretKeyBytes } from '../src/auth/jwt.js';
import type { GatewayRuntime } from './options.js';
import { deployedNodeFlags } from '../test/helpers/built-gateway.js';
import { freePort, waitForPort } from '../test/helpers/net.js';

export type LimiterStore = 'memory' | 'redis';

export interface GatewayProcessOptions {
  store: LimiterStore;
  /** Required when `store` is `redis`. */
  redisUrl?: string;
  chromaUrl: string;
  /** `TMWS_EXECUTION_RETENTION`, e.g. `30s`; @default the gateway's own default */
  retention?: string;
  /** Folder for `--cpu-prof` output; no profiling when unset. */
  cpuProfileDir?: string;
  /** Folder for the child's stdout and stderr, as `<store>[@label].log`; only the last lines are kept (in memory) when unset. */
  outputDir?: string;
  /** @default 1000000 */
  rateLimitScale?: number;
  /** Extra Node flags for the gateway child (experiments, e.g. GC tuning). */
  nodeArgs?: string[];
  /** Checkout to run the gateway from (with its own node_modules). @default this checkout */
  root?: string;
  /** Appended to the store in target names (`rest/memory@before`). */
  label?: string;
  /** `build`: `dist/` of `root`, built beforehand (buildCheckout). @default 'tsx' */
  runtime?: GatewayRuntime;
}

export interface GatewayProcess {
  readonly store: LimiterStore;
  /** The store, plus `@label` for a gateway of another checkout: names its targets. */
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly token: string;
  readonly agentId: string;
  /** The settings the child runs with, for the report. */
  readonly settings: Record<string, string>;
  /** Bytes of the SQLite database, its WAL and shared-memory files. */
  databaseBytes(): { db: number; wal: number; total: number };
  /** SIGTERM (graceful: writes the CPU profile), SIGKILL after 20 s; removes the folder. */
  stop(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, '..');
const STARTUP_TIMEOUT_MS = 90_000;

/** Output tail of a child, quoted when it fails. */
function captureTail(child: ChildProcess): () => string {
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => tail;
}

/** Everything the child writes, to `<dir>/<name>.log` (replaced per run). */
function saveOutput(child: ChildProcess, dir: string, name: string): void {
  mkdirSync(dir, { recursive: true });
  const file = createWriteStream(join(dir, `${name}.log`));
  child.stdout?.pipe(file, { end: false });
  child.stderr?.pipe(file, { end: false });
  child.once('close', () => file.end());
}

async function runToCompletion(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = captureTail(child);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}: ${tail()}`);
  return tail();
}

async function waitForHealth(url: string, child: ChildProcess, tail: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  const port = Number(new URL(url).port);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`gateway exited during startup (${child.exitCode}): ${tail()}`);
    try {
      await waitForPort(port, 1_000);
      const response = await fetch(`${url}/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
  }
  throw new Error(`gateway did not become healthy within ${STARTUP_TIMEOUT_MS} ms: ${tail()}`);
}

/**
 * `npm run build` in a checkout, so its gateway runs as deployed. A checkout
 * from before the production build existed has no such script: run it with
 * `--runtime tsx` instead (both sides then run the same way).
 */
export async function buildCheckout(root: string = ROOT): Promise<void> {
  const manifest = JSON.parse(readFileSync(join(resolve(root), 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  if (!manifest.scripts?.build) throw new Error(`${root} has no "build" script: compare it with --runtime tsx`);
  const child = spawn('npm', ['run', '-s', 'build'], { cwd: resolve(root), stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = captureTail(child);
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`npm run build failed in ${root} (exit ${code}): ${tail()}`);
}

export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), `tmws-bench-${options.store}-`));
  const port = await freePort();
  const secret = randomBytes(32).toString('hex');
  const dbPath = join(dir, 'tmws.db');
  const settings: Record<string, string> = {
    TMWS_ENVIRONMENT: 'development',
    TMWS_RATE_LIMIT_SCALE: String(options.rateLimitScale ?? 1_000_000),
    TMWS_AUTH_ENABLED: 'true',
    TMWS_DATABASE_URL: `sqlite:///${dbPath}`,
    TMWS_CHROMA_URL: options.chromaUrl,
    TMWS_LOG_LEVEL: 'warn',
    TMWS_API_HOST: '127.0.0.1',
    TMWS_API_PORT: String(port),
    TMWS_DATA_DIR: dir,
  };
  if (options.store === 'redis') {
    if (!options.redisUrl) throw new Error('redis store needs a Redis URL');
    settings.TMWS_REDIS_URL = options.redisUrl;
  }
  if (options.retention) settings.TMWS_EXECUTION_RETENTION = options.retention;
  // Only our settings and the basics: a developer's own TMWS_* variables must not leak in.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('TMWS_') && !key.startsWith('REDIS_')),
  );
  const env: NodeJS.ProcessEnv = { ...inherited, ...settings, TMWS_SECRET_KEY: secret };
  const built = options.runtime === 'build';
  // As deployed (deploy/systemd/tmws.service): libraries skip their development-only checks.
  if (built) env.NODE_ENV = 'production';
  const entry = (source: string) => (built ? [source.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js')] : ['--import', 'tsx', source]);

  // The agent exists before the gateway starts (the CLI also applies the migrations).
  const agentId = `bench-${options.store}-${randomBytes(4).toString('hex')}`;
  const root = options.root ? resolve(options.root) : ROOT;
  await runToCompletion([...entry('src/cli/agent-create.ts'), '--agent-id', agentId, '--namespace', 'bench', '--name', agentId], env, root);

  const nodeArgs = [...deployedNodeFlags(root), ...(options.nodeArgs ?? [])];
  // Node names each thread's profile CPU.<date>.<time>.<pid>.<tid>.<seq>; the main thread is tid 0.
  if (options.cpuProfileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
  const child = spawn(process.execPath, [...nodeArgs, ...entry('src/main.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = captureTail(child);
  const name = options.label ? `${options.store}@${options.label}` : options.store;
  if (options.outputDir) saveOutput(child, options.outputDir, name);
  const url = `http://127.0.0.1:${port}`;
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    await waitForHealth(url, child, tail);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const token = await signAgentToken(agentId, secretKeyBytes(secret), 24 * 3600);

  const size = (path: string): number => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };

  return {
    store: options.store,
    name,
    url,
    pid: child.pid ?? -1,
    token,
    agentId,
    settings,
    databaseBytes() {
      const db = size(dbPath);
      const wal = size(`${dbPath}-wal`) + size(`${dbPath}-shm`);
      return { db, wal, total: db + wal };
    },
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
