import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_QUERY_LIMITS } from '../../src/graphql/plugins/use-query-limits.js';
import { ConnectionsDocument, MeDocument } from '../gql/graphql.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { codes, collect, graphql, wsClient } from './client.js';

let gw: TestGateway;
let agent: TestAgent;

beforeAll(async () => {
  gw = await startGateway();
  agent = await gw.agent('gql-guard-agent', 'gql-guard-ns');
});
afterAll(async () => {
  await gw?.close();
});

/** A valid query nested 10 levels deep (introspection types are the only deep cycle in the schema). */
const DEEP_QUERY =
  '{ __type(name: "Query") { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }';
const ALIAS_FLOOD = `{ ${Array.from({ length: DEFAULT_QUERY_LIMITS.maxAliases + 1 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
const PAGE = 'executions(first: 100) { edges { node { id status toolName result connection { id serverName tools { name } } } } }';
const EXPENSIVE = `{ a: ${PAGE} b: ${PAGE} }`;
const TOKEN_FLOOD = `{ me { ${'id '.repeat(DEFAULT_QUERY_LIMITS.maxTokens)}} }`;

describe('query limits (graphql-armor)', () => {
  it.each([
    ['an over-deep query', DEEP_QUERY, 'query_depth', new RegExp(`depth limit of ${DEFAULT_QUERY_LIMITS.maxDepth} exceeded`, 'i')],
    ['an alias flood', ALIAS_FLOOD, 'query_aliases', new RegExp(`aliases limit of ${DEFAULT_QUERY_LIMITS.maxAliases} exceeded`, 'i')],
    ['an over-cost query', EXPENSIVE, 'query_cost', new RegExp(`cost limit of ${DEFAULT_QUERY_LIMITS.maxCost} exceeded`, 'i')],
    ['a token flood', TOKEN_FLOOD, 'query_tokens', new RegExp(`token limit of ${DEFAULT_QUERY_LIMITS.maxTokens} exceeded`, 'i')],
  ])('refuses %s before running it, with a clear VALIDATION_ERROR', async (_label, query, reason, message) => {
    const spy = vi.spyOn(gw.gateway.services.executions, 'list');
    try {
      const result = await graphql(gw, query, {}, agent.token);
      expect(result.status).toBe(400);
      expect(result.body.data).toBeUndefined();
      const error = result.body.errors?.find((e) => e.extensions?.details?.reason === reason);
      expect(error, JSON.stringify(result.body.errors)).toBeDefined();
      expect(error!.extensions!.code).toBe('VALIDATION_ERROR');
      expect(error!.message).toMatch(message);
      expect(error!.message).not.toMatch(/^Syntax Error/);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('lets the largest legitimate operations through', async () => {
    const result = await graphql(gw, `{ ${PAGE} }`, {}, agent.token);
    expect(result.body.errors).toBeUndefined();
    expect(codes(await graphql(gw, ConnectionsDocument, { first: 100 }, agent.token))).toEqual([]);
  });

  it('applies the same limits over graphql-ws', async () => {
    const client = wsClient(gw, agent.token);
    try {
      await expect(collect(client.subscribe(ALIAS_FLOOD))).rejects.toSatisfy((errors: unknown) =>
        JSON.stringify(errors).includes('query_aliases'),
      );
    } finally {
      await client.dispose();
    }
  });

  it('reports a syntax error as VALIDATION_ERROR', async () => {
    const result = await graphql(gw, '{ me { id ', {}, agent.token);
    expect(codes(result)).toEqual(['VALIDATION_ERROR']);
    expect(result.body.errors![0]!.extensions!.details).toEqual({ reason: 'GRAPHQL_PARSE_FAILED' });
  });
});

describe('unexpected errors', () => {
  it('are masked as "Unexpected error." and logged with the request id', async () => {
    const failure = new Error('SQLITE_CORRUPT: SELECT * FROM agents WHERE secret = 42');
    const list = vi.spyOn(gw.gateway.services.connections, 'list').mockRejectedValue(failure);
    const log = vi.spyOn(gw.gateway.services.logger, 'error');
    try {
      const result = await graphql(gw, ConnectionsDocument, {}, agent.token, { 'x-request-id': 'masked-req-1' });
      expect(result.body.errors).toEqual([
        expect.objectContaining({
          message: 'Unexpected error.',
          path: ['connections'],
          extensions: { code: 'INTERNAL_ERROR', requestId: 'masked-req-1' },
        }),
      ]);
      expect(JSON.stringify(result.body)).not.toMatch(/SQLITE|SELECT|secret/);
      expect(log).toHaveBeenCalledWith(expect.objectContaining({ err: failure, requestId: 'masked-req-1' }), expect.any(String));
    } finally {
      list.mockRestore();
      log.mockRestore();
    }
  });
});

describe('rate limits on mutations', () => {
  let limited: TestGateway;
  let caller: TestAgent;
  beforeAll(async () => {
    // Development numbers × 0.02: mcp_disconnect admits 1 request per agent per window.
    limited = await startGateway({ TMWS_ENVIRONMENT: 'development', TMWS_RATE_LIMIT_SCALE: '0.02' });
    caller = await limited.agent('gql-limited-agent', 'gql-limited-ns');
  });
  afterAll(async () => {
    await limited?.close();
  });

  it('counts every alias: the second disconnect of one request is RATE_LIMIT_EXCEEDED with retryAfter', async () => {
    const id = '6f0e4a8e-0000-4000-8000-000000000010';
    const result = await graphql(limited, `mutation { a: disconnect(id: "${id}") { id } b: disconnect(id: "${id}") { id } }`, {}, caller.token);
    const byAlias = Object.fromEntries((result.body.errors ?? []).map((e) => [e.path?.[0], e.extensions]));
    // The first call counts even though it fails later (authentication → rate limit → validation → authorization).
    expect(byAlias.a?.code).toBe('CONNECTION_NOT_FOUND');
    expect(byAlias.b?.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(byAlias.b?.retryAfter).toBeGreaterThan(0);
    expect(byAlias.b?.details).toMatchObject({ endpoint_type: 'mcp_disconnect', limit: 1, period: 60 });

    const next = await graphql(limited, `mutation { disconnect(id: "${id}") { id } }`, {}, caller.token);
    expect(codes(next)).toEqual(['RATE_LIMIT_EXCEEDED']);
    // Queries draw from no bucket.
    expect(codes(await graphql(limited, MeDocument, {}, caller.token))).toEqual([]);
  });
});
