import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * How often the event loop's lag is sampled. prom-client samples every 10 ms:
 * 100 wake-ups a second of an idle gateway, each ~0.12 ms of CPU on a virtual
 * machine (bench/README.md, fifth round) — most of what an idle gateway
 * spends. At this rate a stall of L ms reads as L − 100 to L ms: one of
 * 100 ms or more always shows, a shorter one with a chance in proportion to
 * its length.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** prom-client always starts a lag sampler of its own; its statistics are replaced below, so it may as well sleep. */
const IDLE_SAMPLER_MS = 60_000;

/** Seconds of lag from the histogram of intervals between samples (microseconds). */
const LAG_STATISTICS = {
  min: (h: RecordableHistogram) => beyondInterval(h.min),
  max: (h: RecordableHistogram) => beyondInterval(h.max),
  mean: (h: RecordableHistogram) => beyondInterval(h.mean),
  // A spread: the interval cancels out.
  stddev: (h: RecordableHistogram) => h.stddev / 1e6,
  p50: (h: RecordableHistogram) => beyondInterval(h.percentile(50)),
  p90: (h: RecordableHistogram) => beyondInterval(h.percentile(90)),
  p99: (h: RecordableHistogram) => beyondInterval(h.percentile(99)),
} as const;

type Statistic = keyof typeof LAG_STATISTICS;
const STATISTICS = Object.keys(LAG_STATISTICS) as Statistic[];

const lagName = (statistic: string) => `nodejs_eventloop_lag_${statistic}_seconds`;

/**
 * Node's process metrics (CPU, memory, handles, GC, `nodejs_eventloop_lag_seconds`)
 * as prom-client exports them, with the lag statistics
 * (`nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`) sampled
 * every EVENT_LOOP_SAMPLE_MS and reported as the delay beyond that interval
 * (prom-client reports the whole interval: its `min` reads 10 ms on an idle
 * loop). Statistics cover the time since the previous scrape. Returns what
 * stops the sampler.
 */
export function registerProcessMetrics(registry: Registry): () => void {
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults, eventLoopMonitoringPrecision: IDLE_SAMPLER_MS });
  const replaced = new Set(STATISTICS.map(lagName));
  for (const { name } of defaults.getMetricsAsArray()) {
    const metric = defaults.getSingleMetric(name);
    if (metric && !replaced.has(name)) registry.registerMetric(metric);
  }

  // Our own timer rather than monitorEventLoopDelay: that one forgets its last sample on reset(),
  // so a stall right after a scrape would go unrecorded.
  const intervals = createHistogram();
  let last = performance.now();
  const sampler = setInterval(() => {
    const now = performance.now();
    intervals.record(Math.max(1, Math.round((now - last) * 1000)));
    last = now;
  }, EVENT_LOOP_SAMPLE_MS);
  sampler.unref();

  const gauges = new Map<Statistic, Gauge>();
  let readThisScrape = false;
  // Whichever gauge a scrape reads first fills them all, once per scrape.
  const refresh = () => {
    if (readThisScrape) return;
    readThisScrape = true;
    queueMicrotask(() => (readThisScrape = false));
    // No sample since the last scrape (scrapes closer than the interval): keep the last values.
    if (intervals.count === 0) return;
    for (const [statistic, gauge] of gauges) gauge.set(LAG_STATISTICS[statistic](intervals));
    intervals.reset();
  };
  for (const statistic of STATISTICS) {
    const help = `Event loop lag beyond the ${EVENT_LOOP_SAMPLE_MS} ms sampling interval since the last scrape, ${statistic}, in seconds`;
    gauges.set(statistic, new Gauge({ name: lagName(statistic), help, registers: [registry], collect: refresh }));
  }
  return () => clearInterval(sampler);
}

function beyondInterval(microseconds: number): number {
  return Math.max(0, microseconds / 1000 - EVENT_LOOP_SAMPLE_MS) / 1000;
}
