/**
 * SPEC §13: the built gateway (`npm run build` → dist/) runs with plain node — the gateway and
 * its CLI, migrations included — and `TMWS_WORKERS=2` serves one port from two worker processes
 * that share Redis: create, execute and subscribe through that port, one creates budget for
 * both, a crashed worker replaced, SIGTERM stopping all.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openOrm } from '../../src/db/orm.js';
import { ExecutionProgressDocument, StartExecutionDocument, type ExecutionProgressSubscription } from '../gql/graphql.js';
import { collect, sse } from '../graphql/client.js';
import {
  buildGateway,
  deployedNodeFlags,
  runNode,
  startNode,
  waitHealthy,
  type Build,
  type NodeProcess,
} from '../helpers/built-gateway.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/net.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';

const SECRET = 'deploy-test-secret-0123456789abcdef0123456789';
const cleanups: (() => unknown)[] = [];
let build: Build;
let redis: RedisTestServer;

beforeAll(async () => {
  [build, redis] = await Promise.all([buildGateway(), startRedis()]);
  cleanups.push(
    () => build.remove(),
    () => redis.stop(),
  );
}, 120_000);
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A production gateway's environment on a fresh SQLite file (production: real limits, real auth). */
function productionEnv(port: number, extra: Record<string, string> = {}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'tmws-built-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return {
    TMWS_ENVIRONMENT: 'production',
    TMWS_SECRET_KEY: SECRET,
    TMWS_API_PORT: String(port),
    TMWS_DATA_DIR: dir,
    TMWS_DATABASE_URL: `sqlite:///${join(dir, 'tmws.db')}`,
    TMWS_CHROMA_URL: inject('chromaUrl'),
    TMWS_CHROMA_PREFIX: `built${port}`,
    TMWS_MCP_ALLOWED_HOSTS: '127.0.0.1',
    TMWS_LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** With the Node flags of deploy/systemd/tmws.service's ExecStart: as the unit runs it. */
const DEPLOYED_FLAGS = deployedNodeFlags(process.cwd());

async function startBuilt(env: Record<string, string>): Promise<{ url: string; gateway: NodeProcess }> {
  const gateway = startNode(join(build.dir, 'main.js'), [], env, DEPLOYED_FLAGS);
  cleanups.push(() => gateway.stop('SIGKILL'));
  const url = `http://127.0.0.1:${env.TMWS_API_PORT}`;
  await waitHealthy(url, gateway);
  return { url, gateway };
}

/** An agent and its token, made with the built CLI against the gateway's database. */
async function agentToken(env: Record<string, string>, id: string): Promise<string> {
  await runNode(join(build.dir, 'cli/agent-create.js'), ['--agent-id', id, '--namespace', `${id}-ns`, '--name', id], env);
  return (await runNode(join(build.dir, 'cli/token.js'), ['--agent-id', id], env)).trim();
}

/** A process's arguments as the kernel holds them. */
function commandLineOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

function createConnection(url: string, token: string, name: string): Promise<Response> {
  return fetch(`${url}/api/v1/mcp/connections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ server_name: name, url: inject('everythingUrl') }),
  });
}

describe('the built gateway (node dist/main.js, no tsx)', () => {
  it('migrates, serves /health, answers its CLI, and stops with exit 0 on SIGTERM', async () => {
    const env = productionEnv(await freePort());
    const status = await runNode(join(build.dir, 'cli/migrate.js'), ['--status'], env);
    expect(status).toMatch(/pending\s+Migration/);
    const { url, gateway } = await startBuilt(env);
    expect(gateway.child.spawnargs.join(' ')).not.toMatch(/tsx/);
    expect(await runNode(join(build.dir, 'cli/migrate.js'), ['--status'], env)).not.toMatch(/pending/);
    const token = await agentToken(env, 'built-agent');
    const created = await createConnection(url, token, 'everything');
    expect(created.status).toBe(201);
    expect(await gateway.stop()).toBe(0);
  });
});

describe('TMWS_WORKERS=2 on SQLite with Redis', () => {
  it('serves create, execute and subscriptions through one port, shares one creates budget, replaces a crashed worker, stops on SIGTERM', async () => {
    const env = productionEnv(await freePort(), { TMWS_WORKERS: '2', TMWS_REDIS_URL: redis.url });
    const { url, gateway: primary } = await startBuilt(env);
    const orm = await openOrm({ driver: 'sqlite', path: env.TMWS_DATABASE_URL!.slice('sqlite:///'.length) });
    cleanups.push(() => orm.close(true));
    const workerPids = async (): Promise<number[]> => {
      const rows: { pid: number }[] = await orm.em.getConnection().execute('select "pid" from "gateway_instances" order by "pid"');
      return rows.map((row) => row.pid);
    };
    // Both workers registered their execution lease: two processes, neither of them the primary.
    const pids = await eventually(async () => ((await workerPids()).length === 2 ? workerPids() : undefined), 30_000, 'two workers');
    expect(pids).not.toContain(primary.child.pid);
    // Forked workers run with the primary's Node flags (cluster.fork passes process.execArgv on).
    for (const pid of pids) expect(commandLineOf(pid)).toEqual(expect.arrayContaining(DEPLOYED_FLAGS));

    const token = await agentToken(env, 'workers-agent');
    const created = await createConnection(url, token, 'everything');
    expect(created.status).toBe(201);
    const connectionId = ((await created.json()) as { id: string }).id;

    const executed = await fetch(`${url}/api/v1/mcp/connections/${connectionId}/tools/echo/execute`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: { message: 'through the cluster' } }),
    });
    expect(executed.status).toBe(200);
    expect(JSON.stringify(await executed.json())).toContain('through the cluster');

    // A subscription on whichever worker follows an execution started on whichever worker.
    const started = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        query: print(StartExecutionDocument),
        variables: { input: { connectionId, toolName: 'trigger-long-running-operation', arguments: { duration: 1, steps: 2 } } },
      }),
    });
    const executionId = ((await started.json()) as { data: { startExecution: { id: string } } }).data.startExecution.id;
    const progress = await sse<ExecutionProgressSubscription>({ url }, ExecutionProgressDocument, { executionId }, token);
    const events = (await collect(progress.events, (e) => e.data?.executionProgress.type === 'COMPLETED', 30_000)).map(
      (e) => e.data?.executionProgress.type,
    );
    expect(events.at(-1)).toBe('COMPLETED');

    // Production budget for creates: 10 + 2 per agent per minute, counted in Redis for both workers.
    // Round-robin spreads these over both workers; with per-worker counters all 13 would pass.
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await createConnection(url, token, `budget-${i}`)).status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(11);
    expect(statuses.at(-1)).toBe(429);

    // A worker killed by -9 is replaced; the port keeps answering meanwhile.
    // A client's open connection to the killed worker is reset; a new one is served by the other
    // worker once the primary has seen the death (a moment), hence a fresh connection per try.
    process.kill(pids[0]!, 'SIGKILL');
    expect(await eventually(async () => ((await healthOnNewConnection(url)) === 200 ? 200 : undefined), 10_000, 'the port answering')).toBe(
      200,
    );
    await eventually(
      async () => {
        const now = await workerPids();
        return now.length >= 2 && now.some((pid) => !pids.includes(pid));
      },
      30_000,
      'a replacement worker',
    );

    // SIGTERM to the primary drains every worker and exits 0.
    expect(await primary.stop('SIGTERM')).toBe(0);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect((await workerPids()).filter(alive)).toEqual([]);
  }, 120_000);

  it('exits 1 when its workers cannot start (the port is taken), instead of restarting them forever', async () => {
    const taken = createServer();
    const port = await new Promise<number>((resolve) =>
      taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)),
    );
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
    const primary = startNode(join(build.dir, 'main.js'), [], productionEnv(port, { TMWS_WORKERS: '2', TMWS_REDIS_URL: redis.url }));
    cleanups.push(() => primary.stop('SIGKILL'));
    expect(await primary.exited).toBe(1);
    expect(primary.output()).toMatch(/gateway worker failed to start; stopping/);
  }, 60_000);
});

/** `GET /health` on a connection of its own (no keep-alive socket reused); the status, or undefined when refused, reset or unanswered. */
function healthOnNewConnection(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = httpGet(`${url}/health`, { agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', () => resolve(undefined));
    // A connection the primary handed to the worker just before it noticed the death is never
    // answered (node:cluster round-robin): give up on it and try a new one.
    request.setTimeout(2_000, () => request.destroy());
  });
}
