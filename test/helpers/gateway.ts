/**
 * Starts a real gateway on a random loopback port with its own SQLite file,
 * and offers the few things every HTTP test needs: agents, tokens, requests.
 *
 * `request()` goes through the gateway's own HTTP stack in process (Fastify's
 * `inject`: the same routes, hooks, body limits and error rendering, without a
 * socket), as a door's wire format needs no more. `url` is a real listening
 * socket for what only a socket shows: event streams, WebSockets, graceful
 * stop, browsers. `options.socket` sends `request()` over it too.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createApp, type CreateAppOptions, type Gateway } from '../../src/app.js';
import { signAgentToken, secretKeyBytes } from '../../src/auth/jwt.js';
import { loadConfig, type Config } from '../../src/config/env.js';
import { createLogger, type LoggerOptions } from '../../src/observability/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const TEST_SECRET = 'test-secret-key-that-is-long-enough-0123456789';

export interface TestAgent {
  id: string;
  namespace: string;
  role: 'agent' | 'admin';
  token: string;
}

export interface TestGateway {
  url: string;
  gateway: Gateway;
  config: Config;
  /** Creates (or updates) an agent in the database and returns it with a fresh 1 h token. */
  agent(id: string, namespace: string, role?: 'agent' | 'admin', status?: 'active' | 'inactive'): Promise<TestAgent>;
  /** A request to the gateway (in process unless `options.socket`) with an optional bearer token and JSON body. */
  request(path: string, init?: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

export interface TestConfig {
  /** The data folder (removed by the caller). */
  dir: string;
  /** The fresh database, unless `env` named one (dropped by the caller). */
  database: TestDatabase | undefined;
  config: Config;
}

/**
 * The configuration of a test gateway: environment test, a fresh database of the
 * project's dialect, the shared test Chroma with a collection prefix of its own.
 */
export async function testConfig(env: Record<string, string> = {}): Promise<TestConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'tmws-test-'));
  const database = env['TMWS_DATABASE_URL'] ? undefined : await createTestDatabase();
  const databaseUrl = env['TMWS_DATABASE_URL'] ?? database!.url;
  const config = loadConfig(
    {
      TMWS_ENVIRONMENT: 'test',
      TMWS_SECRET_KEY: TEST_SECRET,
      TMWS_DATABASE_URL: databaseUrl,
      TMWS_CHROMA_PREFIX: `t${createHash('sha256').update(databaseUrl).digest('hex').slice(0, 12)}`,
      TMWS_API_PORT: '0',
      TMWS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      TMWS_CHROMA_URL: inject('chromaUrl'),
      TMWS_DATA_DIR: dir,
      ...env,
    },
    dir,
  );
  return { dir, database, config };
}

/**
 * `env` overrides TMWS_* variables; defaults: environment test, a fresh database of the
 * project's dialect (SQLite, or PostgreSQL in the `postgresql` project), shared test Chroma.
 * Each database gets its own Chroma collection prefix: a gateway prunes, at start-up, the vectors
 * of connections its database does not know, and test files share one Chroma server.
 * `options.drainMs` shortens the graceful-stop wait for running executions.
 * `options.logDestination` receives the log lines (with `TMWS_LOG_LEVEL` in `env`), for tests of what is logged.
 * `options.socket` sends `request()` over the listening socket instead of in process.
 * `options.app` passes further options to createApp.
 */
export async function startGateway(
  env: Record<string, string> = {},
  options: { logDestination?: LoggerOptions['destination']; drainMs?: number; socket?: boolean; app?: CreateAppOptions } = {},
): Promise<TestGateway> {
  const { dir, database, config } = await testConfig(env);
  const gateway = await createApp(config, {
    ...options.app,
    logger: createLogger(config.logLevel, { destination: options.logDestination }),
    ...(options.drainMs !== undefined ? { drainMs: options.drainMs } : {}),
  });
  const url = await gateway.listen();
  const secret = secretKeyBytes(config.auth.secretKey);

  return {
    url,
    gateway,
    config,
    async agent(id, namespace, role = 'agent', status = 'active') {
      await gateway.services.agents.upsert({ id, namespace, name: id, role, status });
      gateway.services.authenticator.forget(id);
      return { id, namespace, role, token: await signAgentToken(id, secret, 3600) };
    },
    async request(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.token) headers.authorization = `Bearer ${init.token}`;
      let body: string | undefined;
      if (init.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      }
      const method = init.method ?? 'GET';
      if (options.socket) return fetch(`${url}${path}`, { method, headers, body });
      return injected(gateway, { method, path, headers, body });
    },
    async close() {
      await gateway.close();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The gateway's answer to a request made in process, as the fetch Response a socket would have given. */
async function injected(
  gateway: Gateway,
  request: { method: string; path: string; headers: Record<string, string>; body: string | undefined },
): Promise<Response> {
  const answer = await gateway.http.inject({
    method: request.method as 'GET',
    url: request.path,
    headers: request.headers,
    ...(request.body !== undefined ? { payload: request.body } : {}),
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    for (const item of Array.isArray(value) ? value : [value]) if (item !== undefined) headers.append(name, String(item));
  }
  const empty = answer.statusCode === 204 || answer.statusCode === 304 || request.method === 'HEAD';
  return new Response(empty ? null : new Uint8Array(answer.rawPayload), {
    status: answer.statusCode,
    statusText: answer.statusMessage,
    headers,
  });
}

declare module 'vitest' {
  export interface ProvidedContext {
    chromaUrl: string;
  }
}
