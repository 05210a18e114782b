import { monitorEventLoopDelay } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * How often the event loop's lag is sampled. prom-client samples every 10 ms:
 * 100 wake-ups a second of an idle gateway, each ~0.12 ms of CPU on a virtual
 * machine (bench/README.md, fifth round) — most of what an idle gateway
 * spends. A stall of 100 ms or more is always caught at this rate; a shorter
 * one with a chance in proportion to its length.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** prom-client always starts a lag sampler of its own; its statistics are replaced below, so it may as well sleep. */
const IDLE_SAMPLER_MS = 60_000;

/** Seconds of lag from Node's histogram of intervals between samples (nanoseconds). */
const LAG_STATISTICS = {
  min: (h: Histogram) => beyondInterval(h.min),
  max: (h: Histogram) => beyondInterval(h.max),
  mean: (h: Histogram) => beyondInterval(h.mean),
  // A spread: the interval cancels out.
  stddev: (h: Histogram) => h.stddev / 1e9,
  p50: (h: Histogram) => beyondInterval(h.percentile(50)),
  p90: (h: Histogram) => beyondInterval(h.percentile(90)),
  p99: (h: Histogram) => beyondInterval(h.percentile(99)),
} as const;

type Histogram = ReturnType<typeof monitorEventLoopDelay>;
type Statistic = keyof typeof LAG_STATISTICS;
const STATISTICS = Object.keys(LAG_STATISTICS) as Statistic[];

const lagName = (statistic: string) => `nodejs_eventloop_lag_${statistic}_seconds`;

/**
 * Node's process metrics (CPU, memory, handles, GC, `nodejs_eventloop_lag_seconds`)
 * as prom-client exports them, with the lag statistics
 * (`nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`) sampled
 * every EVENT_LOOP_SAMPLE_MS and reported as the delay beyond that interval:
 * Node's histogram records the whole time between two samples, which
 * prom-client passes on (its `min` reads its 10 ms interval on an idle loop).
 * Statistics cover the time since the previous scrape.
 */
export function registerProcessMetrics(registry: Registry): void {
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults, eventLoopMonitoringPrecision: IDLE_SAMPLER_MS });
  const replaced = new Set(STATISTICS.map(lagName));
  for (const { name } of defaults.getMetricsAsArray()) {
    const metric = defaults.getSingleMetric(name);
    if (metric && !replaced.has(name)) registry.registerMetric(metric);
  }

  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLE_MS });
  histogram.enable();
  const gauges: [Statistic, Gauge][] = [];
  const collectAll = () => {
    // No sample since the last scrape (scrapes closer than the interval): keep the last values.
    if (histogram.count === 0) return;
    for (const [statistic, gauge] of gauges) gauge.set(LAG_STATISTICS[statistic](histogram));
    histogram.reset();
  };
  for (const statistic of STATISTICS) {
    const help = `Event loop lag beyond the ${EVENT_LOOP_SAMPLE_MS} ms sampling interval since the last scrape, ${statistic}, in seconds`;
    // The first gauge reads the histogram for all of them: a scrape collects them in registration order.
    const collect = gauges.length === 0 ? collectAll : undefined;
    gauges.push([statistic, new Gauge({ name: lagName(statistic), help, registers: [registry], collect })]);
  }
}

function beyondInterval(nanoseconds: number): number {
  return Math.max(0, nanoseconds / 1e6 - EVENT_LOOP_SAMPLE_MS) / 1000;
}
