import { expect } from 'vitest';
import type { TestAgent, TestGateway } from './gateway.js';

/** Creates a connection over REST (expects 201) and returns its id. */
export async function createConnection(gw: TestGateway, agent: TestAgent, serverName: string, url: string): Promise<string> {
  const created = await gw.request('/api/v1/mcp/connections', {
    method: 'POST',
    token: agent.token,
    body: { server_name: serverName, url },
  });
  expect(created.status).toBe(201);
  return ((await created.json()) as { id: string }).id;
}
