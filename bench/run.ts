/**
 * `npm run bench` — SPEC §9 side by side: direct MCP calls against the same
 * upstream vs. the gateway's REST execute and GraphQL executeTool, with one
 * gateway child per limiter store (in-memory and Redis), interleaving rounds
 * so that drift (thermal, noisy neighbours, GC) hits every target alike.
 * `--soak N` instead runs N executions and tracks the gateway's memory and
 * database size. See bench/README.md for how to read the output.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createLogger } from '../src/observability/logger.js';
import { startLocalChroma, type ChromaEndpoint } from '../src/vectors/chroma-server.js';
import { startEverythingServer, type EverythingServer } from '../test/helpers/everything-server.js';
import { startRedis, type RedisTestServer } from '../test/helpers/redis-server.js';
import { buildCheckout, startGatewayProcess, type GatewayProcess, type LimiterStore } from './gateway-process.js';
import { runClosedLoop } from './load-generator.js';
import { parseOptions, USAGE, type BenchOptions, type GatewayApi } from './options.js';
import { ownCpuMs, readProc } from './proc-stats.js';
import { checkTargets, formatChecks, formatPairs, formatRows, toRows, type Cell, type TargetKind } from './report.js';
import { runSoak } from './soak.js';
import {
  createDirectTarget,
  createGraphqlTarget,
  createMcpTarget,
  createRestTarget,
  EXECUTE_TOOL_MUTATION,
  EXECUTE_TOOL_ROW_MUTATION,
  graphqlAvailable,
  mcpAvailable,
  registerConnection,
  type Target,
} from './targets.js';

interface MeasuredTarget {
  target: Target;
  kind: TargetKind;
  gateway: GatewayProcess | null;
}

interface Environment {
  upstream: EverythingServer;
  chroma: ChromaEndpoint;
  redisUrl: string | undefined;
  gateways: GatewayProcess[];
  cleanup(): Promise<void>;
}

const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

/** Pids to SIGKILL if the bench dies without cleaning up (Ctrl-C, a closed pipe, a crash). */
const children = new Set<number>();
process.once('exit', () => {
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE'] as const) process.once(signal, () => process.exit(130));

async function startEnvironment(options: BenchOptions, stores: LimiterStore[], retention?: string): Promise<Environment> {
  const chromaDir = mkdtempSync(join(tmpdir(), 'tmws-bench-chroma-'));
  const stops: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => log(`cleanup: ${String(error)}`));
    children.clear();
    rmSync(chromaDir, { recursive: true, force: true });
  };
  try {
    const upstream = await startEverythingServer({ mode: 'streamableHttp' });
    stops.push(() => upstream.stop());
    children.add(upstream.pid);
    log(`upstream server-everything (streamableHttp) at ${upstream.url}, pid ${upstream.pid}`);
    const chroma = await startLocalChroma({ path: chromaDir, logger: createLogger('warn'), restartOnExit: false });
    stops.push(() => chroma.stop());
    if (chroma.pid !== undefined) children.add(chroma.pid);
    log(`chroma at ${chroma.url}`);
    let redisUrl = options.redisUrl;
    if (!redisUrl && stores.includes('redis')) {
      const redis: RedisTestServer = await startRedis();
      stops.push(() => redis.stop());
      children.add(redis.pid);
      redisUrl = redis.url;
      log(`private redis-server at ${redisUrl}`);
    }
    if (options.runtime === 'build') {
      const roots = [undefined, ...(options.compare ? [options.compare.root] : [])];
      log(`building ${roots.length} checkout(s) (npm run build; --runtime tsx skips this)`);
      await Promise.all(roots.map((root) => buildCheckout(root)));
    }
    const gateways: GatewayProcess[] = [];
    // With --compare, each store also gets a gateway of the other checkout, measured in the same rounds.
    const variants = [{}, ...(options.compare ? [options.compare] : [])];
    for (const [store, variant] of stores.flatMap((s) => variants.map((v) => [s, v] as const))) {
      const gateway = await startGatewayProcess({
        ...variant,
        store,
        chromaUrl: chroma.url,
        ...(redisUrl ? { redisUrl } : {}),
        ...(retention ? { retention } : {}),
        ...(options.profileDir ? { cpuProfileDir: resolve(options.profileDir) } : {}),
        ...(options.gatewayOutputDir ? { outputDir: resolve(options.gatewayOutputDir) } : {}),
        nodeArgs: options.nodeArgs,
        runtime: options.runtime,
      });
      stops.push(() => gateway.stop());
      children.add(gateway.pid);
      gateways.push(gateway);
      log(`gateway ${gateway.name} at ${gateway.url}, pid ${gateway.pid}`);
    }
    return { upstream, chroma, redisUrl, gateways, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

const BENCH_SERVER_NAME = 'bench-everything';

async function buildTargets(env: Environment, maxConcurrency: number, apis: readonly GatewayApi[]): Promise<MeasuredTarget[]> {
  const targets: MeasuredTarget[] = [{ target: await createDirectTarget(env.upstream.url), kind: 'direct', gateway: null }];
  for (const gateway of env.gateways) {
    const connectionId = await registerConnection(gateway, env.upstream.url, BENCH_SERVER_NAME);
    const endpoint = { url: gateway.url, token: gateway.token, connectionId, maxConcurrency };
    if (apis.includes('rest')) targets.push({ target: createRestTarget(`rest/${gateway.name}`, endpoint), kind: 'rest', gateway });
    if (apis.includes('mcp')) {
      if (await mcpAvailable(gateway)) {
        targets.push({ target: await createMcpTarget(`mcp/${gateway.name}`, endpoint, BENCH_SERVER_NAME), kind: 'mcp', gateway });
      } else {
        log(`/mcp is not served by this checkout; mcp/${gateway.name} is skipped`);
      }
    }
    const graphqlApis = apis.filter((api) => api === 'graphql' || api === 'graphql-row');
    if (graphqlApis.length === 0) continue;
    if (!(await graphqlAvailable(gateway))) {
      log(`GraphQL is not served by this checkout; graphql/${gateway.name} is skipped`);
      continue;
    }
    for (const api of graphqlApis) {
      const query = api === 'graphql-row' ? EXECUTE_TOOL_ROW_MUTATION : EXECUTE_TOOL_MUTATION;
      targets.push({ target: createGraphqlTarget(`${api}/${gateway.name}`, endpoint, query), kind: api, gateway });
    }
  }
  return targets;
}

/**
 * C=8 warms the paths every C ≥ 8 takes (batched writes, syncs on the thread
 * pool). One caller takes paths of its own (a call's rows written as one, the
 * sync on the event loop) that V8 optimises only once they run: after a C=8
 * warm-up alone, TurboFan compiled 228 functions for the first time during the
 * first 60 s at C=1, and the C=1 rounds measured that (bench/README.md). The
 * direct target warms up at C=1 too: its client and the upstream tier up alike.
 */
function warmupConcurrencies(measured: number[]): number[] {
  return measured.includes(1) ? [8, 1] : [8];
}

async function measureMatrix(env: Environment, targets: MeasuredTarget[], options: BenchOptions): Promise<Cell[]> {
  const warmupMs = options.warmupSeconds * 1000;
  if (warmupMs > 0) {
    for (const { target } of targets) {
      for (const concurrency of warmupConcurrencies(options.concurrency)) {
        const sample = await runClosedLoop(target.operation, { concurrency, durationMs: warmupMs });
        if (sample.errors > 0) throw new Error(`${target.name} fails during warm-up: ${sample.firstError}`);
      }
    }
  }
  const cells = new Map<string, Cell>();
  const durationMs = options.durationSeconds * 1000;
  for (const concurrency of options.concurrency) {
    for (let round = 1; round <= options.rounds; round++) {
      // Rotate the order each round so no target always runs right after the same neighbour.
      const order = targets.map((_, i) => targets[(i + round - 1) % targets.length] as MeasuredTarget);
      for (const measured of order) {
        const { target, gateway } = measured;
        const upstreamBefore = readProc(env.upstream.pid).cpuMs;
        const gatewayBefore = gateway ? readProc(gateway.pid).cpuMs : 0;
        const ownBefore = ownCpuMs();
        const sample = await runClosedLoop(target.operation, { concurrency, durationMs });
        const ownAfter = ownCpuMs();
        const gatewayAfter = gateway ? readProc(gateway.pid) : undefined;
        const key = `${target.name}@${concurrency}`;
        const cell: Cell = cells.get(key) ?? {
          target: target.name,
          kind: measured.kind,
          store: gateway?.store ?? null,
          concurrency,
          calls: 0,
          errors: 0,
          elapsedMs: 0,
          latenciesMs: [],
          gatewayCpuMs: 0,
          upstreamCpuMs: 0,
          loadGeneratorCpuMs: 0,
          gatewayRssMiB: null,
          gatewayCpuMsPerCallByRound: [],
          upstreamCpuMsPerCallByRound: [],
        };
        cell.calls += sample.calls;
        cell.errors += sample.errors;
        cell.elapsedMs += sample.elapsedMs;
        for (const latency of sample.latenciesMs) cell.latenciesMs.push(latency);
        const upstreamCpuMs = readProc(env.upstream.pid).cpuMs - upstreamBefore;
        cell.upstreamCpuMs += upstreamCpuMs;
        cell.upstreamCpuMsPerCallByRound.push(upstreamCpuMs / Math.max(1, sample.calls));
        cell.loadGeneratorCpuMs += ownAfter - ownBefore;
        if (gatewayAfter) {
          const gatewayCpuMs = gatewayAfter.cpuMs - gatewayBefore;
          cell.gatewayCpuMs += gatewayCpuMs;
          cell.gatewayCpuMsPerCallByRound.push(gatewayCpuMs / Math.max(1, sample.calls));
          cell.gatewayRssMiB = gatewayAfter.rssMiB;
        }
        if (sample.firstError !== undefined) cell.firstError ??= sample.firstError;
        cells.set(key, cell);
        log(
          `C=${concurrency} round ${round}/${options.rounds} ${target.name}: ${(sample.calls / (sample.elapsedMs / 1000)).toFixed(0)} calls/s` +
            (sample.errors > 0 ? `, ${sample.errors} errors (${sample.firstError})` : ''),
        );
      }
    }
  }
  return [...cells.values()];
}

function machine() {
  const cpuList = cpus();
  return {
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

function writeJson(path: string, data: unknown): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  log(`wrote ${path}`);
}

async function runMatrix(options: BenchOptions): Promise<void> {
  const env = await startEnvironment(options, options.stores);
  try {
    const targets = await buildTargets(env, Math.max(...options.concurrency), options.apis);
    const gatewaySettings = env.gateways.map((g) => ({ store: g.store, name: g.name, ...g.settings }));
    process.stdout.write(
      `\nGateway children: ${options.runtime === 'build' ? 'production build (node dist/main.js, NODE_ENV=production, Node flags of deploy/systemd/tmws.service)' : 'sources through tsx (node --import tsx src/main.ts)'}, ` +
        `auth ON (HS256 bearer on every call), rate limiter ON (development, ` +
        `TMWS_RATE_LIMIT_SCALE=${env.gateways[0]?.settings.TMWS_RATE_LIMIT_SCALE ?? '-'}, stores: ${options.stores.join(', ')}), ` +
        `execution recording ON (SQLite, WAL), metrics ON (/metrics, per-route HTTP histograms).\n`,
    );
    const cells = await measureMatrix(env, targets, options);
    const rows = toRows(cells);
    const checks = checkTargets(rows);
    const info = machine();
    process.stdout.write(
      `\nMachine: ${info.cpus} × ${info.cpuModel}, Node ${info.node}. ` +
        `${options.rounds} rounds × ${options.durationSeconds} s per target and concurrency, interleaved.\n\n`,
    );
    process.stdout.write(`${formatRows(rows)}\n\nTargets (bench/report.ts):\n${formatChecks(checks)}\n`);
    if (options.compare) {
      process.stdout.write(
        `\nGateway CPU per call, paired round by round with @${options.compare.label}:\n${formatPairs(rows, options.compare.label)}\n`,
      );
    }
    writeJson(options.out, {
      kind: 'throughput',
      at: new Date().toISOString(),
      machine: info,
      options: { ...options, out: undefined },
      tool: 'echo',
      gateways: gatewaySettings,
      rows,
      checks,
    });
    await Promise.all(targets.map(({ target }) => target.close().catch(() => undefined)));
  } finally {
    await env.cleanup();
  }
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options.soak > 0) {
    const store = options.stores[0] ?? 'memory';
    const env = await startEnvironment(options, [store], options.retention);
    try {
      const gateway = env.gateways[0];
      if (!gateway) throw new Error('no gateway started');
      const connectionId = await registerConnection(gateway, env.upstream.url, 'bench-everything');
      const result = await runSoak({
        gateway,
        connectionId,
        executions: options.soak,
        concurrency: options.soakConcurrency,
        retention: options.retention,
        log,
      });
      writeJson(options.out, { kind: 'soak', at: new Date().toISOString(), machine: machine(), store, ...result });
    } finally {
      await env.cleanup();
    }
    return;
  }
  await runMatrix(options);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
