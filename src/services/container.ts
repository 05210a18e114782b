import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/core';
import { Authenticator } from '../auth/authenticate.js';
import { SecretBox } from '../auth/secret-box.js';
import type { Config } from '../config/env.js';
import { migrateUp, openOrm } from '../db/orm.js';
import { AgentRepository } from '../db/repositories/agent.repository.js';
import { ConnectionOwnerLookup, ConnectionRepository } from '../db/repositories/connection.repository.js';
import { ExecutionLeases } from '../db/repositories/execution-lease.repository.js';
import { ExecutionMaintenance, ExecutionRepository } from '../db/repositories/execution.repository.js';
import { UpstreamPool } from '../mcp/client-pool.js';
import type { Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { createRateLimiter, type RateLimiter } from '../ratelimit/limiter.js';
import { startLocalChroma, type ChromaEndpoint } from '../vectors/chroma-server.js';
import { registerLocalChroma, unregisterLocalChroma } from '../vectors/local-chroma-registry.js';
import { createEmbeddingProvider } from '../vectors/embeddings.js';
import { createToolIndex } from '../vectors/tool-index.js';
import { AgentProfileService } from './agent-profiles.js';
import { ConnectionService } from './connections.js';
import { createEventBus, type EventBus } from './event-bus.js';
import { ExecutionLeaseKeeper, type ExecutionLeaseOptions } from './execution-leases.js';
import { ExecutionService } from './executions.js';
import { HealthService } from './health.js';
import { liveSearchCatalogue } from './search-catalogue.js';
import type { ToolSearchIndex, UpstreamClient } from './ports.js';
import { ToolCatalogue } from './tool-catalogue.js';
import { ToolSearchService } from './tool-search.js';
import { ToolGovernance } from './tool-governance/tool-governance.js';
import { GovernanceStatistics, ToolGovernanceRepository } from '../db/repositories/tool-governance.repository.js';

/**
 * What the front doors (REST, GraphQL, and next the MCP endpoint) see: the
 * services only — no ORM, no repository. Every read a door makes goes through
 * a service call taking the verified principal, so each door gets the same
 * ownership checks and the same caches.
 */
export interface Services {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  authenticator: Authenticator;
  agentProfiles: AgentProfileService;
  connections: ConnectionService;
  executions: ExecutionService;
  toolSearch: ToolSearchService;
  governance: ToolGovernance;
  limiter: RateLimiter;
  events: EventBus;
  health: HealthService;
}

/**
 * The whole wiring, for the composition root (app.ts, main.ts) and tests that
 * inspect what was stored: the doors' services plus the stores behind them.
 */
export interface ServiceContainer extends Services {
  orm: MikroORM;
  agents: AgentRepository;
  connectionRepository: ConnectionRepository;
  executionRepository: ExecutionRepository;
  toolIndex: ToolSearchIndex;
  upstream: UpstreamClient;
  close(): Promise<void>;
}

/** The doors' part of the wiring, as its own object: a door cannot reach a store even by a cast. */
export function doorServices(container: ServiceContainer): Services {
  const {
    config,
    logger,
    metrics,
    authenticator,
    agentProfiles,
    connections,
    executions,
    toolSearch,
    governance,
    limiter,
    events,
    health,
  } = container;
  return {
    config,
    logger,
    metrics,
    authenticator,
    agentProfiles,
    connections,
    executions,
    toolSearch,
    governance,
    limiter,
    events,
    health,
  };
}

export interface ServiceOverrides {
  /** Swap the upstream client (e.g. a recording wrapper in tests). */
  upstream?: UpstreamClient;
  /** Execution lease timings (SPEC §10); tests shorten them. @default config.executionLease */
  executionLease?: Partial<ExecutionLeaseOptions>;
  /**
   * The once-per-start duties. A worker of a `TMWS_WORKERS` cluster skips the migrations and the
   * first lease sweep (its primary ran them before forking) and, except for the first worker,
   * the search-index catch-up. @default all true
   */
  startup?: Partial<StartupDuties>;
  /** How long a graceful stop waits for running executions before cancelling them. @default DEFAULT_DRAIN_MS */
  drainMs?: number;
}

export interface StartupDuties {
  migrate: boolean;
  sweepLeases: boolean;
  catchUpIndex: boolean;
}

/** Graceful stop (SIGTERM): running executions get this long to finish, then they are cancelled. */
export const DEFAULT_DRAIN_MS = 10_000;

/** How often expired executions are purged when retention is configured. */
const RETENTION_SWEEP_MS = 60_000;

/**
 * Wires the gateway. Order matters: the database (with migrations) first,
 * then the stores that may be remote (Redis, Chroma) — which degrade rather
 * than stop the gateway when unavailable.
 */
export async function createServices(config: Config, logger: Logger, overrides: ServiceOverrides = {}): Promise<ServiceContainer> {
  const startup: StartupDuties = { migrate: true, sweepLeases: true, catchUpIndex: true, ...overrides.startup };
  const orm = await openOrm(config.database.target, { echoSql: config.database.echoSql, logger });
  if (startup.migrate) {
    const applied = await migrateUp(orm);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrations applied');
  }

  const metrics = new Metrics();
  const agents = new AgentRepository(orm.em);
  const connectionRepository = new ConnectionRepository(orm.em);
  const instanceId = randomUUID();
  const executionRepository = new ExecutionRepository(orm.em, { instanceId });
  const maintenance = new ExecutionMaintenance(orm.em);
  const events = createEventBus(config.redis.url, logger);
  const limiter = await createRateLimiter(config, { logger, metrics });
  const upstream =
    overrides.upstream ??
    // The guard runs in every environment (SPEC §6); outside production the default allow-list is loopback.
    new UpstreamPool({
      policy: { enforce: true, allowedHosts: config.upstreams.allowedHosts, uniformRefusals: config.environment === 'production' },
      logger,
      // SPEC §14: what one upstream may send.
      limits: {
        maxMessageBytes: config.limits.maxResultBytes,
        maxTools: config.limits.maxToolsPerConnection,
        maxCallMs: config.limits.maxCallSeconds * 1000,
      },
    });

  let chroma: ChromaEndpoint | undefined;
  let chromaUrl = config.chroma.url;
  if (!chromaUrl) {
    chroma = await startLocalChroma({ path: config.chroma.path, logger });
    chromaUrl = chroma.url;
    registerLocalChroma(config.chroma.path, chromaUrl);
  }
  const embeddings = createEmbeddingProvider(config.chroma.embeddingProvider);
  const toolIndex = createToolIndex({ chromaUrl, embeddings, logger, collectionPrefix: config.chroma.collectionPrefix });
  const owners = new ConnectionOwnerLookup(orm.em);
  metrics.countActiveConnectionsWith(() => owners.countActive());
  // Catch up on whatever changed while no gateway was indexing (unchanged tools keep their vectors), and
  // prune vectors of connections not live in this database (a restored or replaced database, a reused
  // namespace name): only in this deployment's collections (TMWS_CHROMA_PREFIX), and never those of a
  // connection that became live meanwhile (another instance may be indexing it right now).
  const stillLive = (ids: string[]) => owners.liveIds(ids);
  if (startup.catchUpIndex) {
    toolIndex.rebuild(liveSearchCatalogue(owners), { reuseEmbeddings: true, prune: true, stillLive }).then(
      (counts) => logger.info(counts, 'tool search index in step with the catalogue'),
      (err: unknown) => logger.warn({ err }, 'tool search index catch-up deferred'),
    );
  }

  const catalogue = new ToolCatalogue(connectionRepository, logger);
  const governanceStatistics = new GovernanceStatistics(orm.em);
  metrics.countQuarantinedToolsWith(() => governanceStatistics.countQuarantined());
  const governance = new ToolGovernance({
    repository: new ToolGovernanceRepository(orm.em),
    connections: connectionRepository,
    events,
    onCatalogueDecided: (connectionId, namespace, agentId) => {
      catalogue.invalidate(connectionId);
      events.pubsub.publish('namespace-catalogue', namespace, { connectionId, agentId });
    },
  });
  const connections = new ConnectionService({
    connections: connectionRepository,
    owners,
    upstream,
    index: toolIndex,
    events,
    secrets: new SecretBox(config.auth.secretKey),
    catalogue,
    governance,
    logger,
  });
  const executions = new ExecutionService({
    connections: connectionRepository,
    connectionService: connections,
    executions: executionRepository,
    catalogue,
    governance,
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

  // Crash safety on every dialect: this instance's lease covers its RUNNING rows; expired leases are swept.
  const leaseKeeper = new ExecutionLeaseKeeper({
    leases: new ExecutionLeases(orm.em),
    events,
    logger,
    instanceId,
    options: { ...config.executionLease, ...overrides.executionLease },
    onOrphaned: () => metrics.toolExecutions.inc({ status: 'FAILED' }),
  });
  await leaseKeeper.start({ sweep: startup.sweepLeases });
  const retentionTimer = startRetentionSweep(config, maintenance, logger);
  const health = new HealthService({ orm, limiter, toolIndex });
  metrics.reportReadinessWith(async () => (await health.readiness()).ready);

  return {
    config,
    logger,
    metrics,
    orm,
    agents,
    authenticator: new Authenticator(agents, {
      secretKey: config.auth.secretKey,
      authEnabled: config.auth.enabled,
      maxTokenTtlSeconds: config.limits.maxTokenTtlSeconds,
    }),
    agentProfiles: new AgentProfileService(agents),
    connections,
    connectionRepository,
    executions,
    executionRepository,
    toolSearch: new ToolSearchService(toolIndex, connectionRepository, governance),
    governance,
    toolIndex,
    limiter,
    events,
    upstream,
    health,
    async close() {
      if (retentionTimer) clearInterval(retentionTimer);
      await executions.drain(overrides.drainMs ?? DEFAULT_DRAIN_MS);
      executions.close();
      await executionRepository.settled();
      await leaseKeeper.stop();
      await executionRepository.close();
      connections.close();
      await upstream.close();
      await toolIndex.close();
      await embeddings.close();
      if (chroma) {
        unregisterLocalChroma(config.chroma.path);
        await chroma.stop();
      }
      await limiter.close();
      await events.close();
      await orm.close(true);
      metrics.close();
    },
  };
}

function startRetentionSweep(config: Config, maintenance: ExecutionMaintenance, logger: Logger): NodeJS.Timeout | undefined {
  if (config.database.executionRetentionSeconds <= 0) return undefined;
  const sweep = async () => {
    const cutoff = new Date(Date.now() - config.database.executionRetentionSeconds * 1000);
    const purged = await maintenance.purgeOlderThan(cutoff).catch((err: unknown) => {
      logger.warn({ err }, 'execution retention sweep failed');
      return 0;
    });
    if (purged > 0) logger.info({ purged }, 'expired executions purged');
  };
  const timer = setInterval(() => void sweep(), Math.min(RETENTION_SWEEP_MS, config.database.executionRetentionSeconds * 1000));
  timer.unref();
  return timer;
}
