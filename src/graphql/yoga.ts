import { randomUUID } from 'node:crypto';
import { createYoga, type YogaLogger, type YogaServerInstance } from 'graphql-yoga';
import { AuthenticationError } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import { createGraphQLFieldLimiter } from './plugins/field-rate-limit.js';
import type { Services } from '../services/container.js';
import type { GatewayServerContext } from './caller.js';
import type { GraphQLContext } from './context.js';
import { mapError } from './errors.js';
import { gatewayGraphiQLOptions, renderOfflineGraphiQL } from './graphiql.js';
import { useAgentAuthentication } from './plugins/use-agent-authentication.js';
import { useErrorMapping } from './plugins/use-error-mapping.js';
import { useVariablesGuard } from './plugins/use-variables-guard.js';
import { DEFAULT_QUERY_LIMITS, useDisableIntrospection, useQueryLimits, type QueryLimits } from './plugins/use-query-limits.js';
import { useSubscriptionLimit } from './plugins/use-subscription-limit.js';
import { gatewaySchema } from './schema.js';

export const GRAPHQL_PATH = '/graphql';

export type GatewayYoga = YogaServerInstance<GatewayServerContext, GraphQLContext>;

export interface GatewayYogaOptions {
  /** Depth, alias, token, cost and directive limits. @default DEFAULT_QUERY_LIMITS */
  limits?: QueryLimits;
}

/**
 * The GraphQL server: schema, authentication (HTTP 401 before parsing),
 * query limits, error mapping and masking, per-request context. Transport-
 * neutral: mount.ts serves it over HTTP/SSE and WebSocket.
 * Introspection and GraphiQL are available outside production only.
 */
export function createGatewayYoga(services: Services, options: GatewayYogaOptions = {}): GatewayYoga {
  const production = services.config.environment === 'production';
  const fieldLimiter = createGraphQLFieldLimiter(services.limiter);

  return createYoga<GatewayServerContext, GraphQLContext>({
    schema: gatewaySchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: production ? false : gatewayGraphiQLOptions(),
    renderGraphiQL: renderOfflineGraphiQL,
    landingPage: false,
    // CORS is handled by Fastify for every route, GraphQL included.
    cors: false,
    multipart: false,
    batching: false,
    logging: yogaLogger(services.logger),
    maskedErrors: { maskError: (error) => mapError(error).error },
    context: ({ caller, requestId, clientIp }): GraphQLContext => {
      const principal = caller?.principal ?? null;
      const ip = clientIp ?? 'unknown';
      return {
        services,
        principal,
        requestId: requestId ?? randomUUID(),
        clientIp: ip,
        credentialsExpireAt: caller?.expiresAt ?? null,
        connectionLoader: undefined,
        async drawRateLimit(bucket, resolver) {
          if (!principal) throw new AuthenticationError('Authentication required');
          await fieldLimiter(resolver, bucket, { agentId: principal.agentId, namespace: principal.namespace, ip });
        },
      };
    },
    plugins: [
      useAgentAuthentication(services),
      useVariablesGuard(),
      ...(production ? [useDisableIntrospection()] : []),
      useQueryLimits(options.limits ?? DEFAULT_QUERY_LIMITS, production),
      useSubscriptionLimit(services.config.limits.maxSubscriptionsPerAgent),
      useErrorMapping(services.logger),
    ],
  });
}

/** Yoga's own log lines, into the gateway's structured log. */
function yogaLogger(logger: Logger): YogaLogger {
  const write =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      // Yoga logs several debug lines per request: skip the formatting on the hot path.
      if (!logger.isLevelEnabled(level)) return;
      const [first, ...rest] = args;
      if (first instanceof Error) logger[level]({ err: first, component: 'graphql' }, first.message);
      else logger[level]({ component: 'graphql', args: rest.length > 0 ? rest : undefined }, String(first));
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
