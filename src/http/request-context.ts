import type { Principal } from '../auth/principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication pre-handler on every protected route. */
    principal?: Principal;
    requestId: string;
  }
}
