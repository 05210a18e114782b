/**
 * The JSON POST path (src/graphql/json-post.ts) answers the everyday request
 * without Yoga's whatwg-node round trip. It must answer exactly what Yoga's
 * full pipeline answers: the same requests go to a gateway with the path and
 * to one without, and status, headers and body bytes must agree.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';

let withPath: TestGateway;
let withoutPath: TestGateway;
let agent: TestAgent;

beforeAll(async () => {
  [withPath, withoutPath] = await Promise.all([startGateway(), startGateway({}, { app: { graphql: { jsonPostPath: false } } })]);
  agent = await withPath.agent('json-post-agent', 'json-post-ns');
  await withoutPath.agent('json-post-agent', 'json-post-ns');
});
afterAll(async () => {
  await Promise.all([withPath?.close(), withoutPath?.close()]);
});

const UNKNOWN_ID = '0b7e5b1e-58c4-4c7e-9a55-3d1f8a7f0c11';
const DEEP = JSON.parse(`${'{"a":'.repeat(80)}1${'}'.repeat(80)}`) as unknown;

interface Case {
  accept?: string;
  contentType?: string;
  token?: 'valid' | 'invalid' | 'none';
  body: unknown;
}

const CASES: Record<string, Case> = {
  'a query, no Accept': { body: { query: '{ me { id namespace role } }' } },
  'a query, Accept */*': { accept: '*/*', body: { query: '{ me { id namespace role } }' } },
  'a query, Accept application/json': { accept: 'application/json', body: { query: '{ me { id } }', variables: {} } },
  'a query, Accept graphql-response+json': { accept: 'application/graphql-response+json', body: { query: '{ me { id } }' } },
  'a query, the test client’s Accept': {
    accept: 'application/graphql-response+json, application/json',
    body: { query: 'query Me { me { id } }', operationName: 'Me', variables: null, extensions: {} },
  },
  'a query, Accept text/html only': { accept: 'text/html', body: { query: '{ me { id } }' } },
  'a syntax error': { body: { query: '{ me { id }' } },
  'an unknown field': { accept: 'application/json', body: { query: '{ me { nope } }' } },
  'an unknown field, graphql-response+json': { accept: 'application/graphql-response+json', body: { query: '{ me { nope } }' } },
  'a missing variable': { body: { query: 'query($id: ID!) { connection(id: $id) { id } }', variables: {} } },
  'a variable of the wrong type': {
    body: { query: 'query($first: Int) { connections(first: $first) { totalCount } }', variables: { first: 'x' } },
  },
  'an unknown operation name': { body: { query: 'query A { me { id } }', operationName: 'B' } },
  'a resolver error (not found)': { body: { query: 'query($id: ID!) { connection(id: $id) { id } }', variables: { id: UNKNOWN_ID } } },
  'a mutation refused by validation': {
    body: {
      query: 'mutation($input: ExecuteToolInput!) { executeTool(input: $input) { id } }',
      variables: { input: { connectionId: 'not-a-uuid', toolName: 'echo', arguments: {} } },
    },
  },
  'a mutation on an unknown connection': {
    body: {
      query: 'mutation($input: ExecuteToolInput!) { executeTool(input: $input) { id } }',
      variables: { input: { connectionId: UNKNOWN_ID, toolName: 'echo', arguments: {} } },
    },
  },
  'a subscription, Accept application/json': {
    accept: 'application/json',
    body: { query: 'subscription { executionProgress(executionId: "x") { executionId } }' },
  },
  'a body nested too deep': { body: { query: '{ me { id } }', variables: { deep: DEEP } } },
  'an unexpected body key': { body: { query: '{ me { id } }', foo: 1 } },
  'variables that are a string': { body: { query: '{ me { id } }', variables: '{}' } },
  'an empty query': { body: { query: '' } },
  'no token': { token: 'none', body: { query: '{ me { id } }' } },
  'a bad token': { token: 'invalid', body: { query: '{ me { id } }' } },
  'text/plain': { contentType: 'text/plain', body: JSON.stringify({ query: '{ me { id } }' }) },
};

async function ask(gw: TestGateway, name: string, c: Case) {
  const headers: Record<string, string> = { 'x-request-id': `json-post-${name.replace(/\W+/g, '-')}` };
  if (c.accept !== undefined) headers.accept = c.accept;
  if (c.contentType !== undefined) headers['content-type'] = c.contentType;
  const token = c.token === 'none' ? undefined : c.token === 'invalid' ? 'not.a.token' : agent.token;
  const response = await gw.request('/graphql', { method: 'POST', token, headers, body: c.body });
  const answered: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    if (key !== 'date') answered[key] = value;
  });
  // REST-style refusals (the HTTP parser's) carry the time they were made.
  const body = (await response.text()).replace(/"timestamp":"[^"]+"/, '"timestamp":"…"');
  return { status: response.status, headers: answered, body };
}

describe('POST /graphql with a JSON body', () => {
  it.each(Object.entries(CASES))('%s: the same status, headers and bytes with and without the JSON POST path', async (name, c) => {
    const [fast, full] = [await ask(withPath, name, c), await ask(withoutPath, name, c)];
    expect(fast).toEqual(full);
    // Asked again: the path remembers the content type it chose for this Accept, and must still agree.
    expect(await ask(withPath, name, c)).toEqual(full);
  });

  it('runs an everyday query without building a whatwg Request (the full pipeline still does for the others)', async () => {
    const spy = vi.spyOn(withPath.gateway.services.authenticator, 'authenticateCaller');
    try {
      const ok = await ask(withPath, 'count', { body: { query: '{ me { id } }' } });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toEqual({ data: { me: { id: agent.id } } });
      // Verified once: the path answered it; a refused token is verified again by the full pipeline, which answers the 401.
      expect(spy).toHaveBeenCalledTimes(1);
      spy.mockClear();
      expect((await ask(withPath, 'count-401', { token: 'invalid', body: { query: '{ me { id } }' } })).status).toBe(401);
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });
});
