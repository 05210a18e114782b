import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { RateLimitExceededError } from '../../src/errors/index.js';
import type { BucketName } from '../../src/ratelimit/buckets.js';
import type { RateLimiter, RateLimitSubject } from '../../src/ratelimit/limiter.js';

export interface CapturedLog {
  level: number;
  msg: string;
}

/** A real pino logger whose JSON lines are kept for assertions. */
export function capturingLogger(): { logger: Logger; lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as CapturedLog);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

export function testDeps(): { logger: Logger; metrics: Metrics; lines: CapturedLog[] } {
  const { logger, lines } = capturingLogger();
  return { logger, metrics: new Metrics({ processMetrics: false }), lines };
}

let counter = 0;
/** A subject nobody else uses, so tests sharing one Redis never share a budget. */
export function freshSubject(overrides: Partial<RateLimitSubject> = {}): RateLimitSubject {
  counter += 1;
  const unique = `${process.pid}-${Date.now().toString(36)}-${counter}`;
  const [a = 0, b = 0, c = 0] = randomBytes(3);
  return { agentId: `agent-${unique}`, namespace: `ns-${unique}`, ip: `10.${a}.${b}.${c}`, ...overrides };
}

export interface Tally {
  allowed: number;
  limited: RateLimitExceededError[];
  other: unknown[];
}

/** Consumes `times` sequentially and sorts the answers. */
export async function consumeTimes(limiter: RateLimiter, bucket: BucketName, subject: RateLimitSubject, times: number): Promise<Tally> {
  const tally: Tally = { allowed: 0, limited: [], other: [] };
  for (let i = 0; i < times; i += 1) {
    try {
      await limiter.consume(bucket, subject);
      tally.allowed += 1;
    } catch (error) {
      if (error instanceof RateLimitExceededError) tally.limited.push(error);
      else tally.other.push(error);
    }
  }
  return tally;
}

/** Reads one sample of a metric from the Prometheus text. */
export async function metricValue(metrics: Metrics, series: string): Promise<number | undefined> {
  const text = await metrics.render();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
