/**
 * SPEC §10, issue 10 finding 1: one tenant's data can never make another
 * tenant's audit row disappear. On PostgreSQL, `jsonb` refuses NUL; a
 * poisoned argument or upstream result used to fail the whole group-commit
 * batch, so other namespaces' calls ran upstream and then answered 404 with
 * no row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionSchema } from '../../src/db/entities/index.js';
import { ExecuteToolDocument, StartExecutionDocument } from '../gql/graphql.js';
import { codes, graphql } from '../graphql/client.js';
import { POISONED_TEXT, startNulResultUpstream, type NulResultUpstream } from '../fixtures/nul-result-upstream.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const NAMESPACES = ['audit-a', 'audit-b', 'audit-c'];
const CALLS_PER_NAMESPACE = 15;

let database: TestDatabase;
let upstream: NulResultUpstream;
let gw: TestGateway;
const tenants: { agent: TestAgent; connectionId: string }[] = [];

beforeAll(async () => {
  [database, upstream] = await Promise.all([createTestDatabase('postgresql'), startNulResultUpstream()]);
  gw = await startGateway({ TMWS_DATABASE_URL: database.url });
  for (const namespace of NAMESPACES) {
    const agent = await gw.agent(`${namespace}-agent`, namespace);
    const created = await gw.request('/api/v1/mcp/connections', {
      method: 'POST',
      token: agent.token,
      body: { server_name: 'nul', url: upstream.url },
    });
    expect(created.status).toBe(201);
    tenants.push({ agent, connectionId: ((await created.json()) as { id: string }).id });
  }
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
  await database?.drop();
});

const execute = (tenant: (typeof tenants)[number], tool: string, args: Record<string, unknown>) =>
  gw.request(`/api/v1/mcp/connections/${tenant.connectionId}/tools/${tool}/execute`, {
    method: 'POST',
    token: tenant.agent.token,
    body: { arguments: args },
  });

async function storedRow(id: string) {
  return gw.gateway.services.orm.em.fork().findOne(ExecutionSchema, { id });
}

describe('audit rows on PostgreSQL under a poisoned call', () => {
  it('keeps the row of every other tenant’s call, refuses a NUL argument and stores a NUL result safely', async () => {
    const [poisoner] = tenants as [(typeof tenants)[number]];
    const ordinary = tenants.flatMap((tenant) =>
      Array.from({ length: CALLS_PER_NAMESPACE }, (_, i) => ({ tenant, message: `${tenant.agent.namespace}-${i}` })),
    );
    // The poisoned calls are sent in the middle of the others, so they share the others' write batches.
    const calls = ordinary.map(
      ({ tenant, message }) =>
        () =>
          execute(tenant, 'echo', { message }),
    );
    const middle = Math.floor(calls.length / 2);
    calls.splice(
      middle,
      0,
      () => execute(poisoner, 'echo', { message: 'poison\u0000' }),
      () => execute(poisoner, 'nul', {}),
    );
    const sent = await Promise.all(calls.map((call) => call()));
    const [poisonedArgument, poisonedResult] = sent.splice(middle, 2) as [Response, Response];
    const answers = sent;

    for (const [i, answer] of answers.entries()) {
      const { tenant, message } = ordinary[i]!;
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as { execution_id: string; result: { result: unknown } };
      expect(body.result.result).toBe(message);
      const row = await storedRow(body.execution_id);
      expect(row).toMatchObject({ status: 'COMPLETED', namespace: tenant.agent.namespace, arguments: { message } });
    }

    expect(poisonedArgument.status).toBe(400);
    expect(await poisonedArgument.json()).toMatchObject({ error_code: 'VALIDATION_ERROR', details: { field: 'arguments' } });

    // The caller gets the upstream's answer unchanged; the stored copy has U+FFFD where PostgreSQL would refuse.
    expect(poisonedResult.status).toBe(200);
    const nul = (await poisonedResult.json()) as { execution_id: string; result: { content: { text: string }[] } };
    expect(nul.result.content[0]!.text).toBe(POISONED_TEXT);
    const row = await storedRow(nul.execution_id);
    expect(row?.status).toBe('COMPLETED');
    expect(row?.result).toMatchObject({
      content: [{ type: 'text', text: 'poison\uFFFD and \uFFFD alone' }],
      structuredContent: { text: 'poison\uFFFD and \uFFFD alone', 'key\uFFFD': 1 },
    });

    // Nothing of the refused call was recorded.
    expect(await gw.gateway.services.orm.em.fork().count(ExecutionSchema, {})).toBe(ordinary.length + 1);
  }, 60_000);

  it('stores an upstream catalogue carrying NUL with U+FFFD instead of failing the create', async () => {
    const read = await gw.request(`/api/v1/mcp/connections/${tenants[0]!.connectionId}`, { token: tenants[0]!.agent.token });
    const { tools } = (await read.json()) as { tools: { name: string; description: string }[] };
    expect(tools.find((tool) => tool.name === 'nul')?.description).toBe('Answers text with NUL\uFFFD');
  });

  it('refuses a NUL argument on GraphQL before anything runs', async () => {
    const tenant = tenants[1]!;
    const before = await gw.gateway.services.orm.em.fork().count(ExecutionSchema, {});
    const poisoned = [{ message: 'nul\u0000' }, { message: 'fine', extra: { ['nested\u0000key']: 'x' } }];
    for (const document of [ExecuteToolDocument, StartExecutionDocument]) {
      for (const args of poisoned) {
        const input = { connectionId: tenant.connectionId, toolName: 'echo', arguments: args };
        const result = await graphql(gw, document, { input }, tenant.agent.token);
        expect(codes(result)).toEqual(['VALIDATION_ERROR']);
      }
    }
    expect(await gw.gateway.services.orm.em.fork().count(ExecutionSchema, {})).toBe(before);
  });
});
