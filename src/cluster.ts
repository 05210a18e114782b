/**
 * `TMWS_WORKERS=N` (SPEC §13): a primary process that does the once-per-start
 * work, then forks N gateway workers sharing one listening port (node:cluster
 * hands connections out round-robin). The workers share state the same way
 * separate instances do — the database, Redis and one Chroma server — so a
 * request may land on any of them (SPEC §10).
 */
import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import type { Config } from './config/env.js';
import { migrateUp, openOrm } from './db/orm.js';
import { ExecutionLeases } from './db/repositories/execution-lease.repository.js';
import type { Logger } from './observability/logger.js';
import { startLocalChroma, type ChromaEndpoint } from './vectors/chroma-server.js';
import { registerLocalChroma, unregisterLocalChroma } from './vectors/local-chroma-registry.js';

/** First and largest delay before a crashed worker is started again. */
export const WORKER_RESTART_BACKOFF_MS = { initial: 500, max: 30_000 } as const;
/** A worker that ran this long was healthy: the next crash starts the backoff afresh. */
const STABLE_UPTIME_MS = 60_000;

/**
 * Migrations and the startup sweep, once for all workers: N workers racing to
 * migrate one database would collide, and the sweep fails the RUNNING rows a
 * previous run of this machine left behind (their leases have expired).
 */
async function prepareDatabase(config: Config, logger: Logger): Promise<void> {
  const orm = await openOrm(config.database.target, { echoSql: config.database.echoSql, logger });
  try {
    const applied = await migrateUp(orm);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrations applied');
    // The primary holds no lease and runs nothing: any id that is not a live instance's will do.
    const orphaned = await new ExecutionLeases(orm.em).failOrphaned(randomUUID());
    if (orphaned.length > 0) logger.warn({ orphaned: orphaned.length }, 'executions of a gateway instance that stopped marked FAILED');
  } finally {
    await orm.close(true);
  }
}

/** Runs the primary until SIGTERM/SIGINT has stopped every worker. */
export async function runPrimary(config: Config, logger: Logger, shutdownTimeoutMs: number): Promise<void> {
  await prepareDatabase(config, logger);
  // One local Chroma for all workers (N servers on one data folder would corrupt it).
  let chroma: ChromaEndpoint | undefined;
  if (!config.chroma.url) {
    chroma = await startLocalChroma({ path: config.chroma.path, logger });
    registerLocalChroma(config.chroma.path, chroma.url);
  }
  const workerEnv = chroma ? { TMWS_CHROMA_URL: chroma.url } : {};

  let stopping = false;
  let crashes = 0;
  const startedAt = new Map<Worker, number>();
  const fork = () => {
    const worker = cluster.fork(workerEnv);
    startedAt.set(worker, Date.now());
  };

  // Until one worker listens, a crash is a start-up failure (bad database URL, port taken): the
  // primary exits non-zero rather than retry forever, so the supervisor shows it and restarts us.
  let listened = false;
  cluster.on('listening', () => (listened = true));

  cluster.on('exit', (worker, code, signal) => {
    const uptime = Date.now() - (startedAt.get(worker) ?? 0);
    startedAt.delete(worker);
    if (stopping) return;
    // Only a crash is restarted: a worker that exits 0 was stopped on purpose.
    if (code === 0 && signal === null) return;
    if (!listened) {
      logger.error({ pid: worker.process.pid, code, signal }, 'gateway worker failed to start; stopping');
      void stop('SIGTERM', 1);
      return;
    }
    crashes = uptime >= STABLE_UPTIME_MS ? 1 : crashes + 1;
    const delay = Math.min(WORKER_RESTART_BACKOFF_MS.max, WORKER_RESTART_BACKOFF_MS.initial * 2 ** (crashes - 1));
    logger.error({ pid: worker.process.pid, code, signal, restartInMs: delay }, 'gateway worker died; starting a new one');
    setTimeout(() => {
      if (!stopping) fork();
    }, delay);
  });

  for (let i = 0; i < config.workers; i++) fork();
  logger.info({ workers: config.workers, pid: process.pid }, 'gateway primary started its workers');

  async function stop(signal: NodeJS.Signals, exitCode = 0): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the gateway workers');
    const force = setTimeout(() => {
      logger.error('workers did not stop in time; exiting');
      process.exit(1);
    }, shutdownTimeoutMs);
    force.unref();
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    // Each worker drains its own executions (the same graceful stop as a single process).
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) return resolve();
            worker.once('exit', () => resolve());
            worker.process.kill('SIGTERM');
          }),
      ),
    );
    if (chroma) {
      unregisterLocalChroma(config.chroma.path);
      await chroma.stop();
    }
    logger.info('stopped');
    process.exit(exitCode);
  }
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
