import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDurationSeconds } from '../../src/config/env.js';
import { parseDatabaseUrl } from '../../src/config/database-url.js';
import { saveDevSecret } from '../../src/config/secret-key.js';

const KEY = 'k'.repeat(40);
const tmp = () => mkdtempSync(join(tmpdir(), 'tmws-config-'));

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, tmp());
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({ TMWS_SECRET_KEY: KEY }, tmp());
    expect(config.environment).toBe('development');
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.http.port).toBe(8000);
    expect(config.database.target.driver).toBe('sqlite');
    expect(config.database.target).toMatchObject({ path: expect.stringMatching(/data\/tmws\.db$/) });
    expect(config.auth.enabled).toBe(true);
    expect(config.http.corsOrigins).toEqual([]);
    expect(config.redis.url).toBeUndefined();
    expect(config.auth.tokenTtl).toBe('24h');
  });

  it('refuses production without a secret key, or with a short one', () => {
    expect(problemsOf({ TMWS_ENVIRONMENT: 'production' }).join()).toMatch(/TMWS_SECRET_KEY: required/);
    expect(problemsOf({ TMWS_ENVIRONMENT: 'production', TMWS_SECRET_KEY: 'short' }).join()).toMatch(/at least 32/);
    expect(problemsOf({ TMWS_ENVIRONMENT: 'test' }).join()).toMatch(/TMWS_SECRET_KEY: required/);
  });

  it('refuses the placeholder secret of deploy/tmws.env.example, which is long enough but public', () => {
    const example = readFileSync(join(process.cwd(), 'deploy/tmws.env.example'), 'utf8');
    const placeholder = /^TMWS_SECRET_KEY=(.*)$/m.exec(example)?.[1];
    expect(placeholder?.length).toBeGreaterThanOrEqual(32);
    expect(problemsOf({ TMWS_ENVIRONMENT: 'production', TMWS_SECRET_KEY: placeholder ?? '' }).join()).toMatch(
      /TMWS_SECRET_KEY: is still a placeholder .*openssl rand -hex 32/,
    );
    expect(problemsOf({ TMWS_ENVIRONMENT: 'production', TMWS_SECRET_KEY: 'a'.repeat(20) + 'CHANGEME' + 'b'.repeat(10) })).toHaveLength(1);
    expect(problemsOf({ TMWS_ENVIRONMENT: 'production', TMWS_SECRET_KEY: '0123456789abcdef'.repeat(4) })).toEqual([]);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({
      TMWS_ENVIRONMENT: 'production',
      TMWS_SECRET_KEY: 'short',
      TMWS_CORS_ORIGINS: '["*"]',
      TMWS_AUTH_ENABLED: 'false',
    });
    expect(problems).toHaveLength(3);
  });

  it('reports bad formats and rule violations together, whichever variables are wrong', () => {
    const problems = problemsOf({
      TMWS_ENVIRONMENT: 'production',
      TMWS_API_PORT: 'eighty',
      TMWS_LOG_LEVEL: 'loud',
      TMWS_AUTH_ENABLED: 'false',
      TMWS_TRUSTED_PROXIES: 'proxy.local',
    });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'TMWS_API_PORT',
      'TMWS_LOG_LEVEL',
      'TMWS_SECRET_KEY',
      'TMWS_TRUSTED_PROXIES',
      'TMWS_AUTH_ENABLED',
    ]);
  });

  it('writes nothing while loading, in development without a key either', () => {
    const dir = tmp();
    loadConfig({}, dir);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects bad values with the variable name', () => {
    expect(problemsOf({ TMWS_SECRET_KEY: KEY, TMWS_ENVIRONMENT: 'staging' }).join()).toMatch(/TMWS_ENVIRONMENT/);
    expect(problemsOf({ TMWS_SECRET_KEY: KEY, TMWS_API_PORT: 'eighty' }).join()).toMatch(/TMWS_API_PORT/);
    expect(problemsOf({ TMWS_SECRET_KEY: KEY, TMWS_DATABASE_URL: 'mysql://x' }).join()).toMatch(/TMWS_DATABASE_URL/);
    expect(problemsOf({ TMWS_SECRET_KEY: KEY, TMWS_CORS_ORIGINS: '[1,2' }).join()).toMatch(/TMWS_CORS_ORIGINS/);
    expect(problemsOf({ TMWS_SECRET_KEY: KEY, TMWS_TRUSTED_PROXIES: '10.0.0.1, proxy.local' }).join()).toMatch(
      /TMWS_TRUSTED_PROXIES: .*proxy\.local/,
    );
    expect(problemsOf({ TMWS_SECRET_KEY: KEY, TMWS_TRUSTED_PROXIES: '10.0.0.1,10.1.0.0/16,::1' })).toEqual([]);
  });

  it('ignores the rate-limit scale in production, with a warning', () => {
    const config = loadConfig({ TMWS_ENVIRONMENT: 'production', TMWS_SECRET_KEY: KEY, TMWS_RATE_LIMIT_SCALE: '100' }, tmp());
    expect(config.rateLimit.scale).toBe(1);
    expect(config.warnings.join()).toMatch(/TMWS_RATE_LIMIT_SCALE/);
  });

  it('builds the Redis URL from REDIS_HOST and REDIS_PORT', () => {
    const config = loadConfig({ TMWS_SECRET_KEY: KEY, REDIS_HOST: '127.0.0.1', REDIS_PORT: '6390' }, tmp());
    expect(config.redis.url).toBe('redis://127.0.0.1:6390');
  });

  it('draws a development key without writing it; saved once 0600, it is reused', () => {
    const dir = tmp();
    const first = loadConfig({}, dir);
    const path = join(dir, 'data', 'secret.key');
    expect(first.auth.secretKey).toMatch(/^[0-9a-f]{64}$/);
    expect(first.auth.secretSource).toBe('file');
    expect(first.auth.secretKeyFile).toEqual({ key: first.auth.secretKey, path, created: true });
    expect(existsSync(path)).toBe(false);
    saveDevSecret(first.auth.secretKeyFile);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8').trim()).toBe(first.auth.secretKey);
    const second = loadConfig({}, dir);
    expect(second.auth.secretKey).toBe(first.auth.secretKey);
    expect(second.auth.secretKeyFile?.created).toBe(false);
  });

  it('parses the v2.3 database URL forms', () => {
    expect(parseDatabaseUrl('sqlite:///./data/x.db', '/srv')).toEqual({ driver: 'sqlite', path: '/srv/data/x.db' });
    expect(parseDatabaseUrl('sqlite+aiosqlite:///./x.db', '/srv')).toEqual({ driver: 'sqlite', path: '/srv/x.db' });
    expect(parseDatabaseUrl('sqlite:////var/lib/tmws.db')).toEqual({ driver: 'sqlite', path: '/var/lib/tmws.db' });
    expect(parseDatabaseUrl('postgresql+asyncpg://u:p@h:5432/db')).toEqual({ driver: 'postgresql', url: 'postgresql://u:p@h:5432/db' });
  });

  it('parses durations', () => {
    expect(parseDurationSeconds('90')).toBe(90);
    expect(parseDurationSeconds('15m')).toBe(900);
    expect(parseDurationSeconds('24h')).toBe(86_400);
    expect(parseDurationSeconds('soon')).toBeUndefined();
  });

  it('stops the process before listening when production has no key', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, TMWS_ENVIRONMENT: 'production', TMWS_API_PORT: '0' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/TMWS_SECRET_KEY: required in production/);
    expect(result.stdout).not.toMatch(/listening/);
  });

  it('reports format problems and rule problems in one round', () => {
    const problems = problemsOf({ TMWS_ENVIRONMENT: 'production', TMWS_API_PORT: 'eighty', TMWS_SECRET_KEY: 'short' });
    expect(problems.some((p) => p.startsWith('TMWS_API_PORT'))).toBe(true);
    expect(problems.some((p) => p.startsWith('TMWS_SECRET_KEY: must be at least 32'))).toBe(true);
  });

  it('allows only loopback upstreams by default outside production, and none in production', () => {
    expect(loadConfig({ TMWS_SECRET_KEY: KEY }, tmp()).upstreams.allowedHosts).toEqual(['127.0.0.0/8', '::1', 'localhost']);
    expect(loadConfig({ TMWS_ENVIRONMENT: 'production', TMWS_SECRET_KEY: KEY }, tmp()).upstreams.allowedHosts).toEqual([]);
    expect(loadConfig({ TMWS_SECRET_KEY: KEY, TMWS_MCP_ALLOWED_HOSTS: '' }, tmp()).upstreams.allowedHosts).toEqual([]);
    expect(loadConfig({ TMWS_SECRET_KEY: KEY, TMWS_MCP_ALLOWED_HOSTS: '10.0.0.0/8' }, tmp()).upstreams.allowedHosts).toEqual([
      '10.0.0.0/8',
    ]);
  });

  it('has the resource bounds of SPEC §14 by default and validates overrides', () => {
    expect(loadConfig({ TMWS_SECRET_KEY: KEY }, tmp()).limits).toEqual({
      maxResultBytes: 10 * 1024 * 1024,
      maxToolsPerConnection: 1000,
      maxCallSeconds: 900,
      maxSubscriptionsPerAgent: 100,
      maxTokenTtlSeconds: 7 * 86_400,
    });
    expect(loadConfig({ TMWS_SECRET_KEY: KEY, TMWS_MAX_CALL_SECONDS: '2m' }, tmp()).limits.maxCallSeconds).toBe(120);
    const problems = problemsOf({ TMWS_SECRET_KEY: KEY, TMWS_MAX_RESULT_BYTES: '-1', TMWS_MAX_TOKEN_TTL: 'forever' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['TMWS_MAX_RESULT_BYTES', 'TMWS_MAX_TOKEN_TTL']);
  });

  it('runs one worker by default; several need Redis, and the process refuses to start without it', () => {
    expect(loadConfig({ TMWS_SECRET_KEY: KEY }, tmp()).workers).toBe(1);
    expect(loadConfig({ TMWS_SECRET_KEY: KEY, TMWS_WORKERS: '4', TMWS_REDIS_URL: 'redis://127.0.0.1:6379' }, tmp()).workers).toBe(4);
    expect(problemsOf({ TMWS_SECRET_KEY: KEY, TMWS_WORKERS: '0' })[0]).toMatch(/^TMWS_WORKERS/);
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, TMWS_SECRET_KEY: KEY, TMWS_WORKERS: '2', TMWS_API_PORT: '0', TMWS_DATA_DIR: tmp() },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/TMWS_WORKERS: 2 workers need TMWS_REDIS_URL \(or REDIS_HOST\)/);
    expect(result.stdout).not.toMatch(/listening/);
  });

  it("fails a dead instance's executions within 45 s by default; the lease ttl is bounded so that stays within 60 s", () => {
    expect(loadConfig({ TMWS_SECRET_KEY: KEY }, tmp()).executionLease).toEqual({
      ttlMs: 30_000,
      renewEveryMs: 10_000,
      sweepEveryMs: 15_000,
    });
    expect(loadConfig({ TMWS_SECRET_KEY: KEY, TMWS_EXECUTION_LEASE_TTL: '3s' }, tmp()).executionLease).toEqual({
      ttlMs: 3_000,
      renewEveryMs: 1_000,
      sweepEveryMs: 1_500,
    });
    expect(problemsOf({ TMWS_SECRET_KEY: KEY, TMWS_EXECUTION_LEASE_TTL: '41s' })[0]).toMatch(
      /^TMWS_EXECUTION_LEASE_TTL: must be a duration from 2 s to 40 s/,
    );
  });
});
