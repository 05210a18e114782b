import type { Principal } from '../auth/principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication pre-handler on every protected route. */
    principal?: Principal;
    requestId: string;
    /** `scheme://host` as the client reached the gateway, proxies included (public-origin.ts). */
    readonly publicOrigin: string;
  }
}
