import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../helpers/connections.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startRawJsonUpstream, type RawJsonUpstream } from '../fixtures/upstreams/raw-json-upstream.js';

const BASE = '/api/v1/mcp';
const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

let gw: TestGateway;
let agent: TestAgent;
let upstream: RawJsonUpstream;
let connectionId: string;
let nextResult = '';

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), startRawJsonUpstream(() => nextResult)]);
  agent = await gw.agent('deep-agent', 'deep-ns');
  connectionId = await createConnection(gw, agent, 'deep', upstream.url);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

async function call() {
  const response = await gw.request(`${BASE}/connections/${connectionId}/tools/raw/execute`, {
    method: 'POST',
    token: agent.token,
    body: { arguments: {} },
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('an upstream result nested thousands of levels deep', () => {
  it('fails the call with 502 result_too_deep, not a 500, and records it FAILED', async () => {
    nextResult = `{"content":[{"type":"text","text":"x"}],"structuredContent":${deep(20_000)}}`;
    const { status, body } = await call();
    expect(status).toBe(502);
    expect(body).toMatchObject({ error_code: 'EXTERNAL_SERVICE_ERROR', details: { reason: 'result_too_deep' } });
    const gql = await gw.request('/graphql', {
      method: 'POST',
      token: agent.token,
      body: { query: `{ executions(connectionId: "${connectionId}", first: 1) { edges { node { status errorCode } } } }` },
    });
    const node = (await gql.json()).data.executions.edges[0].node;
    expect(node).toEqual({ status: 'FAILED', errorCode: 'EXTERNAL_SERVICE_ERROR' });
  });

  it('relays a deep JSON text block as the text it is', async () => {
    const text = deep(20_000);
    nextResult = JSON.stringify({ content: [{ type: 'text', text }] });
    const { status, body } = await call();
    expect(status).toBe(200);
    expect(body.result.result).toBe(text);
  });
});
