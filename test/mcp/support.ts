import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/observability/logger.js';
import { UpstreamPool } from '../../src/mcp/client-pool.js';
import type { SsrfPolicy, UpstreamLimits, UpstreamStatus, UpstreamTarget, UpstreamTool } from '../../src/mcp/types.js';

/** Development policy: loopback upstreams are fine. */
export const OPEN_POLICY: SsrfPolicy = { enforce: false, allowedHosts: [] };

/** A logger that keeps every line, so tests can assert what was (not) logged. */
export function capturingLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), text: () => lines.join('') };
}

export interface PoolHarness {
  pool: UpstreamPool;
  logs: () => string;
  statuses: Array<{ connectionId: string; status: UpstreamStatus; message?: string }>;
  toolEvents: Array<{ connectionId: string; tools: UpstreamTool[] }>;
}

export function createPool(policy: SsrfPolicy = OPEN_POLICY, limits?: Partial<UpstreamLimits>): PoolHarness {
  const { logger, text } = capturingLogger();
  const pool = new UpstreamPool({ policy, logger, ...(limits ? { limits } : {}) });
  const harness: PoolHarness = { pool, logs: text, statuses: [], toolEvents: [] };
  pool.onStatusChanged((connectionId, status, message) => harness.statuses.push({ connectionId, status, message }));
  pool.onToolsChanged((connectionId, tools) => harness.toolEvents.push({ connectionId, tools }));
  return harness;
}

let counter = 0;
export function target(url: string, extra: Partial<UpstreamTarget> = {}): UpstreamTarget {
  counter += 1;
  return { connectionId: `conn-${counter}-${Date.now()}`, url, timeoutMs: 10_000, ...extra };
}

export { eventually } from '../helpers/eventually.js';

/** Resolves to the rejection of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}
