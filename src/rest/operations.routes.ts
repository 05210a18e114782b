import type { FastifyInstance } from 'fastify';
import { AuthorizationError } from '../errors/index.js';
import type { Services } from '../services/container.js';
import { authenticate } from './guards.js';
import { openApiDocument } from './openapi.js';
import { requirePrincipal } from './request-context.js';

/** Health, readiness, metrics, the OpenAPI description and the admin statistics route. */
export function registerOperationsRoutes(app: FastifyInstance, services: Services): void {
  // Liveness stays cheap: it must answer even when every dependency is down.
  app.get('/health', async () => ({ status: 'healthy' }));

  app.get('/health/ready', async (_request, reply) => {
    const report = await services.health.readiness();
    return reply.code(report.ready ? 200 : 503).send({ status: report.ready ? 'ready' : 'unavailable', ...report });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await services.metrics.render();
    return reply.type(services.metrics.contentType).send(text);
  });

  app.get('/api/v1/openapi.json', async () => openApiDocument);

  app.get('/api/v1/admin/rate-limits/statistics', { onRequest: [authenticate(services)] }, async (request) => {
    const principal = requirePrincipal(request.principal);
    if (principal.role !== 'admin') throw new AuthorizationError('Admin role required');
    const statistics = await services.limiter.statistics(principal.namespace);
    return { namespace: principal.namespace, ...services.limiter.health(), statistics };
  });
}
