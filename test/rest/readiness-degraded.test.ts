/**
 * Operators see a Redis outage where they look (SPEC §5, §8): `/health/ready`
 * turns 503 with `redis: down` and `rate_limiter: degraded`, `/metrics` says
 * `rate_limiter_degraded_mode 1`, requests are still decided (at half limits),
 * and everything returns to normal by itself when Redis answers again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { eventually } from '../helpers/eventually.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';
import { data } from '../graphql/client.js';

let gw: TestGateway;
let redis: RedisTestServer;

beforeAll(async () => {
  redis = await startRedis();
  gw = await startGateway({ TMWS_ENVIRONMENT: 'production', TMWS_REDIS_URL: redis.url });
});
afterAll(async () => {
  await gw?.close();
  await redis?.stop();
});

const degradedGauge = async () => /^rate_limiter_degraded_mode 1$/m.test(await (await gw.request('/metrics')).text());

describe('readiness during a Redis outage', () => {
  it('reports redis down and the limiter degraded, keeps deciding requests, and recovers', async () => {
    const agent = await gw.agent('outage-agent', 'outage');
    const list = () => gw.request('/api/v1/mcp/connections/00000000-0000-4000-8000-000000000000', { method: 'DELETE', token: agent.token });
    expect((await gw.request('/health/ready')).status).toBe(200);

    await redis.kill();
    // Three failed Redis calls make the limiter degraded; each of these requests is still decided.
    for (let i = 0; i < 4; i += 1) expect([404, 429]).toContain((await list()).status);

    const ready = await eventually(
      async () => {
        const response = await gw.request('/health/ready');
        return response.status === 503 && response;
      },
      10_000,
      'readiness to report the outage',
    );
    expect(ready.status).toBe(503);
    expect((await ready.json()).components).toMatchObject({ redis: 'down', rate_limiter: 'degraded', database: 'ok' });
    expect(await degradedGauge()).toBe(true);
    // The dashboard's overview and rate-limit pages read the same over GraphQL.
    const admin = await gw.agent('outage-admin', 'outage', 'admin');
    const seen: any = await data(
      gw,
      '{ gatewayStatus { ready redis rateLimiter degraded } rateLimitStatistics { degraded store buckets { name agentWindow } } }',
      {},
      admin.token,
    );
    expect(seen.gatewayStatus).toEqual({ ready: false, redis: 'DOWN', rateLimiter: 'DEGRADED', degraded: true });
    expect(seen.rateLimitStatistics).toMatchObject({ degraded: true, store: 'memory' });
    // mcp_disconnect: 20 + 5 a minute, halved while degraded.
    expect(seen.rateLimitStatistics.buckets.find((b: { name: string }) => b.name === 'mcp_disconnect')).toEqual({
      name: 'mcp_disconnect',
      agentWindow: 12,
    });

    await redis.restart();
    const back = await eventually(
      async () => {
        await list();
        const response = await gw.request('/health/ready');
        return response.status === 200 && response;
      },
      15_000,
      'readiness to recover',
    );
    expect((await back.json()).components).toMatchObject({ redis: 'ok', rate_limiter: 'ok' });
    expect(await degradedGauge()).toBe(false);
  });
});
