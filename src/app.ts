import type { FastifyInstance } from 'fastify';
import { settleWithin } from './common/deadline.js';
import type { Config } from './config/env.js';
import { createHttpServer } from './http/server.js';
import { createLogger, type Logger } from './observability/logger.js';
import { registerConnectionRoutes } from './rest/connections.routes.js';
import { registerOperationsRoutes } from './rest/operations.routes.js';
import { mountGraphQL } from './graphql/mount.js';
import { registerDashboard } from './dashboard/serve.js';
import { registerMcpEndpoint, type McpEndpointOptions } from './mcp-server/endpoint.js';
import { createServices, DEFAULT_DRAIN_MS, doorServices, type ServiceContainer, type ServiceOverrides } from './services/container.js';

/** After the drain, how long answers still being written get before the remaining sockets are closed. */
const CLOSE_GRACE_MS = 1_000;

export interface Gateway {
  http: FastifyInstance;
  /** The whole wiring; the doors are given only its `Services` part. */
  services: ServiceContainer;
  /** Starts listening; resolves to the base URL (useful with port 0 in tests). */
  listen(): Promise<string>;
  /** Graceful stop: no new requests, running executions drained (bounded), sessions closed. */
  close(): Promise<void>;
}

export interface CreateAppOptions extends ServiceOverrides {
  logger?: Logger;
  mcp?: McpEndpointOptions;
  /** `jsonPostPath: false` sends every GraphQL request through Yoga's full pipeline (tests compare the two). */
  graphql?: { jsonPostPath?: boolean };
}

/** Builds the whole gateway for a config. Never listens by itself (see main.ts). */
export async function createApp(config: Config, options: CreateAppOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? createLogger(config.logLevel);
  for (const warning of config.warnings) logger.warn(warning);
  const services = await createServices(config, logger, options);
  const doors = doorServices(services);
  const http = await createHttpServer(doors);
  registerOperationsRoutes(http, doors);
  registerConnectionRoutes(http, doors);
  const graphql = await mountGraphQL(http, doors, options.graphql);
  const mcp = registerMcpEndpoint(http, doors, options.mcp);
  registerDashboard(http);

  let closed = false;
  return {
    http,
    services,
    async listen() {
      // Events of other instances (a session ended, a call cancelled) must reach this one from its first request.
      if (!(await services.events.subscribed())) {
        logger.warn('Redis has not confirmed the event bus subscriptions yet: events of other instances may be missed until it does');
      }
      await http.listen({ host: config.http.host, port: config.http.port });
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : config.http.port;
      const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
      return `http://${host}:${port}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      await graphql.close();
      mcp.close();
      // Stop accepting (new requests get 503, idle keep-alive sockets close) while the requests in flight
      // keep their sockets: a call that finishes within the drain must reach its caller.
      const stopped = http.close();
      await services.executions.drain(options.drainMs ?? DEFAULT_DRAIN_MS);
      // Drained or cancelled: give their answers a moment to be written, then close what is left
      // (event streams, clients that never finish sending).
      await settleWithin(stopped, CLOSE_GRACE_MS, undefined);
      http.server.closeAllConnections();
      await stopped;
      await services.close();
    },
  };
}
