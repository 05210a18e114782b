import type { MikroORM } from '@mikro-orm/core';
import { Authenticator } from '../auth/authenticate.js';
import { SecretBox } from '../auth/secret-box.js';
import type { Config } from '../config/env.js';
import { migrateUp, openOrm } from '../db/orm.js';
import { AgentRepository } from '../db/repositories/agent.repository.js';
import { ConnectionOwnerLookup, ConnectionRepository } from '../db/repositories/connection.repository.js';
import { ExecutionMaintenance, ExecutionRepository } from '../db/repositories/execution.repository.js';
import { UpstreamPool } from '../mcp/client-pool.js';
import type { Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { createRateLimiter, type RateLimiter } from '../ratelimit/limiter.js';
import { startLocalChroma, type ChromaEndpoint } from '../vectors/chroma-server.js';
import { registerLocalChroma, unregisterLocalChroma } from '../vectors/local-chroma-registry.js';
import { createEmbeddingProvider } from '../vectors/embeddings.js';
import { createToolIndex } from '../vectors/tool-index.js';
import { ConnectionService } from './connections.js';
import { createEventBus, type EventBus } from './event-bus.js';
import { ExecutionService } from './executions.js';
import { HealthService } from './health.js';
import { liveSearchCatalogue } from './search-catalogue.js';
import type { ToolSearchIndex, UpstreamClient } from './ports.js';
import { ToolCatalogue } from './tool-catalogue.js';
import { ToolSearchService } from './tool-search.js';

/** Everything the front doors (REST, GraphQL, CLI, a future MCP endpoint) share. */
export interface Services {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  orm: MikroORM;
  agents: AgentRepository;
  authenticator: Authenticator;
  connections: ConnectionService;
  connectionRepository: ConnectionRepository;
  executions: ExecutionService;
  executionRepository: ExecutionRepository;
  toolSearch: ToolSearchService;
  toolIndex: ToolSearchIndex;
  limiter: RateLimiter;
  events: EventBus;
  upstream: UpstreamClient;
  health: HealthService;
  close(): Promise<void>;
}

export interface ServiceOverrides {
  /** Swap the upstream client (e.g. a recording wrapper in tests). */
  upstream?: UpstreamClient;
}

/** How often expired executions are purged when retention is configured. */
const RETENTION_SWEEP_MS = 60_000;

/**
 * Wires the gateway. Order matters: the database (with migrations) first,
 * then the stores that may be remote (Redis, Chroma) — which degrade rather
 * than stop the gateway when unavailable.
 */
export async function createServices(config: Config, logger: Logger, overrides: ServiceOverrides = {}): Promise<Services> {
  const orm = await openOrm(config.database, { echoSql: config.dbEchoSql, logger });
  const applied = await migrateUp(orm);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrations applied');

  const metrics = new Metrics();
  const agents = new AgentRepository(orm.em);
  const connectionRepository = new ConnectionRepository(orm.em);
  const executionRepository = new ExecutionRepository(orm.em);
  const maintenance = new ExecutionMaintenance(orm.em);
  const events = createEventBus(config.redisUrl, logger);
  const limiter = await createRateLimiter(config, { logger, metrics });
  const upstream =
    overrides.upstream ??
    // The guard runs in every environment (SPEC §6); outside production the default allow-list is loopback.
    new UpstreamPool({ policy: { enforce: true, allowedHosts: config.mcpAllowedHosts }, logger });

  let chroma: ChromaEndpoint | undefined;
  let chromaUrl = config.chromaUrl;
  if (!chromaUrl) {
    chroma = await startLocalChroma({ path: config.chromaPath, logger });
    chromaUrl = chroma.url;
    registerLocalChroma(config.chromaPath, chromaUrl);
  }
  const toolIndex = createToolIndex({ chromaUrl, embeddings: createEmbeddingProvider(config.embeddingProvider), logger });
  const owners = new ConnectionOwnerLookup(orm.em);
  // Catch up on whatever changed while no gateway was indexing (unchanged tools keep their vectors).
  toolIndex.rebuild(liveSearchCatalogue(owners), { reuseEmbeddings: true, prune: false }).then(
    (counts) => logger.info(counts, 'tool search index in step with the catalogue'),
    (err: unknown) => logger.warn({ err }, 'tool search index catch-up deferred'),
  );

  const catalogue = new ToolCatalogue(connectionRepository);
  const connections = new ConnectionService({
    connections: connectionRepository,
    owners,
    upstream,
    index: toolIndex,
    events,
    secrets: new SecretBox(config.secretKey),
    catalogue,
    logger,
  });
  const executions = new ExecutionService({
    connections: connectionRepository,
    connectionService: connections,
    executions: executionRepository,
    catalogue,
    upstream,
    events,
    logger,
    metrics: {
      executionFinished: (status, seconds) => {
        metrics.toolExecutions.inc({ status });
        metrics.toolExecutionDuration.observe(seconds);
      },
    },
  });

  // One process owns a SQLite file, so anything RUNNING now was orphaned by a crash.
  if (config.database.driver === 'sqlite') {
    const orphaned = await maintenance.failOrphaned(new Date(), executions.runningIds());
    if (orphaned > 0) logger.warn({ orphaned }, 'executions left RUNNING by a previous process marked FAILED');
  }
  const retentionTimer = startRetentionSweep(config, maintenance, logger);
  const health = new HealthService({ orm, limiter, toolIndex });

  return {
    config,
    logger,
    metrics,
    orm,
    agents,
    authenticator: new Authenticator(agents, {
      secretKey: config.secretKey,
      authEnabled: config.authEnabled,
      maxTokenTtlSeconds: config.limits.maxTokenTtlSeconds,
    }),
    connections,
    connectionRepository,
    executions,
    executionRepository,
    toolSearch: new ToolSearchService(toolIndex),
    toolIndex,
    limiter,
    events,
    upstream,
    health,
    async close() {
      if (retentionTimer) clearInterval(retentionTimer);
      await executions.drain(10_000);
      executions.close();
      connections.close();
      await upstream.close();
      await toolIndex.close();
      if (chroma) {
        unregisterLocalChroma(config.chromaPath);
        await chroma.stop();
      }
      await limiter.close();
      await events.close();
      await orm.close(true);
    },
  };
}

function startRetentionSweep(config: Config, maintenance: ExecutionMaintenance, logger: Logger): NodeJS.Timeout | undefined {
  if (config.executionRetentionSeconds <= 0) return undefined;
  const sweep = async () => {
    const cutoff = new Date(Date.now() - config.executionRetentionSeconds * 1000);
    const purged = await maintenance.purgeOlderThan(cutoff).catch((err: unknown) => {
      logger.warn({ err }, 'execution retention sweep failed');
      return 0;
    });
    if (purged > 0) logger.info({ purged }, 'expired executions purged');
  };
  const timer = setInterval(() => void sweep(), Math.min(RETENTION_SWEEP_MS, config.executionRetentionSeconds * 1000));
  timer.unref();
  return timer;
}
