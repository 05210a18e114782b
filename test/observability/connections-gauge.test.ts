import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

const BASE = '/api/v1/mcp';
let gw: TestGateway;
let upstream: TestUpstream;

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), startTestUpstream()]);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

async function activeGauge(): Promise<number> {
  const text = await (await gw.request('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith('mcp_connections_active '));
  expect(line, 'mcp_connections_active is exported').toBeDefined();
  return Number(line!.split(' ')[1]);
}

describe('mcp_connections_active', () => {
  it('follows creates and disconnects of every agent, read through /metrics', async () => {
    const before = await activeGauge();
    const alice = await gw.agent('gauge-alice', 'gauge-a');
    const bob = await gw.agent('gauge-bob', 'gauge-b');
    const create = async (token: string, name: string) => {
      const response = await gw.request(`${BASE}/connections`, { method: 'POST', token, body: { server_name: name, url: upstream.url } });
      expect(response.status).toBe(201);
      return ((await response.json()) as { id: string }).id;
    };
    const first = await create(alice.token, 'one');
    await create(alice.token, 'two');
    await create(bob.token, 'three');
    expect(await activeGauge()).toBe(before + 3);

    const removed = await gw.request(`${BASE}/connections/${first}`, { method: 'DELETE', token: alice.token });
    expect(removed.status).toBe(204);
    expect(await activeGauge()).toBe(before + 2);

    const failed = await gw.request(`${BASE}/connections`, {
      method: 'POST',
      token: bob.token,
      body: { server_name: 'nowhere', url: 'http://127.0.0.1:9/mcp' },
    });
    expect(failed.status).toBe(502);
    expect(await activeGauge()).toBe(before + 2);
  });
});
