import type { FastifyInstance } from 'fastify';
import type { Services } from '../services/container.js';

/**
 * Placeholder seam until the GraphQL API lands: mounts nothing. Replaced by the
 * Pothos/Yoga implementation (routes /graphql over HTTP, SSE and WebSocket).
 */
export async function mountGraphQL(_http: FastifyInstance, _services: Services): Promise<{ close(): Promise<void> }> {
  return { close: async () => {} };
}
