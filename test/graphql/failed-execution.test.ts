/**
 * A call the transport loses is on the record (SPEC §8, §10): REST answers 502
 * with the execution id, and the audit row is FAILED with its error on REST's
 * and GraphQL's side alike — from REST execute and from GraphQL executeTool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { spawnTestUpstream, type SpawnedTestUpstream } from '../helpers/upstreams/spawn-upstream.js';
import { codes, graphql } from './client.js';

const BASE = '/api/v1/mcp';
let gw: TestGateway;
let upstream: SpawnedTestUpstream;
let agent: TestAgent;
let connectionId: string;

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), spawnTestUpstream()]);
  agent = await gw.agent('crash-witness', 'failed-rows');
  const response = await gw.request(`${BASE}/connections`, {
    method: 'POST',
    token: agent.token,
    body: { server_name: 'fragile', url: upstream.url },
  });
  expect(response.status).toBe(201);
  connectionId = ((await response.json()) as { id: string }).id;
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

interface Row {
  id: string;
  toolName: string;
  status: string;
  errorCode: string | null;
  errorMessage: string | null;
  finishedAt: string | null;
}

async function failedRows(): Promise<Row[]> {
  const result = await graphql<{ executions: { edges: { node: Row }[] } }>(
    gw,
    'query($c: ID!) { executions(connectionId: $c, status: FAILED, first: 10) { edges { node { id toolName status errorCode errorMessage finishedAt } } } }',
    { c: connectionId },
    agent.token,
  );
  expect(result.body.errors).toBeUndefined();
  return result.body.data!.executions.edges.map((e) => e.node);
}

describe('an upstream that dies mid-call', () => {
  it('is a 502 on REST and a FAILED row readable over GraphQL', async () => {
    const response = await gw.request(`${BASE}/connections/${connectionId}/tools/crash/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: {} },
    });
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error_code: string; details: { execution_id?: string; connection_id?: string } };
    expect(body).toMatchObject({ error_code: 'EXTERNAL_SERVICE_ERROR', details: { connection_id: connectionId } });
    await upstream.restart();

    const rows = await failedRows();
    expect(rows).toHaveLength(1);
    expect(body.details.execution_id).toBe(rows[0]!.id);
    expect(rows[0]).toMatchObject({ toolName: 'crash', status: 'FAILED', errorCode: expect.any(String), finishedAt: expect.any(String) });
    expect(rows[0]!.errorMessage).toBeTruthy();
  });

  it('is an EXTERNAL_SERVICE_ERROR from executeTool and a second FAILED row', async () => {
    const result = await graphql(
      gw,
      'mutation($input: ExecuteToolInput!) { executeTool(input: $input) { id status } }',
      { input: { connectionId, toolName: 'crash', arguments: {} } },
      agent.token,
    );
    expect(codes(result)).toEqual(['EXTERNAL_SERVICE_ERROR']);
    await upstream.restart();
    const rows = await failedRows();
    expect(rows.map((r) => r.status)).toEqual(['FAILED', 'FAILED']);
    // Newest first: the row this call ended is the one its error names.
    expect(result.body.errors?.[0]?.extensions?.details).toMatchObject({ execution_id: rows[0]!.id });
  });
});
