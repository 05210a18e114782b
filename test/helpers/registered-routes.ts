import type { FastifyInstance } from 'fastify';

export interface Route {
  method: string;
  /** Fastify's pattern: `/api/v1/mcp/connections/:id`. */
  url: string;
}

/** Methods Fastify or a plugin adds by itself: HEAD beside every GET, OPTIONS for CORS preflights. */
const IMPLICIT_METHODS = new Set(['HEAD', 'OPTIONS']);

/**
 * Every route a Fastify instance serves, read from `printRoutes()` (Fastify has no public list):
 * each tree line is `<indent>├── <segment> (<METHODS>)`, four columns of indent per level, and a
 * node's path is its parent's path followed by its own segment. Wildcard routes (`*`) are left out.
 */
export function registeredRoutes(app: FastifyInstance): Route[] {
  const parents: string[] = [];
  const routes: Route[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^(.*?)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const url = (parents[depth - 1] ?? '') + match[2]!;
    parents[depth] = url;
    parents.length = depth + 1;
    if (url.includes('*')) continue;
    for (const method of match[3]?.split(', ') ?? []) {
      if (!IMPLICIT_METHODS.has(method)) routes.push({ method, url });
    }
  }
  return routes;
}
