import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';
import { codes, graphql } from './client.js';

let gw: TestGateway;
let upstream: TestUpstream;

beforeAll(async () => {
  upstream = await startTestUpstream();
  // Production limits (12 creates per window); loopback upstreams allowed so creates can succeed.
  gw = await startGateway({ TMWS_ENVIRONMENT: 'production', TMWS_MCP_ALLOWED_HOSTS: '127.0.0.1' });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

const CREATE = `mutation Create($input: CreateConnectionInput!) { createConnection(input: $input) { id status } }`;

function aliasedCreates(count: number, prefix: string): string {
  const fields = Array.from(
    { length: count },
    (_, i) => `c${i}: createConnection(input: { serverName: "${prefix}${i}", url: "${upstream.url}" }) { id }`,
  );
  return `mutation Flood { ${fields.join('\n')} }`;
}

describe('GraphQL mutations draw from the REST rate-limit buckets', () => {
  it('limits createConnection to 12 per window with RATE_LIMIT_EXCEEDED and retryAfter', async () => {
    const agent = await gw.agent('gql-limited', 'gql-limits');
    const outcomes: (string | undefined)[] = [];
    for (let i = 0; i < 15; i += 1) {
      const result = await graphql(gw, CREATE, { input: { serverName: `g${i}`, url: upstream.url } }, agent.token);
      outcomes.push(result.body.errors ? codes(result)[0] : 'OK');
      if (i === 12) {
        const error = result.body.errors?.[0];
        expect(error?.extensions?.retryAfter).toBeGreaterThan(250);
        expect(error?.extensions?.retryAfter).toBeLessThanOrEqual(300);
      }
    }
    expect(outcomes).toEqual([...Array(12).fill('OK'), ...Array(3).fill('RATE_LIMIT_EXCEEDED')]);
  });

  it('counts 15 aliased createConnection fields in one request as 15', async () => {
    const agent = await gw.agent('gql-aliaser', 'gql-limits');
    const result = await graphql(gw, aliasedCreates(15, 'a'), {}, agent.token);
    const data = (result.body.data ?? {}) as Record<string, { id: string } | null>;
    const created = Object.values(data).filter((v) => v !== null);
    expect(created).toHaveLength(12);
    expect(codes(result).filter((c) => c === 'RATE_LIMIT_EXCEEDED')).toHaveLength(3);
    const list = await gw.request('/api/v1/mcp/connections?limit=100', { token: agent.token });
    expect((await list.json()).total).toBe(12);
  });

  it('shares one budget between REST and GraphQL', async () => {
    const agent = await gw.agent('gql-mixed', 'gql-limits');
    for (let i = 0; i < 6; i += 1) {
      const response = await gw.request('/api/v1/mcp/connections', {
        method: 'POST',
        token: agent.token,
        body: { server_name: `rest${i}`, url: upstream.url },
      });
      expect(response.status).toBe(201);
    }
    const result = await graphql(gw, aliasedCreates(8, 'mix'), {}, agent.token);
    expect(codes(result).filter((c) => c === 'RATE_LIMIT_EXCEEDED')).toHaveLength(2);
    const rest = await gw.request('/api/v1/mcp/connections', {
      method: 'POST',
      token: agent.token,
      body: { server_name: 'one-more', url: upstream.url },
    });
    expect(rest.status).toBe(429);
  });
});
