import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_QUERY_LIMITS } from '../../src/graphql/plugins/use-query-limits.js';
import { ConnectionsDocument, ExecutionsDocument, MeDocument } from '../gql/graphql.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { HEALTH_BUDGET_MS, probeHealthWhile } from '../helpers/responsiveness.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';
import { codes, collect, graphql, sse, wsClient } from './client.js';
import { createConnection } from './fixtures.js';

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
const EXECUTION_FIELDS =
  'fragment ExecutionFields on Execution { id connectionId agentId toolName source status isError arguments result content structuredContent resultTruncated progress total errorCode errorMessage startedAt finishedAt durationMs }';
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

  // The token limit is hit while parsing and is answered like a syntax error: 400 under application/graphql-response+json.
  it('answers the depth, alias and cost limits with HTTP 400 to a client that accepts only application/json too (curl, older clients)', async () => {
    const statuses: Record<string, number> = {};
    for (const [reason, query] of Object.entries({ query_depth: DEEP_QUERY, query_aliases: ALIAS_FLOOD, query_cost: EXPENSIVE })) {
      const response = await gw.request('/graphql', {
        method: 'POST',
        token: agent.token,
        headers: { accept: 'application/json' },
        body: { query },
      });
      expect(JSON.stringify(await response.json())).toContain(reason);
      statuses[reason] = response.status;
    }
    expect(statuses).toEqual({ query_depth: 400, query_aliases: 400, query_cost: 400 });
  });

  it('lets the largest legitimate operations through', async () => {
    const result = await graphql(gw, `{ ${PAGE} }`, {}, agent.token);
    expect(result.body.errors).toBeUndefined();
    expect(codes(await graphql(gw, ConnectionsDocument, { first: 50 }, agent.token))).toEqual([]);
    expect(codes(await graphql(gw, ExecutionsDocument, { first: 50 }, agent.token))).toEqual([]);
  });

  describe('counts first passed as a variable at its value', () => {
    /** The 893-byte amplification of issue 10: 15 aliased pages whose size comes from a variable. */
    const pages = (signature: string) =>
      `query Amplify${signature} { ${Array.from({ length: 15 }, (_, i) => `p${i}: executions(first: $n) { edges { node { id arguments result } } }`).join(' ')} }`;

    it.each([
      ['a variable', pages('($n: Int)'), { n: 100 }],
      ['a variable’s default', pages('($n: Int = 100)'), {}],
    ])('refuses 15 aliased 100-item pages sized by %s, before running anything', async (_label, query, variables) => {
      const spy = vi.spyOn(gw.gateway.services.executions, 'list');
      try {
        const result = await graphql(gw, query, variables, agent.token);
        expect(result.status).toBe(400);
        expect(result.body.data).toBeUndefined();
        expect(result.body.errors).toHaveLength(1);
        expect(result.body.errors![0]!.extensions).toMatchObject({ code: 'VALIDATION_ERROR', details: { reason: 'query_cost' } });
        expect(result.body.errors![0]!.message).toMatch(new RegExp(`cost limit of ${DEFAULT_QUERY_LIMITS.maxCost} exceeded`, 'i'));
        expect(spy).not.toHaveBeenCalled();
      } finally {
        spy.mockRestore();
      }
    });

    it('counts an omitted first at the default page size, and lets small variable pages through', async () => {
      // Omitted: 20 items each, 15 × 20 × (every field of an execution and its connection) is too much.
      const defaults = `{ ${Array.from({ length: 15 }, (_, i) => `p${i}: executions { edges { node { ...ExecutionFields connection { id serverName tools { name } } } } }`).join(' ')} }`;
      const refused = await graphql(
        gw,
        `
          ${defaults}
          ${EXECUTION_FIELDS}
        `,
        {},
        agent.token,
      );
      expect(refused.body.errors?.[0]?.extensions?.details).toEqual({ reason: 'query_cost' });
      expect(codes(await graphql(gw, pages('($n: Int)'), { n: 2 }, agent.token))).toEqual([]);
      // The same document again, now with large pages: its cost is counted anew, never remembered from the small one.
      const large = await graphql(gw, pages('($n: Int)'), { n: 100 }, agent.token);
      expect(large.body.errors?.[0]?.extensions?.details).toEqual({ reason: 'query_cost' });
    });

    it('over graphql-ws too', async () => {
      const client = wsClient(gw, agent.token);
      try {
        await expect(collect(client.subscribe(pages('($n: Int)'), { n: 100 }))).resolves.toSatisfy((payloads: unknown) =>
          JSON.stringify(payloads).includes('query_cost'),
        );
      } finally {
        await client.dispose();
      }
    });
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

  it('says what is wrong with a JSON body that is not a request, rather than calling it invalid JSON', async () => {
    const answers: Record<string, { status: number; message: string | undefined }> = {};
    for (const body of ['null', '[]', '""', '{}']) {
      const response = await gw.request('/graphql', { method: 'POST', token: agent.token, body });
      const payload = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
      expect(payload.errors?.[0]?.extensions?.code).toBe('VALIDATION_ERROR');
      answers[body] = { status: response.status, message: payload.errors?.[0]?.message };
    }
    expect(answers).toEqual({
      null: { status: 400, message: 'POST body is expected to be object but received null' },
      '[]': { status: 400, message: 'Batching is not supported.' },
      '""': { status: 400, message: 'POST body is expected to be object but received string' },
      // The same answer as any other object without a query.
      '{}': { status: 200, message: 'Must provide query string.' },
    });
  });
});

describe('response size cap (16 MiB)', () => {
  let upstream: TestUpstream;
  let heavy: TestAgent;
  const PAGE_OF_ARGUMENTS = 'query($n: Int) { executions(first: $n) { edges { node { id arguments } } } }';

  beforeAll(async () => {
    upstream = await startTestUpstream();
    heavy = await gw.agent('gql-guard-heavy', 'gql-guard-heavy-ns');
    const connectionId = await createConnection(gw, heavy, 'heavy', upstream.url);
    // 18 executions whose stored arguments are 1 MB each: a 20-item page of them is about 18 MB.
    const message = 'x'.repeat(1_000_000);
    for (let i = 0; i < 18; i++) {
      const input = { connectionId, toolName: 'echo', arguments: { message } };
      expect(
        codes(await graphql(gw, 'mutation($input: ExecuteToolInput!) { executeTool(input: $input) { id } }', { input }, heavy.token)),
      ).toEqual([]);
    }
  }, 60_000);
  afterAll(async () => {
    await upstream?.stop();
  });

  it('replaces a response over the cap whole with a VALIDATION_ERROR, and sends smaller ones', async () => {
    const response = await gw.request('/graphql', {
      method: 'POST',
      token: heavy.token,
      body: { query: PAGE_OF_ARGUMENTS, variables: { n: 20 } },
    });
    const text = await response.text();
    expect(text.length).toBeLessThan(2_000);
    const body = JSON.parse(text) as { data: unknown; errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.data).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.extensions).toEqual({
      code: 'VALIDATION_ERROR',
      details: { reason: 'response_too_large', limit_bytes: DEFAULT_QUERY_LIMITS.maxResponseBytes },
    });
    expect(body.errors[0]!.message).toMatch(/more than 16 MiB/);

    const small = await graphql<{ executions: { edges: { node: { arguments: { message: string } } }[] } }>(
      gw,
      PAGE_OF_ARGUMENTS,
      { n: 5 },
      heavy.token,
    );
    expect(small.body.errors).toBeUndefined();
    expect(small.body.data!.executions.edges).toHaveLength(5);
    expect(small.body.data!.executions.edges[0]!.node.arguments.message).toHaveLength(1_000_000);
  });

  it('refuses the 15-alias amplification over real data at once, while /health stays fast for everyone else', async () => {
    const query = `query($n: Int) { ${Array.from({ length: 15 }, (_, i) => `p${i}: executions(first: $n) { edges { node { id arguments } } }`).join(' ')} }`;
    const { result, worstHealthMs } = await probeHealthWhile(gw.url, () => graphql(gw, query, { n: 100 }, heavy.token));
    expect(result.status).toBe(400);
    expect(codes(result)).toEqual(['VALIDATION_ERROR']);
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
  });

  it('does the same for an event over SSE and over graphql-ws', async () => {
    const overSse = await sse(gw, PAGE_OF_ARGUMENTS, { n: 20 }, heavy.token);
    const [event] = await collect(overSse.events);
    expect(event!.errors?.[0]?.extensions?.details).toMatchObject({ reason: 'response_too_large' });
    const client = wsClient(gw, heavy.token);
    try {
      const [message] = await collect(client.subscribe(PAGE_OF_ARGUMENTS, { n: 20 }));
      expect(message!.errors?.[0]?.extensions?.details).toMatchObject({ reason: 'response_too_large' });
    } finally {
      await client.dispose();
    }
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
    const result = await graphql(
      limited,
      `mutation { a: disconnect(id: "${id}") { id } b: disconnect(id: "${id}") { id } }`,
      {},
      caller.token,
    );
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
