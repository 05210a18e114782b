import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../helpers/connections.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

/**
 * A plain `tools/call` is answered without an SDK Server (direct-tool-call.ts).
 * The same call with an empty `_meta` goes through the SDK's Server and
 * transport: both must answer byte for byte alike.
 */

let gw: TestGateway;
let upstream: TestUpstream;
let agent: TestAgent;

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), startTestUpstream()]);
  agent = await gw.agent('direct-agent', 'direct-ns');
  await createConnection(gw, agent, 'up', upstream.url);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

interface RawAnswer {
  status: number;
  /** Header names in the order sent, with their values; the date and request id vary per request. */
  headers: string[];
  body: string;
}

function post(body: unknown, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const url = new URL(`${gw.url}/mcp`);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
          authorization: `Bearer ${agent.token}`,
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const raw = res.rawHeaders;
          const seen: string[] = [];
          for (let i = 0; i < raw.length; i += 2) {
            const name = raw[i]!;
            seen.push(['date', 'x-request-id'].includes(name.toLowerCase()) ? name : `${name}: ${raw[i + 1]}`);
          }
          resolve({ status: res.statusCode ?? 0, headers: seen, body: text });
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The same call as a plain one and, through the SDK, with an (empty) `_meta`. */
async function bothWays(id: string | number, params: { name: string; arguments?: Record<string, unknown> }) {
  const plain = await post({ jsonrpc: '2.0', id, method: 'tools/call', params });
  const viaSdk = await post({ jsonrpc: '2.0', id, method: 'tools/call', params: { ...params, _meta: {} } });
  return { plain, viaSdk };
}

describe('/mcp tools/call without an SDK Server', () => {
  it('answers a result exactly as the SDK does', async () => {
    const { plain, viaSdk } = await bothWays(7, { name: 'up__add', arguments: { a: 2, b: 40 } });
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.body)).toEqual({
      result: { content: [{ type: 'text', text: '{"sum":42}' }], structuredContent: { sum: 42 }, isError: false },
      jsonrpc: '2.0',
      id: 7,
    });
    expect(plain).toEqual(viaSdk);
  });

  it('answers an upstream tool error, a gateway validation error and an unknown tool exactly as the SDK does', async () => {
    for (const [id, params] of [
      ['a', { name: 'up__fail', arguments: { message: 'nope' } }],
      ['b', { name: 'up__add', arguments: { a: 'x', b: 1 } }],
      ['c', { name: 'up__nope' }],
      ['d', { name: 'call_tool', arguments: { name: 'up__add', arguments: { a: 1, b: 2 } } }],
    ] as const) {
      const { plain, viaSdk } = await bothWays(id, params);
      expect(plain.status).toBe(200);
      expect(plain).toEqual(viaSdk);
    }
    const unknown = JSON.parse((await post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'up__nope' } })).body);
    expect(unknown).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'MCP error -32602: Unknown tool: up__nope' } });
  });

  it('leaves what the transport would refuse to the SDK', async () => {
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'up__add', arguments: { a: 1, b: 2 } } };
    expect((await post(call, { accept: 'application/json' })).status).toBe(406);
    expect((await post(call, { 'mcp-protocol-version': '1999-01-01' })).status).toBe(400);
    expect((await post({ ...call, extra: true })).status).toBe(400);
    expect((await post({ ...call, id: 1.5 })).status).toBe(400);
  });

  it('answers params MCP does not allow as invalid params (-32602), not as the SDK’s internal error with its validator’s dump', async () => {
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'up__add', arguments: [1, 2] } };
    const badArguments = await post(call);
    expect(JSON.parse(badArguments.body)).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: { code: -32602, message: 'Invalid params: params.arguments must be an object' },
    });
    // The transport's own refusals still come first.
    expect((await post(call, { accept: 'application/json' })).status).toBe(406);
  });
});
