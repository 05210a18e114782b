import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';

describe('Metrics', () => {
  it('exports every SPEC §8 series from its own registry', async () => {
    const metrics = new Metrics();
    metrics.httpRequests.inc({ method: 'GET', route: '/health', status: '200' });
    metrics.httpDuration.observe({ method: 'GET', route: '/health', status: '200' }, 0.002);
    metrics.toolExecutions.inc({ status: 'completed' });
    metrics.toolExecutionDuration.observe(0.4);
    metrics.rateLimitRequests.inc({ endpoint: 'mcp_execute_tool', status: 'allowed' });
    const text = await metrics.render();
    expect(text).toContain('http_requests_total{method="GET",route="/health",status="200"} 1');
    expect(text).toContain('http_request_duration_seconds_bucket{le="0.0025",method="GET",route="/health",status="200"} 1');
    expect(text).toContain('mcp_tool_executions_total{status="completed"} 1');
    expect(text).toContain('mcp_tool_execution_duration_seconds_count 1');
    expect(text).toContain('rate_limit_requests_total{endpoint="mcp_execute_tool",status="allowed"} 1');
    expect(text).toContain('rate_limiter_degraded_mode 0');
    expect(text).toContain('rate_limiter_redis_failures_total 0');
    expect(text).toContain('mcp_connections_active 0');
    expect(text).toContain('mcp_tools_quarantined 0');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(metrics.contentType).toMatch(/^text\/plain/);
  });

  it("exports every one of Node's process metrics that prom-client does, each once", async () => {
    const metrics = new Metrics();
    const plain = new Registry();
    collectDefaultMetrics({ register: plain });
    const typesOf = (text: string) => text.split('\n').filter((line) => line.startsWith('# TYPE '));
    const ours = typesOf(await metrics.render());
    for (const type of typesOf(await plain.metrics())) expect(ours.filter((line) => line === type)).toEqual([type]);
    metrics.close();
  });

  it('catches a stall of the event loop that starts right after a scrape, and reads an idle loop as no lag', async () => {
    const metrics = new Metrics();
    const lag = (text: string, statistic: string) =>
      Number(new RegExp(`^nodejs_eventloop_lag_${statistic}_seconds (\\S+)$`, 'm').exec(text)?.[1]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await metrics.render();
    const stalledUntil = Date.now() + 300;
    while (Date.now() < stalledUntil) {
      // A handler holding the loop: the sample due within 100 ms of its start comes 200 ms or more late.
    }
    // Samples on time after it, for a spread.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stalled = await metrics.render();
    expect(lag(stalled, 'max')).toBeGreaterThanOrEqual(0.19);
    expect(lag(stalled, 'stddev')).toBeGreaterThan(0.05);
    // The next scrape covers only what came after: samples of an idle loop, on time.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const idle = await metrics.render();
    expect(lag(idle, 'min')).toBeLessThan(0.05);
    expect(lag(idle, 'max')).toBeLessThan(0.19);
    metrics.close();
  });

  it('lets several apps keep separate metrics in one process', async () => {
    const a = new Metrics({ processMetrics: false });
    const b = new Metrics({ processMetrics: false });
    a.degradedMode.set(1);
    expect(await a.render()).toContain('rate_limiter_degraded_mode 1');
    expect(await b.render()).toContain('rate_limiter_degraded_mode 0');
    expect(await b.render()).not.toContain('process_cpu_user_seconds_total');
  });

  it('reports readiness as gateway_ready, asked at each scrape; a failing probe reads as not ready', async () => {
    const metrics = new Metrics({ processMetrics: false });
    let ready: boolean | Error = true;
    metrics.reportReadinessWith(async () => {
      if (ready instanceof Error) throw ready;
      return ready;
    });
    expect(await metrics.render()).toContain('gateway_ready 1');
    ready = false;
    expect(await metrics.render()).toContain('gateway_ready 0');
    ready = true;
    expect(await metrics.render()).toContain('gateway_ready 1');
    ready = new Error('database gone');
    expect(await metrics.render()).toContain('gateway_ready 0');
  });
});
