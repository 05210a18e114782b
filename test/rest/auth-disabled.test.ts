/** `TMWS_AUTH_ENABLED=false` (development/test only): every request acts as the documented dev agent. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { graphql } from '../graphql/client.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({ TMWS_AUTH_ENABLED: 'false' });
});
afterAll(async () => gw?.close());

describe('authentication disabled', () => {
  it('serves REST and GraphQL without a token as agent dev-agent, admin of namespace default', async () => {
    const list = await gw.request('/api/v1/mcp/connections');
    expect(list.status).toBe(200);
    expect(await list.json()).toMatchObject({ connections: [], total: 0 });
    const me = await graphql<{ me: { id: string; namespace: string; role: string } }>(gw, '{ me { id namespace role } }');
    expect(me.body.data?.me).toEqual({ id: 'dev-agent', namespace: 'default', role: 'ADMIN' });
  });

  it('still refuses a body that names another namespace', async () => {
    const response = await gw.request('/api/v1/mcp/connections', {
      method: 'POST',
      body: { server_name: 'x', url: 'http://127.0.0.1:9/mcp', namespace: 'elsewhere' },
    });
    expect(response.status).toBe(403);
  });
});
