/**
 * Property-based fuzzing of everything an agent controls on the HTTP doors:
 * REST bodies, path parameters, query strings, headers, GraphQL variables.
 * Whatever comes in, the answer is never a 5xx, never a stack trace, never an
 * unhandled rejection, and every error carries a code of README's error table.
 *
 * In process (`gateway.http.inject`), bounded runs. The seed is fixed so a run
 * is reproducible; `FUZZ_SEED=<n>` explores another one. On failure fast-check
 * prints the seed and the path of the shrunk counterexample.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_205);
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const BASE = '/api/v1/mcp';

/** The `error_code`s of README's REST error table, read from the README itself. */
const DOCUMENTED_CODES = new Set(
  [...readFileSync(new URL('../../README.md', import.meta.url), 'utf8').matchAll(/^\| \d{3} \| `([A-Z_]+)` \|/gm)].map((m) => m[1]!),
);
/** GraphQL speaks the same codes, except UNAUTHENTICATED for authentication. */
const GRAPHQL_CODES = new Set([...DOCUMENTED_CODES, 'UNAUTHENTICATED']);

let gw: TestGateway;
let upstream: TestUpstream;
let agent: TestAgent;
let connectionId: string;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  [gw, upstream] = await Promise.all([startGateway(), startTestUpstream()]);
  agent = await gw.agent('fuzz-agent', 'fuzz-ns');
  const created = await inject({ method: 'POST', url: `${BASE}/connections`, payload: { server_name: 'fuzzed', url: upstream.url } });
  expect(created.statusCode).toBe(201);
  connectionId = created.json<{ id: string }>().id;
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await gw?.close();
  await upstream?.stop();
});

type InjectOptions = {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH' | 'OPTIONS' | 'HEAD';
  url: string;
  payload?: string | object;
  headers?: Record<string, string>;
  token?: string | null;
};

function inject({ token, headers = {}, payload, ...rest }: InjectOptions): Promise<LightMyRequestResponse> {
  const all: Record<string, string> = { ...headers };
  if (token !== null) all.authorization ??= `Bearer ${token ?? agent.token}`;
  if (payload !== undefined) all['content-type'] ??= 'application/json';
  return gw.gateway.http.inject({ ...rest, headers: all, ...(payload !== undefined ? { payload } : {}) });
}

/** A stack frame, a source location or a database error in a response body (patterns random input cannot plausibly echo). */
const LEAK = /\n\s+at [^\n]*\(|node_modules\/|\.[jt]s:\d+:\d+|SQLITE_[A-Z]|"stack"/;

function assertDocumented(response: LightMyRequestResponse, graphql = false): void {
  const where = `${response.statusCode} ${response.body.slice(0, 300)}`;
  expect(response.statusCode, where).toBeLessThan(500);
  expect(response.body, where).not.toMatch(LEAK);
  if (response.statusCode < 400 || response.body === '') {
    if (!graphql) return;
  }
  const body = response.json<Record<string, any>>();
  if (graphql) {
    for (const error of body.errors ?? []) expect(GRAPHQL_CODES, where).toContain(error.extensions?.code);
    return;
  }
  expect(DOCUMENTED_CODES, where).toContain(body.error_code);
  expect(typeof body.request_id, where).toBe('string');
}

const run = (property: fc.IAsyncProperty<any>) => fc.assert(property, { seed: SEED, numRuns: RUNS, endOnFailure: false });

/** Strings that like to break parsers: brackets, quotes, escapes, NUL, unicode, very long. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', 'null', '__proto__', 'constructor', '%', '%ZZ', '../..', '{"a":1}', '\uD800', 'a'.repeat(5_000)),
);
const jsonish = fc.oneof(fc.jsonValue({ maxDepth: 4 }), nasty);
/** encodeURIComponent refuses lone surrogates; a client would send their UTF-8 replacement. */
const encode = (text: string) => encodeURIComponent(text.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));

describe('REST bodies', () => {
  it('create: arbitrary values for the documented fields and unknown ones', async () => {
    const url = fc.oneof(
      nasty,
      fc.constantFrom('http://10.0.0.1/mcp', 'ftp://x/', 'http://[::ffff:10.0.0.1]/', 'http://u:p@10.0.0.2/mcp', 'http://'),
    );
    const body = fc.record(
      {
        server_name: jsonish,
        url: fc.oneof(url, jsonish),
        timeout: jsonish,
        namespace: jsonish,
        agent_id: jsonish,
        headers: fc.oneof(jsonish, fc.dictionary(nasty, nasty, { maxKeys: 4 })),
        extra: jsonish,
      },
      { requiredKeys: [] },
    );
    await run(
      fc.asyncProperty(fc.oneof(body, jsonish), async (payload) => {
        assertDocumented(await inject({ method: 'POST', url: `${BASE}/connections`, payload: JSON.stringify(payload) }));
      }),
    );
  });

  it('create against a real upstream with arbitrary upstream headers: 201 or 400, never a failed handshake', async () => {
    let n = 0;
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'grapheme-ascii', maxLength: 30 }));
    const name = fc.oneof(
      fc.constantFrom('Authorization', 'X-Api-Key', 'Cookie', 'Host', 'x-a', 'X-Forwarded-For'),
      fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/),
    );
    await run(
      fc.asyncProperty(fc.dictionary(name, value, { maxKeys: 3 }), async (headers) => {
        n += 1;
        const response = await inject({
          method: 'POST',
          url: `${BASE}/connections`,
          payload: { server_name: `headers-${n}`, url: upstream.url, headers },
        });
        assertDocumented(response);
        expect([201, 400], response.body.slice(0, 200)).toContain(response.statusCode);
      }),
    );
  });

  it('raw bodies that are not (quite) JSON, with any content type', async () => {
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=latin1',
      'text/plain',
      'application/x-www-form-urlencoded',
      '',
      'application/graphql+json',
    );
    await run(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), contentType, async (payload, type) => {
        assertDocumented(await inject({ method: 'POST', url: `${BASE}/connections`, payload, headers: { 'content-type': type } }));
      }),
    );
  });

  it('execute: arbitrary arguments and stray fields', async () => {
    const body = fc.oneof(fc.record({ arguments: jsonish }, { requiredKeys: [] }), fc.dictionary(nasty, jsonish, { maxKeys: 3 }), jsonish);
    await run(
      fc.asyncProperty(fc.constantFrom('echo', 'add', 'fail', 'nope'), body, async (tool, payload) => {
        const url = `${BASE}/connections/${connectionId}/tools/${tool}/execute`;
        assertDocumented(await inject({ method: 'POST', url, payload: JSON.stringify(payload) }));
      }),
    );
  });
});

describe('path parameters and query strings', () => {
  const segment = fc.oneof(
    nasty.map(encode),
    fc.constantFrom('%', '%ZZ', '%00', '..', '%2F..%2F', ';', '%E0%A4%A', 'a%20b', fc.sample(fc.uuid(), 1)[0]!),
  );

  it('connection and tool ids on every route', async () => {
    const route = fc.constantFrom<[InjectOptions['method'], (id: string, tool: string) => string]>(
      ['GET', (id) => `${BASE}/connections/${id}`],
      ['GET', (id) => `${BASE}/connections/${id}/tools`],
      ['DELETE', (id) => `${BASE}/connections/${id}`],
      ['POST', (id, tool) => `${BASE}/connections/${id}/tools/${tool}/execute`],
      ['POST', (_id, tool) => `${BASE}/connections/${connectionId}/tools/${tool}/execute`],
      ['PUT', (id) => `${BASE}/connections/${id}`],
      ['PATCH', (id) => `${BASE}/${id}`],
    );
    await run(
      fc.asyncProperty(route, segment, segment, async ([method, path], id, tool) => {
        const payload = method === 'POST' ? '{}' : undefined;
        assertDocumented(await inject({ method, url: path(id, tool), ...(payload ? { payload } : {}) }));
      }),
    );
  });

  it('list and search query strings', async () => {
    const pairs = fc.array(fc.tuple(fc.constantFrom('status', 'limit', 'offset', 'q', 'x', 'limit[]'), nasty), { maxLength: 4 });
    const path = fc.constantFrom(`${BASE}/connections`, `${BASE}/tools/search`, '/api/v1/admin/rate-limits/statistics');
    await run(
      fc.asyncProperty(path, pairs, async (base, query) => {
        const qs = query.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
        assertDocumented(await inject({ method: 'GET', url: `${base}?${qs}` }));
      }),
    );
  });
});

describe('headers', () => {
  const headerValue = fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((v) => v.replace(/[\r\n\0]/g, ''));
  const headerName = fc.oneof(
    fc.constantFrom(
      'authorization',
      'x-request-id',
      'content-type',
      'accept',
      'x-forwarded-for',
      'origin',
      'content-encoding',
      'transfer-encoding',
      'expect',
    ),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
  );

  it('any header values on an authenticated create and on GraphQL', async () => {
    await run(
      fc.asyncProperty(fc.dictionary(headerName, headerValue, { maxKeys: 4 }), fc.boolean(), async (headers, graphql) => {
        const response = graphql
          ? await inject({ method: 'POST', url: '/graphql', headers, payload: { query: '{ me { id } }' } })
          : await inject({ method: 'POST', url: `${BASE}/connections`, headers, payload: { server_name: 'h', url: 'http://10.0.0.1/' } });
        assertDocumented(response, graphql);
      }),
    );
  });

  it('malformed bearer tokens', async () => {
    const token = fc.oneof(headerValue, fc.constantFrom('a.b.c', 'eyJhbGciOiJub25lIn0.e30.', `${'a'.repeat(4000)}.b.c`));
    await run(
      fc.asyncProperty(token, fc.constantFrom('Bearer ', 'bearer ', '', 'Basic '), async (value, scheme) => {
        assertDocumented(
          await inject({ method: 'GET', url: `${BASE}/connections`, token: null, headers: { authorization: `${scheme}${value}` } }),
        );
      }),
    );
  });
});

describe('GraphQL variables', () => {
  const operations = [
    'mutation($input: CreateConnectionInput!) { createConnection(input: $input) { id url } }',
    'mutation($input: ExecuteToolInput!) { executeTool(input: $input) { id status isError } }',
    'query($status: ConnectionStatus, $first: Int, $after: String) { connections(status: $status, first: $first, after: $after) { edges { node { id } } } }',
    'query($id: ID!) { connection(id: $id) { id tools { name } } }',
    'mutation($id: ID!) { disconnect(id: $id) { id } }',
  ];
  /** Built once the connection exists, so that some variables reach the real upstream. */
  const variables = () => {
    const id = fc.oneof(jsonish, fc.constant(''), fc.constant(connectionId));
    const input = fc.oneof(
      fc.record(
        {
          serverName: jsonish,
          url: jsonish,
          timeout: jsonish,
          headers: jsonish,
          connectionId: id,
          toolName: fc.oneof(jsonish, fc.constantFrom('echo', 'add')),
          arguments: jsonish,
        },
        { requiredKeys: [] },
      ),
      jsonish,
    );
    return fc.record({ input, status: jsonish, first: jsonish, after: jsonish, id }, { requiredKeys: [] });
  };

  it('never 5xx, every error a documented code', async () => {
    await run(
      fc.asyncProperty(fc.constantFrom(...operations), fc.oneof(variables(), jsonish), async (query, vars) => {
        assertDocumented(await inject({ method: 'POST', url: '/graphql', payload: JSON.stringify({ query, variables: vars }) }), true);
      }),
    );
  });

  it('GET with arbitrary variables and operation names', async () => {
    await run(
      fc.asyncProperty(
        fc.constantFrom(...operations.slice(2, 4)),
        fc.string({ maxLength: 60 }),
        nasty,
        async (query, vars, operationName) => {
          const qs = new URLSearchParams({ query, variables: vars, operationName }).toString();
          assertDocumented(await inject({ method: 'GET', url: `/graphql?${qs}`, headers: { accept: 'application/json' } }), true);
        },
      ),
    );
  });
});

describe('what the fuzzing found, pinned', () => {
  const gql = async (init: Partial<InjectOptions>) => {
    const response = await inject({ method: 'POST', url: '/graphql', ...init });
    return {
      status: response.statusCode,
      codes: (response.json<{ errors?: Array<{ extensions: { code: string } }> }>().errors ?? []).map((e) => e.extensions.code),
    };
  };

  it("a path that is not validly percent-encoded is the gateway 400, not Fastify's body", async () => {
    const response = await inject({ method: 'GET', url: `${BASE}/connections/%ZZ` });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error_code: 'VALIDATION_ERROR', details: { field: 'path' } });
  });

  it('GraphQL variables that are not an object are VALIDATION_ERROR (Yoga says BAD_REQUEST)', async () => {
    expect(await gql({ payload: { query: '{ me { id } }', variables: 'x' } })).toEqual({ status: 400, codes: ['VALIDATION_ERROR'] });
  });

  it('GET variables that are not JSON are a 400 VALIDATION_ERROR, not an unexpected error', async () => {
    const qs = new URLSearchParams({ query: '{ me { id } }', variables: ' ' }).toString();
    expect(await gql({ method: 'GET', url: `/graphql?${qs}`, headers: { accept: 'application/json' } })).toEqual({
      status: 400,
      codes: ['VALIDATION_ERROR'],
    });
  });

  it('an unknown operation name is VALIDATION_ERROR (Yoga says OPERATION_RESOLUTION_FAILURE)', async () => {
    const payload = { query: 'query A { me { id } }', operationName: 'B' };
    expect((await gql({ payload })).codes).toEqual(['VALIDATION_ERROR']);
  });

  it('an Accept the gateway cannot serve is a 406 with a body and a documented code', async () => {
    expect(await gql({ payload: { query: '{ me { id } }' }, headers: { accept: 'text/csv' } })).toEqual({
      status: 406,
      codes: ['VALIDATION_ERROR'],
    });
  });
});

describe('afterwards', () => {
  it('left no unhandled rejection behind', () => {
    expect(unhandled).toEqual([]);
  });
});
