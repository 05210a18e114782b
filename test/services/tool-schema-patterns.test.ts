import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../helpers/connections.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { HEALTH_BUDGET_MS, probeHealthWhile } from '../helpers/responsiveness.js';
import { startSchemaUpstream, type SchemaUpstream } from '../fixtures/upstreams/schema-upstream.js';

const BASE = '/api/v1/mcp';
/** The argument of the trial: V8's backtracking engine took about 40 s over it, blocking every tenant. */
const HOSTILE = `${'a'.repeat(31)}!`;

let gw: TestGateway;
let agent: TestAgent;
let upstream: SchemaUpstream;
let connectionId: string;

beforeAll(async () => {
  [gw, upstream] = await Promise.all([
    startGateway(),
    startSchemaUpstream([
      {
        name: 'backtracking',
        description: 'catastrophic backtracking in pattern',
        inputSchema: { type: 'object', properties: { word: { type: 'string', pattern: '^(a+)+$' } }, required: ['word'] },
      },
      {
        name: 'backtracking_keys',
        description: 'catastrophic backtracking in patternProperties',
        inputSchema: { type: 'object', patternProperties: { '^(a+)+$': { type: 'number' } }, additionalProperties: false },
      },
      {
        name: 'backreference',
        description: 'a pattern RE2 cannot run',
        inputSchema: { type: 'object', properties: { pair: { type: 'string', pattern: '^(a)\\1$' }, n: { type: 'integer' } } },
      },
      {
        name: 'huge_program',
        description: 'linear, but with a 50,000-instruction program',
        inputSchema: { type: 'object', properties: { text: { type: 'string', pattern: '\\w{1000}'.repeat(50) } } },
      },
      {
        name: 'unicode',
        description: 'JavaScript escapes translated for RE2',
        inputSchema: { type: 'object', properties: { code: { type: 'string', pattern: '^[\\u0041-\\u005A]{3}-\\d+$' } } },
      },
    ]),
  ]);
  agent = await gw.agent('pattern-agent', 'pattern-ns');
  connectionId = await createConnection(gw, agent, 'patterns', upstream.url);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

async function execute(tool: string, args: Record<string, unknown>) {
  const response = await gw.request(`${BASE}/connections/${connectionId}/tools/${tool}/execute`, {
    method: 'POST',
    token: agent.token,
    body: { arguments: args },
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('upstream schema patterns run in linear time (SPEC §14)', () => {
  it('refuses an argument against a catastrophic-backtracking pattern quickly, while /health stays fast', async () => {
    const callsBefore = upstream.calls();
    const { result, worstHealthMs } = await probeHealthWhile(gw.url, () => execute('backtracking', { word: HOSTILE }));
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({ error_code: 'VALIDATION_ERROR', details: { field: 'arguments.word' } });
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
    expect(upstream.calls()).toBe(callsBefore);
  });

  it('still accepts an argument the pattern matches', async () => {
    const { status, body } = await execute('backtracking', { word: 'a'.repeat(5_000) });
    expect(status).toBe(200);
    expect(body.result.result).toEqual({ word: 'a'.repeat(5_000) });
  });

  it('runs patternProperties on the same engine', async () => {
    const { result, worstHealthMs } = await probeHealthWhile(gw.url, () => execute('backtracking_keys', { [HOSTILE]: 1 }));
    expect(result.status).toBe(400);
    expect(result.body.error_code).toBe('VALIDATION_ERROR');
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
    expect((await execute('backtracking_keys', { aaaa: 1 })).status).toBe(200);
  });

  it('leaves a pattern RE2 cannot run to the upstream and still enforces the rest of the schema', async () => {
    const relayed = await execute('backreference', { pair: 'xy' });
    expect(relayed.status).toBe(200);
    expect(relayed.body.result.result).toEqual({ pair: 'xy' });
    const wrongType = await execute('backreference', { pair: 'aa', n: 'three' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.details.field).toBe('arguments.n');
  });

  it('bounds the matching work of one call: a huge program over a long argument is left to the upstream', async () => {
    // 50,000 instructions × 100,000 characters took re2js 76 s; past the match budget the gateway does not match.
    const text = `${'a'.repeat(100_000)}!`;
    const { result, worstHealthMs } = await probeHealthWhile(gw.url, () => execute('huge_program', { text }));
    expect(result.status).toBe(200);
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
    // Within the budget the same pattern is enforced.
    expect((await execute('huge_program', { text: 'short' })).status).toBe(400);
  });

  it('keeps the meaning of JavaScript escapes such as \\uXXXX', async () => {
    expect((await execute('unicode', { code: 'ABC-42' })).status).toBe(200);
    const refused = await execute('unicode', { code: 'abc-42' });
    expect(refused.status).toBe(400);
    expect(refused.body.details.field).toBe('arguments.code');
  });
});
