/**
 * The gateway's services without any door: the real wiring (database with
 * migrations, upstream pool, limiter, event bus, the shared test Chroma), for
 * tests that call the services as a door would.
 */
import { rmSync } from 'node:fs';
import { expect } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { AppError } from '../../src/errors/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { createServices, type ServiceContainer } from '../../src/services/container.js';
import { testConfig } from './gateway.js';

export interface TestServices {
  services: ServiceContainer;
  /** Creates (or updates) an agent in the database and returns its verified principal. */
  principal(id: string, namespace: string, role?: Principal['role']): Promise<Principal>;
  close(): Promise<void>;
}

export async function startServices(env: Record<string, string> = {}): Promise<TestServices> {
  const { dir, database, config } = await testConfig(env);
  const services = await createServices(config, createLogger(config.logLevel), { drainMs: 1_000 });
  return {
    services,
    async principal(id, namespace, role = 'agent') {
      await services.agents.upsert({ id, namespace, name: id, role, status: 'active' });
      return { agentId: id, namespace, role };
    },
    async close() {
      await services.close();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The AppError `work` rejects with; fails the test when it resolves or throws anything else. */
export async function refusal(work: Promise<unknown>): Promise<AppError> {
  const outcome = await work.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(AppError);
  return outcome as AppError;
}
