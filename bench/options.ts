import { parseArgs } from 'node:util';
import type { LimiterStore } from './gateway-process.js';

/** Warm-up per target, at C=8 and then at C=1 when C=1 is measured, before anything is measured. */
export const DEFAULT_WARMUP_SECONDS = 10;

/** Flags of `npm run bench -- …`; defaults give a full run of about eight minutes. */
export interface BenchOptions {
  /** Seconds per measured segment (one target, one concurrency, one round). @default 2 */
  durationSeconds: number;
  /** Rounds of interleaved segments per concurrency. @default 4 */
  rounds: number;
  /** @default [1, 8, 32, 128] */
  concurrency: number[];
  /** Limiter stores, one gateway child each. @default ['memory', 'redis'] */
  stores: LimiterStore[];
  /**
   * Gateway doors measured against direct (e.g. only `graphql` while profiling it): `rest` execute,
   * `graphql` executeTool selecting `{ id status isError }`, `graphql-row` selecting a dashboard's row
   * (every leaf of the execution and its connection), `mcp` tools/call on /mcp. @default ['rest', 'graphql', 'graphql-row', 'mcp']
   */
  apis: GatewayApi[];
  /** Unset: a private redis-server child. */
  redisUrl: string | undefined;
  /** Unmeasured warm-up per target before the matrix, at C=8 and again at C=1 when C=1 is measured. @default 10 */
  warmupSeconds: number;
  /** Executions for the soak run; 0 runs the throughput matrix instead. */
  soak: number;
  /** TMWS_EXECUTION_RETENTION of the soak gateway. @default '15s' */
  retention: string;
  /** Callers during the soak. @default 32 */
  soakConcurrency: number;
  /** Folder for `--cpu-prof` of the gateway children; no profiling when unset. */
  profileDir: string | undefined;
  /** Folder for each gateway child's stdout and stderr (`<name>.log`), e.g. what `--node-args=--trace-gc-nvp` prints; kept only in memory when unset. */
  gatewayOutputDir: string | undefined;
  /** @default 'bench/out/results.json' (soak: 'bench/out/soak-results.json'); the committed runs are replaced only with --out */
  out: string;
  /** Extra Node flags for the gateway children, space-separated. */
  nodeArgs: string[];
  /** Another checkout (with its node_modules) whose gateway runs beside this one: `--compare DIR[=label]`. */
  compare: { root: string; label: string } | undefined;
  /**
   * How the gateway children run: `build`, the production build as deployed
   * (`npm run build` first, then `node dist/main.js` with NODE_ENV=production
   * and the unit's Node flags, like deploy/systemd/tmws.service); `tsx`, from the sources as `npm start`
   * runs them (no build step: quicker to iterate on). @default 'build'
   */
  runtime: GatewayRuntime;
}

export type GatewayRuntime = 'build' | 'tsx';

export type GatewayApi = 'rest' | 'graphql' | 'graphql-row' | 'mcp';

export const USAGE = `usage: npm run bench -- [--duration S] [--rounds N] [--concurrency 1,8,32,128]
                     [--stores memory,redis] [--apis rest,graphql,graphql-row,mcp] [--redis-url URL] [--warmup S (per target, default 10)]
                     [--soak N [--retention 15s] [--soak-concurrency 32]]
                     [--profile [--profile-dir bench/profiles]] [--node-args="--flag ..."] [--gateway-output DIR] [--out FILE]
                     [--compare DIR[=label]]   (a gateway of another checkout in the same rounds; label default: before)
                     [--runtime build|tsx]     (build: npm run build, then node dist/main.js as deployed; default build)`;

function positiveNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      rounds: { type: 'string' },
      concurrency: { type: 'string' },
      stores: { type: 'string' },
      apis: { type: 'string' },
      'redis-url': { type: 'string' },
      warmup: { type: 'string' },
      soak: { type: 'string' },
      retention: { type: 'string' },
      'soak-concurrency': { type: 'string' },
      profile: { type: 'boolean' },
      'profile-dir': { type: 'string' },
      'gateway-output': { type: 'string' },
      out: { type: 'string' },
      'node-args': { type: 'string' },
      compare: { type: 'string' },
      runtime: { type: 'string' },
      help: { type: 'boolean' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const concurrency = (values.concurrency ?? '1,8,32,128').split(',').map((v) => Number(v.trim()));
  if (concurrency.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--concurrency takes positive integers, e.g. 1,8,32');
  const stores = choices('stores', values.stores ?? 'memory,redis', ['memory', 'redis'] as const);
  const apis = choices('apis', values.apis ?? 'rest,graphql,graphql-row,mcp', ['rest', 'graphql', 'graphql-row', 'mcp'] as const);
  const soak = Math.floor(positiveNumber('soak', values.soak, 0));
  const [runtime] = choices('runtime', values.runtime ?? 'build', ['build', 'tsx'] as const);
  return {
    durationSeconds: positiveNumber('duration', values.duration, 2),
    rounds: Math.max(1, Math.floor(positiveNumber('rounds', values.rounds, 4))),
    concurrency,
    stores,
    apis,
    redisUrl: values['redis-url'],
    // Long enough for V8 to finish tiering up the hot paths: 2 s left TurboFan compiling through the
    // first C=1 rounds (19 % of the gateway's CPU there, 1 % once warm; bench/README.md).
    warmupSeconds: positiveNumber('warmup', values.warmup, DEFAULT_WARMUP_SECONDS),
    soak,
    retention: values.retention ?? '15s',
    soakConcurrency: Math.max(1, Math.floor(positiveNumber('soak-concurrency', values['soak-concurrency'], 32))),
    profileDir: values.profile || values['profile-dir'] ? (values['profile-dir'] ?? 'bench/profiles') : undefined,
    gatewayOutputDir: values['gateway-output'],
    // bench/out/ is ignored by git: a run never overwrites the committed bench/results.json unless asked to.
    out: values.out ?? (soak > 0 ? 'bench/out/soak-results.json' : 'bench/out/results.json'),
    nodeArgs: (values['node-args'] ?? '').split(' ').filter(Boolean),
    compare: values.compare ? parseCompare(values.compare) : undefined,
    runtime: runtime!,
  };
}

/** A comma-separated flag whose every item must be one of `allowed`. */
function choices<T extends string>(flag: string, raw: string, allowed: readonly T[]): T[] {
  const items = raw.split(',').map((v) => v.trim());
  if (!items.every((item): item is T => (allowed as readonly string[]).includes(item))) {
    throw new Error(`--${flag} takes ${allowed.join(' and/or ')}`);
  }
  return items;
}

function parseCompare(raw: string): { root: string; label: string } {
  // DIR=label; a folder whose name holds '=' still works when no valid label follows it.
  const at = raw.lastIndexOf('=');
  const label = at > 0 ? raw.slice(at + 1) : '';
  if (/^[\w.-]+$/.test(label)) return { root: raw.slice(0, at), label };
  return { root: raw, label: 'before' };
}
