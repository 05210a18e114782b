/**
 * Closed-loop load: C workers, each with exactly one call in flight, issuing
 * the next call as soon as the previous one returns. Throughput is what the
 * system under test sustains at that concurrency; latency is measured per
 * call with the monotonic clock.
 */
import { performance } from 'node:perf_hooks';

/** One call of the operation under test. Rejects (or throws) when the call failed. */
export type Operation = () => Promise<void>;

export interface LoadSample {
  calls: number;
  errors: number;
  /** Wall time of the whole segment, first call issued → last call returned. */
  elapsedMs: number;
  /** Latency of every successful call, in ms. */
  latenciesMs: number[];
  /** First error message seen, to say why a segment failed. */
  firstError?: string;
}

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  /** Stop a segment early after this many errors (a broken target should not spin for the whole duration). @default 100 */
  maxErrors?: number;
}

/**
 * Runs `operation` with `concurrency` calls in flight for `durationMs`.
 * Workers stop issuing at the deadline and the segment ends when the last
 * call in flight returns, so no call is cut short or left unmeasured.
 */
export async function runClosedLoop(operation: Operation, options: LoadOptions): Promise<LoadSample> {
  const maxErrors = options.maxErrors ?? 100;
  const latenciesMs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + options.durationMs;

  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && errors < maxErrors) {
      const t0 = performance.now();
      try {
        await operation();
        latenciesMs.push(performance.now() - t0);
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const sample: LoadSample = { calls: latenciesMs.length, errors, elapsedMs: performance.now() - started, latenciesMs };
  if (firstError !== undefined) sample.firstError = firstError;
  return sample;
}

/** Percentile (nearest rank) of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
}

export function summarizeLatencies(latenciesMs: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(latenciesMs).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean: sorted.length > 0 ? sum / sorted.length : Number.NaN,
    max: sorted.length > 0 ? (sorted[sorted.length - 1] ?? Number.NaN) : Number.NaN,
  };
}
