import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { parseDatabaseUrl, type DatabaseTarget } from './database-url.js';
import { readDevSecret, type DevSecret } from './secret-key.js';

/** The only module that reads the environment. Everything else receives a Config. */
export type Environment = 'production' | 'development' | 'test';

export interface Config {
  environment: Environment;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Where the development key (and, by default, the database and Chroma data) live. */
  dataDir: string;
  http: HttpConfig;
  auth: AuthConfig;
  database: DatabaseConfig;
  redis: RedisConfig;
  chroma: ChromaConfig;
  /** Upstream MCP servers (SPEC §6). */
  upstreams: UpstreamsConfig;
  rateLimit: RateLimitConfig;
  /** Resource bounds against hostile upstreams and tenants (SPEC §14). */
  limits: ResourceLimits;
  /** Worker processes on one port (SPEC §13, `TMWS_WORKERS`); more than 1 requires Redis. @default 1 */
  workers: number;
  /** Execution lease timings (SPEC §10), derived from `TMWS_EXECUTION_LEASE_TTL`. */
  executionLease: ExecutionLeaseTimings;
  /** Non-fatal notes to log once the logger exists (e.g. ignored settings). */
  warnings: string[];
}

/** The listening server and what it believes about its callers. */
export interface HttpConfig {
  host: string;
  port: number;
  corsOrigins: string[];
  /** Proxies whose X-Forwarded-For is believed (SPEC §5). */
  trustedProxies: string[];
}

export interface AuthConfig {
  enabled: boolean;
  secretKey: string;
  /** Where the secret came from; logged at startup (never the key itself). */
  secretSource: 'env' | 'file';
  /** The development key file, when the secret came from it (`created`: to be written by `main`, see saveDevSecret). */
  secretKeyFile: DevSecret | undefined;
  /** Default lifetime of tokens the CLI issues. */
  tokenTtl: string;
}

export interface DatabaseConfig {
  target: DatabaseTarget;
  /** TMWS_DATABASE_URL as given. */
  url: string;
  echoSql: boolean;
  /** Executions older than this many seconds are purged; 0 keeps them forever. */
  executionRetentionSeconds: number;
}

export interface RedisConfig {
  /** Shared rate-limit counters and event bus; in-process without it. */
  url: string | undefined;
}

export interface ChromaConfig {
  /** An external Chroma server; without it a local one is started. */
  url: string | undefined;
  /** Data folder of the local Chroma. */
  path: string;
  /** Prefix of every Chroma collection, so deployments sharing one Chroma server never read each other's vectors. */
  collectionPrefix: string;
  embeddingProvider: string;
}

export interface UpstreamsConfig {
  /** Hosts and ranges an upstream URL may resolve to (SSRF guard). */
  allowedHosts: string[];
}

export interface RateLimitConfig {
  /** Multiplies every limit outside production (the benchmark). */
  scale: number;
}

/** SPEC §14: each bound has a default and an environment variable. */
export interface ResourceLimits {
  /** One upstream message or tool result, counted while it streams. @default 10 MiB */
  maxResultBytes: number;
  /** Tools kept from one connection's `tools/list`. @default 1000 */
  maxToolsPerConnection: number;
  /** A call's total life, progress or not. @default 900 s */
  maxCallSeconds: number;
  /** Open subscriptions (SSE + WebSocket) per agent in one process. @default 100 */
  maxSubscriptionsPerAgent: number;
  /** Longest token lifetime accepted (`exp - iat`, or `exp - now` without `iat`). @default 7 days */
  maxTokenTtlSeconds: number;
}

/** SPEC §10: a dead instance's RUNNING rows are FAILED within ttl + one sweep period. */
export interface ExecutionLeaseTimings {
  /** How long a lease lasts without renewal. @default 30 s */
  ttlMs: number;
  /** How often an instance renews its lease: a third of the ttl, so two renewals may fail before it lapses. */
  renewEveryMs: number;
  /** How often each instance looks for expired leases: half the ttl, so the worst case is 1.5 × ttl (45 s by default). */
  sweepEveryMs: number;
}

/** The longest lease whose worst case (1.5 × ttl) still meets SPEC §10's 60 s. */
const MAX_LEASE_TTL_SECONDS = 40;

export function leaseTimings(ttlSeconds: number): ExecutionLeaseTimings {
  const ttlMs = ttlSeconds * 1000;
  return { ttlMs, renewEveryMs: Math.round(ttlMs / 3), sweepEveryMs: Math.round(ttlMs / 2) };
}

/** Loopback only: what a development or test gateway may reach without `TMWS_MCP_ALLOWED_HOSTS`. */
export const LOOPBACK_UPSTREAM_HOSTS = ['127.0.0.0/8', '::1', 'localhost'];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const boolish = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const durationPattern = /^(\d+)\s*(s|m|h|d)?$/;

/** Parses `90`, `90s`, `15m`, `24h`, `30d` into seconds. */
export function parseDurationSeconds(value: string): number | undefined {
  const match = durationPattern.exec(value.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = { s: 1, m: 60, h: 3600, d: 86_400 }[unit] ?? 1;
  return amount * factor;
}

const schema = z.object({
  TMWS_ENVIRONMENT: z.enum(['production', 'development', 'test']).default('development'),
  TMWS_SECRET_KEY: z.string().optional(),
  TMWS_DATABASE_URL: z.string().default('sqlite:///./data/tmws.db'),
  TMWS_API_HOST: z.string().min(1).default('127.0.0.1'),
  TMWS_API_PORT: z.coerce.number().int().min(0).max(65_535).default(8000),
  TMWS_CORS_ORIGINS: z.string().default('[]'),
  TMWS_AUTH_ENABLED: boolish.default(true),
  TMWS_LOG_LEVEL: z
    .string()
    .default('INFO')
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(['trace', 'debug', 'info', 'warn', 'warning', 'error', 'critical', 'fatal', 'silent'])),
  TMWS_DB_ECHO_SQL: boolish.default(false),
  TMWS_REDIS_URL: z.string().url().optional(),
  REDIS_HOST: z.string().optional(),
  REDIS_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  TMWS_CHROMA_URL: z.string().url().optional(),
  TMWS_CHROMA_PATH: z.string().default('./data/chroma'),
  TMWS_TRUSTED_PROXIES: csv.default([]),
  // Unset means "the environment's default" (loopback outside production); an explicit empty value means none.
  TMWS_MCP_ALLOWED_HOSTS: csv.optional(),
  TMWS_TOKEN_TTL: z
    .string()
    .default('24h')
    .refine((v) => parseDurationSeconds(v) !== undefined, 'must look like 3600, 90s, 15m, 24h or 7d'),
  TMWS_RATE_LIMIT_SCALE: z.coerce.number().positive().default(1),
  TMWS_EMBEDDING_PROVIDER: z.string().default('use-lite'),
  TMWS_EXECUTION_RETENTION: z
    .string()
    .default('30d')
    .refine((v) => parseDurationSeconds(v) !== undefined, 'must look like 0, 3600, 15m, 24h or 30d'),
  TMWS_DATA_DIR: z.string().default('./data'),
  TMWS_CHROMA_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,30}$/, 'must be 1-31 letters, digits, "_" or "-", starting with a letter or digit')
    .default('tmws'),
  TMWS_MAX_RESULT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 ** 3)
    .default(10 * 1024 * 1024),
  TMWS_MAX_TOOLS_PER_CONNECTION: z.coerce.number().int().min(1).max(100_000).default(1000),
  TMWS_MAX_CALL_SECONDS: z
    .string()
    .default('900')
    .refine((v) => (parseDurationSeconds(v) ?? 0) >= 1, 'must be a duration of at least 1 s, e.g. 900, 15m'),
  TMWS_MAX_SUBSCRIPTIONS_PER_AGENT: z.coerce.number().int().min(1).max(100_000).default(100),
  TMWS_MAX_TOKEN_TTL: z
    .string()
    .default('7d')
    .refine((v) => (parseDurationSeconds(v) ?? 0) >= 60, 'must be a duration of at least 60 s, e.g. 24h, 7d'),
  TMWS_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  TMWS_EXECUTION_LEASE_TTL: z
    .string()
    .default('30s')
    .refine((v) => {
      const seconds = parseDurationSeconds(v) ?? 0;
      return seconds >= 2 && seconds <= MAX_LEASE_TTL_SECONDS;
    }, `must be a duration from 2 s to ${MAX_LEASE_TTL_SECONDS} s (a dead instance's executions are failed within 1.5 × this)`),
});

function parseCorsOrigins(raw: string, problems: string[]): string[] {
  const trimmed = raw.trim();
  if (trimmed === '') return [];
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (Array.isArray(parsed) && parsed.every((o) => typeof o === 'string')) return parsed;
  } catch {
    // fall through: a comma list is accepted too, for operators who skip the JSON
  }
  if (!trimmed.startsWith('['))
    return trimmed
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  problems.push('TMWS_CORS_ORIGINS: must be a JSON array of origins, e.g. ["https://dash.example.com"]');
  return [];
}

function isIpOrCidr(entry: string): boolean {
  if (ipaddr.isValid(entry)) return true;
  try {
    ipaddr.parseCIDR(entry);
    return true;
  } catch {
    return false;
  }
}

type Variables = z.infer<typeof schema>;

/**
 * Each variable on its own, so one bad value neither hides the others nor
 * stops the cross-variable rules: a bad variable is reported and its default
 * used for the rest of the checks.
 */
function parseEachVariable(clean: Record<string, string | undefined>, problems: string[]): Variables {
  const values: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.shape)) {
    const parsed = field.safeParse(clean[name]);
    if (parsed.success) {
      values[name] = parsed.data;
      continue;
    }
    problems.push(...parsed.error.issues.map((issue) => [name, ...issue.path].join('.') + `: ${issue.message}`));
    values[name] = field.safeParse(undefined).data;
  }
  return values as Variables;
}

/** Reads `.env` from the working directory; real environment variables win. */
export function readEnvironment(cwd = process.cwd()): Record<string, string | undefined> {
  const dotenvPath = resolve(cwd, '.env');
  const fromFile = existsSync(dotenvPath) ? parseDotenv(readFileSync(dotenvPath)) : {};
  return { ...fromFile, ...process.env };
}

/**
 * A "change me" value left in place, such as deploy/tmws.env.example's: it is
 * long enough to pass the length rule, and public, so anyone could sign tokens.
 */
const PLACEHOLDER_SECRET = /change[-_. ]?me/i;

/**
 * Validates every TMWS_* variable at once and reports all problems together —
 * format and cross-variable rules in one list — so an operator fixes a bad
 * deployment in one round trip. Reads only: the development key file, when
 * missing, is created by the caller (saveDevSecret).
 */
export function loadConfig(env: Record<string, string | undefined> = readEnvironment(), cwd = process.cwd()): Config {
  const clean = Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== undefined && (v !== '' || k === 'TMWS_MCP_ALLOWED_HOSTS')));
  const problems: string[] = [];
  const e = parseEachVariable(clean, problems);
  const warnings: string[] = [];
  const production = e.TMWS_ENVIRONMENT === 'production';
  const dataDir = resolve(cwd, e.TMWS_DATA_DIR);

  let secretKey = e.TMWS_SECRET_KEY ?? '';
  let secretSource: AuthConfig['secretSource'] = 'env';
  let secretKeyFile: DevSecret | undefined;
  if (!secretKey && e.TMWS_ENVIRONMENT === 'development') {
    secretKeyFile = readDevSecret(resolve(dataDir, 'secret.key'));
    secretKey = secretKeyFile.key;
    secretSource = 'file';
  } else if (!secretKey) {
    problems.push(`TMWS_SECRET_KEY: required in ${e.TMWS_ENVIRONMENT} (at least 32 characters)`);
  } else if (secretKey.length < 32) {
    problems.push(`TMWS_SECRET_KEY: must be at least 32 characters (got ${secretKey.length})`);
  } else if (PLACEHOLDER_SECRET.test(secretKey)) {
    problems.push('TMWS_SECRET_KEY: is still a placeholder (as in tmws.env.example); generate one with: openssl rand -hex 32');
  }

  let database: DatabaseTarget = { driver: 'sqlite', path: ':memory:' };
  try {
    database = parseDatabaseUrl(e.TMWS_DATABASE_URL, cwd);
  } catch (error) {
    problems.push(`TMWS_DATABASE_URL: ${(error as Error).message}`);
  }

  const badProxies = e.TMWS_TRUSTED_PROXIES.filter((entry) => !isIpOrCidr(entry));
  if (badProxies.length > 0) {
    problems.push(`TMWS_TRUSTED_PROXIES: not an IP address or CIDR range: ${badProxies.join(', ')}`);
  }

  const mcpAllowedHosts = e.TMWS_MCP_ALLOWED_HOSTS ?? (production ? [] : LOOPBACK_UPSTREAM_HOSTS);

  const corsOrigins = parseCorsOrigins(e.TMWS_CORS_ORIGINS, problems);
  if (production && corsOrigins.includes('*')) {
    problems.push('TMWS_CORS_ORIGINS: "*" is not allowed in production; list the dashboard origins');
  }
  if (!e.TMWS_AUTH_ENABLED && production) {
    problems.push('TMWS_AUTH_ENABLED: authentication cannot be disabled in production');
  }

  let rateLimitScale = e.TMWS_RATE_LIMIT_SCALE;
  if (production && rateLimitScale !== 1) {
    warnings.push('TMWS_RATE_LIMIT_SCALE is ignored in production');
    rateLimitScale = 1;
  }

  const redisUrl = e.TMWS_REDIS_URL ?? (e.REDIS_HOST ? `redis://${e.REDIS_HOST}:${e.REDIS_PORT ?? 6379}` : undefined);
  if (e.TMWS_WORKERS > 1 && !redisUrl) {
    problems.push(
      `TMWS_WORKERS: ${e.TMWS_WORKERS} workers need TMWS_REDIS_URL (or REDIS_HOST): without Redis every worker would keep ` +
        'its own rate-limit counters (the limits multiplied by the number of workers) and its own subscription events',
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);

  const level = e.TMWS_LOG_LEVEL;
  const logLevel: Config['logLevel'] = level === 'warning' ? 'warn' : level === 'critical' ? 'fatal' : level;

  return {
    environment: e.TMWS_ENVIRONMENT,
    logLevel,
    dataDir,
    http: { host: e.TMWS_API_HOST, port: e.TMWS_API_PORT, corsOrigins, trustedProxies: e.TMWS_TRUSTED_PROXIES },
    auth: { enabled: e.TMWS_AUTH_ENABLED, secretKey, secretSource, secretKeyFile, tokenTtl: e.TMWS_TOKEN_TTL },
    database: {
      target: database,
      url: e.TMWS_DATABASE_URL,
      echoSql: e.TMWS_DB_ECHO_SQL,
      executionRetentionSeconds: parseDurationSeconds(e.TMWS_EXECUTION_RETENTION) ?? 0,
    },
    redis: { url: redisUrl },
    chroma: {
      url: e.TMWS_CHROMA_URL,
      path: resolve(cwd, e.TMWS_CHROMA_PATH),
      collectionPrefix: e.TMWS_CHROMA_PREFIX,
      embeddingProvider: e.TMWS_EMBEDDING_PROVIDER,
    },
    upstreams: { allowedHosts: mcpAllowedHosts },
    rateLimit: { scale: rateLimitScale },
    limits: {
      maxResultBytes: e.TMWS_MAX_RESULT_BYTES,
      maxToolsPerConnection: e.TMWS_MAX_TOOLS_PER_CONNECTION,
      maxCallSeconds: parseDurationSeconds(e.TMWS_MAX_CALL_SECONDS) ?? 900,
      maxSubscriptionsPerAgent: e.TMWS_MAX_SUBSCRIPTIONS_PER_AGENT,
      maxTokenTtlSeconds: parseDurationSeconds(e.TMWS_MAX_TOKEN_TTL) ?? 7 * 86_400,
    },
    workers: e.TMWS_WORKERS,
    executionLease: leaseTimings(parseDurationSeconds(e.TMWS_EXECUTION_LEASE_TTL) ?? 30),
    warnings,
  };
}
