import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { routeNotFound, sendError } from '../http/server.js';
import { DASHBOARD_BUILD } from './location.js';

/**
 * The dashboard's page: scripts and styles from this origin only, no inline
 * code, images from this origin or made by the page itself (`blob:`), the
 * gateway's own API the only thing it may connect to (same-origin `ws:`
 * included), never framed.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // blob: only for the images of a tool's result, which the page itself decodes (dashboard/src/result-images.ts).
  "img-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Hashed names change with their content: cached for a year, never revalidated. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  type: string;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
}

function asset(name: string, body: Buffer): Asset {
  return {
    type: TYPES[extname(name)] ?? 'application/octet-stream',
    identity: body,
    gzip: gzipSync(body, { level: 9 }),
    br: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
  };
}

type LoadedBuild = { index: Asset; assets: Map<string, Asset> };

/**
 * Builds already read, by folder and build time: compressing them costs about
 * 0.2 s of CPU, paid once per process rather than per gateway (tests start many).
 */
const loaded = new Map<string, LoadedBuild>();

/** Reads the build (tens of KiB) and compresses it ahead of time; undefined when it was never built. */
function loadBuild(folder: string): LoadedBuild | undefined {
  const indexPath = join(folder, 'index.html');
  if (!existsSync(indexPath)) return undefined;
  try {
    return readBuild(folder, indexPath);
  } catch {
    // Half-removed by a rebuild running right now: serve the "not built" page rather than fail the start.
    return undefined;
  }
}

function readBuild(folder: string, indexPath: string): LoadedBuild {
  const key = `${folder}\u0000${statSync(indexPath).mtimeMs}`;
  const cached = loaded.get(key);
  if (cached) return cached;
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(join(folder, 'assets'))) assets.set(name, asset(name, readFileSync(join(folder, 'assets', name))));
  const build = { index: asset('index.html', readFileSync(indexPath)), assets };
  loaded.set(key, build);
  return build;
}

function send(request: FastifyRequest, reply: FastifyReply, body: Asset, cacheControl: string): FastifyReply {
  const accepted = String(request.headers['accept-encoding'] ?? '');
  const encoding = /\bbr\b/.test(accepted) ? 'br' : /\bgzip\b/.test(accepted) ? 'gzip' : 'identity';
  reply
    .header('Content-Type', body.type)
    .header('Cache-Control', cacheControl)
    .header('Content-Security-Policy', DASHBOARD_CSP)
    .header('Vary', 'Accept-Encoding');
  if (encoding !== 'identity') reply.header('Content-Encoding', encoding);
  return reply.send(body[encoding]);
}

const NOT_BUILT = `The dashboard is not built. In the gateway's folder run: npm run codegen && npm run build:dashboard
(npm install does this by itself), then restart the gateway.
`;

/**
 * `/` serves the dashboard (SPEC §12), `/assets/<name>-<hash>.(js|css)` its files.
 * Missing build → a 503 that says which command builds it.
 */
export function registerDashboard(app: FastifyInstance, folder = DASHBOARD_BUILD): void {
  const built = loadBuild(folder);
  app.get('/', async (request, reply) => {
    if (!built) return reply.code(503).header('Cache-Control', 'no-store').type('text/plain; charset=utf-8').send(NOT_BUILT);
    return send(request, reply, built.index, 'no-cache');
  });
  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const found = built?.assets.get(request.params.name);
    if (!found) return sendError(reply, request, routeNotFound(request));
    return send(request, reply, found, IMMUTABLE);
  });
}
