import type { Environment } from '../config/env.js';

/** The four limited MCP operations (SPEC §5). */
export type BucketName = 'mcp_create_connection' | 'mcp_discover_tools' | 'mcp_execute_tool' | 'mcp_disconnect';

export const BUCKET_NAMES: readonly BucketName[] = ['mcp_create_connection', 'mcp_discover_tools', 'mcp_execute_tool', 'mcp_disconnect'];

/**
 * One bucket's numbers for a single agent. A 60 s window holds `limit + burst`
 * requests; the request that overflows it blocks the key for `blockSeconds`.
 */
export interface BucketRule {
  limit: number;
  burst: number;
  blockSeconds: number;
  periodSeconds: 60;
}

/** Client-IP keys get five times the agent numbers: one address may front many agents. */
export const IP_MULTIPLIER = 5;

const PERIOD_SECONDS = 60;

type BaseNumbers = Record<BucketName, { limit: number; burst: number; blockSeconds: number }>;

const PRODUCTION: BaseNumbers = {
  mcp_create_connection: { limit: 10, burst: 2, blockSeconds: 300 },
  mcp_discover_tools: { limit: 50, burst: 10, blockSeconds: 60 },
  mcp_execute_tool: { limit: 100, burst: 20, blockSeconds: 60 },
  mcp_disconnect: { limit: 20, burst: 5, blockSeconds: 60 },
};

const DEVELOPMENT: BaseNumbers = {
  mcp_create_connection: { limit: 30, burst: 10, blockSeconds: 300 },
  mcp_discover_tools: { limit: 100, burst: 20, blockSeconds: 60 },
  mcp_execute_tool: { limit: 200, burst: 50, blockSeconds: 60 },
  mcp_disconnect: { limit: 50, burst: 10, blockSeconds: 60 },
};

/**
 * The bucket table for an environment. Outside production `scale` multiplies
 * limit and burst (the benchmark raises it so the limiter runs on every call
 * without capping); production ignores it. `test` reports the development
 * numbers, although the limiter does not enforce them there.
 */
export function bucketRules(environment: Environment, scale: number): Record<BucketName, BucketRule> {
  const base = environment === 'production' ? PRODUCTION : DEVELOPMENT;
  const factor = environment === 'production' || !Number.isFinite(scale) || scale <= 0 ? 1 : scale;
  const rules = {} as Record<BucketName, BucketRule>;
  for (const name of BUCKET_NAMES) {
    const { limit, burst, blockSeconds } = base[name];
    rules[name] = {
      // A scaled limit never reaches zero: a bucket that admits nothing would be an outage.
      limit: Math.max(1, Math.floor(limit * factor)),
      burst: Math.floor(burst * factor),
      blockSeconds,
      periodSeconds: PERIOD_SECONDS,
    };
  }
  return rules;
}

/** Requests one 60 s window holds for a key (agent: limit + burst; IP: five times that). */
export function windowCapacity(rule: BucketRule, scope: 'agent' | 'ip'): number {
  const capacity = rule.limit + rule.burst;
  return scope === 'ip' ? capacity * IP_MULTIPLIER : capacity;
}

/** The in-memory fallback runs at half the numbers, but always admits at least one request. */
export function halvedCapacity(capacity: number): number {
  return Math.max(1, Math.floor(capacity / 2));
}
