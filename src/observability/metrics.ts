import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerProcessMetrics } from './process-metrics.js';

export interface MetricsOptions {
  /**
   * Also export Node process metrics (CPU, memory, event-loop lag, GC): see process-metrics.ts.
   * @default true
   */
  processMetrics?: boolean;
}

/** Latency buckets for gateway HTTP handling, which is mostly sub-10 ms. */
const HTTP_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Tool calls span milliseconds to the 300 s maximum connection timeout. */
const TOOL_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * Every Prometheus series the gateway exports (SPEC §8), on a registry of its
 * own rather than prom-client's global one, so that several apps can live in
 * one test process without "metric already registered" clashes.
 */
export class Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly toolExecutions: Counter<'status'>;
  readonly toolExecutionDuration: Histogram;
  /** `status` is `allowed`, `blocked` (429) or `error` (denied because the limiter failed); SPEC §8. */
  readonly rateLimitRequests: Counter<'endpoint' | 'status'>;
  readonly degradedMode: Gauge;
  readonly redisFailures: Counter;
  readonly connectionsActive: Gauge;
  readonly ready: Gauge;
  private countActiveConnections: (() => Promise<number>) | undefined;
  readonly toolsQuarantined: Gauge;
  private countQuarantinedTools: (() => Promise<number>) | undefined;
  private probeReadiness: (() => Promise<boolean>) | undefined;
  private stopProcessMetrics: (() => void) | undefined;

  constructor(options: MetricsOptions = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests handled, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request handling time in seconds, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_SECONDS_BUCKETS,
      registers,
    });
    this.toolExecutions = new Counter({
      name: 'mcp_tool_executions_total',
      help: 'Tool executions finished, by final status',
      labelNames: ['status'],
      registers,
    });
    this.toolExecutionDuration = new Histogram({
      name: 'mcp_tool_execution_duration_seconds',
      help: 'Wall time of tool executions in seconds',
      buckets: TOOL_SECONDS_BUCKETS,
      registers,
    });
    this.rateLimitRequests = new Counter({
      name: 'rate_limit_requests_total',
      help: 'Rate limiter decisions, by bucket (endpoint) and outcome (allowed, blocked, error)',
      labelNames: ['endpoint', 'status'],
      registers,
    });
    this.degradedMode = new Gauge({
      name: 'rate_limiter_degraded_mode',
      help: '1 while the rate limiter runs on its in-memory fallback at half limits because Redis keeps failing',
      registers,
    });
    this.redisFailures = new Counter({
      name: 'rate_limiter_redis_failures_total',
      help: 'Failed or timed-out Redis calls made by the rate limiter (including recovery probes)',
      registers,
    });
    // Read from the database at scrape time: status changes happen on every instance (and in the
    // background, on upstream restarts), so a counter kept in one process would drift.
    const countActive = (): Promise<number> | undefined => this.countActiveConnections?.();
    this.connectionsActive = new Gauge({
      name: 'mcp_connections_active',
      help: 'Upstream MCP connections currently in the active state (all instances; the same value on each)',
      registers,
      async collect() {
        try {
          const count = await countActive();
          if (count !== undefined) this.set(count);
        } catch {
          // Keep the last value: a scrape during a database hiccup must not fail or report 0.
        }
      },
    });
    const countQuarantined = (): Promise<number> | undefined => this.countQuarantinedTools?.();
    this.toolsQuarantined = new Gauge({
      name: 'mcp_tools_quarantined',
      help: 'Tools of live connections quarantined until an admin approves or rejects their definition (all instances)',
      registers,
      async collect() {
        try {
          const count = await countQuarantined();
          if (count !== undefined) this.set(count);
        } catch {
          // As above: keep the last value through a database hiccup.
        }
      },
    });
    this.toolsQuarantined.set(0);
    // The readiness of /health/ready as a number, so Prometheus alerts on it without a probe exporter.
    const probeReady = (): Promise<boolean> | undefined => this.probeReadiness?.();
    this.ready = new Gauge({
      name: 'gateway_ready',
      help: '1 when this instance is ready (database and Chroma answer, Redis when configured), 0 otherwise: /health/ready',
      registers,
      async collect() {
        const ready = await probeReady()?.catch(() => false);
        if (ready !== undefined) this.set(ready ? 1 : 0);
      },
    });
    // Present from the first scrape, so dashboards and alerts see 0 rather than "no data".
    this.degradedMode.set(0);
    this.connectionsActive.set(0);
    if (options.processMetrics ?? true) this.stopProcessMetrics = registerProcessMetrics(this.registry);
  }

  /** Makes `mcp_connections_active` report `count()` at every scrape. */
  countActiveConnectionsWith(count: () => Promise<number>): void {
    this.countActiveConnections = count;
  }

  /** Makes `mcp_tools_quarantined` report `count()` at every scrape. */
  countQuarantinedToolsWith(count: () => Promise<number>): void {
    this.countQuarantinedTools = count;
  }

  /** `gateway_ready` asks this at each scrape (the readiness probe is bounded, see HealthService). */
  reportReadinessWith(probe: () => Promise<boolean>): void {
    this.probeReadiness = probe;
  }

  /** Content-Type of `render()` output (Prometheus text exposition format). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every series. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Stops the event loop lag sampler; the series stay readable. */
  close(): void {
    this.stopProcessMetrics?.();
  }
}
