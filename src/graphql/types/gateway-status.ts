import type { BucketName } from '../../ratelimit/buckets.js';
import type { BucketStatisticsView, NamespaceRateLimitStatistics } from '../../ratelimit/limiter.js';
import type { ComponentStatus, ReadinessReport } from '../../services/health.js';
import { builder } from '../builder.js';

/**
 * What the dashboard's overview and rate-limit pages read: the readiness of the
 * gateway's dependencies (the same report as `/health/ready`) and, for admins,
 * the limiter's statistics of their own namespace (as the REST admin route).
 */
const ComponentStatusEnum = builder.enumType('ComponentStatus', {
  values: {
    OK: { value: 'ok' },
    DOWN: { value: 'down' },
    DEGRADED: { value: 'degraded', description: 'Serving, at reduced capacity (the limiter on its halved in-memory fallback).' },
    NOT_CONFIGURED: { value: 'not_configured', description: 'Not used by this deployment (e.g. no Redis).' },
  } as const,
});

const GatewayStatusRef = builder.objectRef<ReadinessReport>('GatewayStatus').implement({
  description: 'Readiness of the gateway’s dependencies, as GET /health/ready reports it.',
  authScopes: { authenticated: true },
  fields: (t) => ({
    ready: t.exposeBoolean('ready', { description: 'The database and Chroma answer, and Redis when configured.' }),
    database: t.field({ type: ComponentStatusEnum, resolve: (r): ComponentStatus => r.components.database }),
    redis: t.field({ type: ComponentStatusEnum, resolve: (r): ComponentStatus => r.components.redis }),
    chroma: t.field({ type: ComponentStatusEnum, resolve: (r): ComponentStatus => r.components.chroma }),
    rateLimiter: t.field({ type: ComponentStatusEnum, resolve: (r): ComponentStatus => r.components.rate_limiter }),
    degraded: t.boolean({
      description: 'Degraded mode: Redis is unreachable and every limit is halved (fail-secure).',
      resolve: (r) => r.components.rate_limiter === 'degraded',
    }),
  }),
});

builder.queryField('gatewayStatus', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: GatewayStatusRef,
    description: 'Readiness of the database, Redis, Chroma and the rate limiter, and whether degraded mode is on.',
    resolve: (_root, _args, { services }) => services.health.readiness(),
  }),
);

type NamedBucket = BucketStatisticsView & { name: BucketName };

const RateLimitBucketRef = builder.objectRef<NamedBucket>('RateLimitBucket').implement({
  description: 'One limited operation: its rule, the windows in force, and the namespace’s decisions counted by this instance.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'mcp_create_connection, mcp_discover_tools, mcp_execute_tool or mcp_disconnect.' }),
    limit: t.exposeInt('limit', { description: 'Requests per period for one agent.' }),
    burst: t.exposeInt('burst'),
    periodSeconds: t.exposeInt('period_seconds'),
    blockSeconds: t.exposeInt('block_seconds'),
    agentWindow: t.exposeInt('agent_window', { description: 'Requests one agent may make per period now (halved while degraded).' }),
    ipWindow: t.exposeInt('ip_window', { description: 'Requests one client IP may make per period now.' }),
    allowed: t.exposeInt('allowed'),
    blocked: t.exposeInt('blocked', { description: 'Requests refused with RATE_LIMIT_EXCEEDED.' }),
    errors: t.exposeInt('errors', { description: 'Requests refused because the limiter could not decide.' }),
    blockedKeys: t.int({ description: 'Agent and IP keys blocked right now.', resolve: (b) => b.blocked_keys.length }),
  }),
});

const RateLimitStatisticsRef = builder.objectRef<NamespaceRateLimitStatistics>('RateLimitStatistics').implement({
  description: 'The rate limiter as seen by one namespace, since this gateway instance started.',
  fields: (t) => ({
    namespace: t.exposeString('namespace'),
    enabled: t.exposeBoolean('enabled', { description: 'False in the test environment only.' }),
    store: t.exposeString('store', { description: 'redis, or memory (no Redis configured, or degraded).' }),
    degraded: t.exposeBoolean('degraded'),
    countingSince: t.field({ type: 'DateTime', resolve: (s) => new Date(s.counting_since) }),
    buckets: t.field({
      type: [RateLimitBucketRef],
      resolve: (s) => Object.entries(s.buckets).map(([name, bucket]) => ({ ...bucket, name: name as BucketName })),
    }),
  }),
});

builder.queryField('rateLimitStatistics', (t) =>
  t.withAuth({ admin: true }).field({
    type: RateLimitStatisticsRef,
    nullable: true,
    description: 'Admins only (AUTHORIZATION_ERROR otherwise): the rate-limit statistics of the caller’s namespace.',
    resolve: (_root, _args, { services, principal }) => services.limiter.statistics(principal.namespace),
  }),
);
