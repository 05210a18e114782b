import cluster from 'node:cluster';
import { createApp } from './app.js';
import { runPrimary } from './cluster.js';
import { ConfigError, loadConfig, type Config } from './config/env.js';
import { saveDevSecret } from './config/secret-key.js';
import { createLogger } from './observability/logger.js';
import { startupBanner } from './observability/startup-banner.js';

/** Bound on graceful shutdown before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 20_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tmws-gateway: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // Before anything signs or checks a token with it; the banner says it was just created.
  saveDevSecret(config.auth.secretKeyFile);
  // A person at a terminal reads coloured lines; supervisors and log shippers get JSON.
  const pretty = config.environment === 'development' && process.stdout.isTTY === true;
  const logger = createLogger(config.logLevel, { pretty });
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, logger, SHUTDOWN_TIMEOUT_MS + 5_000);
  // A worker's primary ran the migrations and the first lease sweep; the first worker catches the search index up.
  const startup = cluster.isWorker ? { migrate: false, sweepLeases: false, catchUpIndex: cluster.worker?.id === 1 } : undefined;
  const gateway = await createApp(config, { logger, startup });
  let url: string;
  try {
    url = await gateway.listen();
  } catch (error) {
    // Nothing was served: stop what started (the local Chroma, the database) before saying why.
    await gateway.close().catch(() => undefined);
    throw portInUse(error, config) ?? error;
  }
  logger.info(
    { url, environment: config.environment, database: config.database.target.driver, secret: config.auth.secretSource },
    'TMWS Gateway listening',
  );
  if (printsBanner(config)) {
    // On stderr, so that standard output stays one JSON document per line.
    const hasAgents = await gateway.services.agents.hasAny();
    // Compiled to dist/main.js, or run from src/main.ts through tsx (npm start).
    const from = import.meta.url.endsWith('.js') ? 'build' : 'npm';
    process.stderr.write(`\n${startupBanner({ url, config, hasAgents, from }).join('\n')}\n\n`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    force.unref();
    await gateway.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** A taken port, said so that a person at a terminal knows what to do. */
function portInUse(error: unknown, config: Config): Error | undefined {
  if ((error as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE') return undefined;
  return new Error(
    `${config.http.host}:${config.http.port} is already in use (another gateway running?): stop it, or choose another port with TMWS_API_PORT`,
  );
}

/** One banner per start, not one per worker. */
function printsBanner(config: Config): boolean {
  return config.workers === 1 || cluster.worker?.id === 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`tmws-gateway: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
