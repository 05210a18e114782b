/**
 * SPEC §6: the SSRF guard runs in every environment. A development gateway with
 * nothing configured reaches loopback upstreams (the walk-through) and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

const BASE = '/api/v1/mcp';
let gw: TestGateway;
let agent: TestAgent;
let upstream: TestUpstream;

beforeAll(async () => {
  upstream = await startTestUpstream();
  // As `npm start` runs it: development, generated secret key, no TMWS_MCP_ALLOWED_HOSTS.
  gw = await startGateway({ TMWS_ENVIRONMENT: 'development', TMWS_SECRET_KEY: '' });
  agent = await gw.agent('dev-ssrf', 'dev-ssrf-ns');
});
afterAll(async () => {
  await Promise.all([gw?.close(), upstream?.stop()]);
});

describe('SSRF guard of a development gateway with default settings', () => {
  it('runs in development with a generated key and the loopback-only default', () => {
    expect(gw.config.environment).toBe('development');
    expect(gw.config.auth.secretSource).toBe('file');
    expect(gw.config.upstreams.allowedHosts).toEqual(['127.0.0.0/8', '::1', 'localhost']);
  });

  it.each(['http://169.254.169.254/', 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.5/mcp', 'http://192.168.1.1/mcp'])(
    'refuses %s with 400 url_not_allowed naming TMWS_MCP_ALLOWED_HOSTS',
    async (url) => {
      const response = await gw.request(`${BASE}/connections`, {
        method: 'POST',
        token: agent.token,
        body: { server_name: 'metadata', url },
      });
      expect(response.status).toBe(400);
      const body = await response.json();
      expect(body).toMatchObject({ error_code: 'VALIDATION_ERROR', details: { field: 'url', reason: 'url_not_allowed' } });
      expect(body.message).toContain('TMWS_MCP_ALLOWED_HOSTS');
      expect(body.message).not.toMatch(/credential/i);
    },
  );

  it('connects to an upstream on loopback, as in the walk-through', async () => {
    const response = await gw.request(`${BASE}/connections`, {
      method: 'POST',
      token: agent.token,
      body: { server_name: 'local', url: upstream.url },
    });
    expect(response.status).toBe(201);
    expect((await response.json()).status).toBe('active');
    const list = await (await gw.request(`${BASE}/connections`, { token: agent.token })).json();
    expect(list.connections.map((c: { server_name: string }) => c.server_name)).toEqual(['local']);
  });
});
