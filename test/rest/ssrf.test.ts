import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

const BASE = '/api/v1/mcp';
let gw: TestGateway;
let permissive: TestGateway;
let agent: TestAgent;
let trap: Server;
let trapPort: number;
let trapConnections = 0;
let upstream: TestUpstream;

beforeAll(async () => {
  // A listener on loopback that counts every TCP connection: a refused URL must never reach it.
  trap = createServer((socket) => {
    trapConnections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  trapPort = (trap.address() as { port: number }).port;
  upstream = await startTestUpstream();
  [gw, permissive] = await Promise.all([
    startGateway({ TMWS_ENVIRONMENT: 'production' }),
    startGateway({ TMWS_ENVIRONMENT: 'production', TMWS_MCP_ALLOWED_HOSTS: '127.0.0.1/32' }),
  ]);
  agent = await gw.agent('ssrf-agent', 'ssrf-ns');
});
afterAll(async () => {
  await Promise.all([gw?.close(), permissive?.close(), upstream?.stop()]);
  trap?.close();
});

describe('SSRF guard in production (SPEC §6)', () => {
  const refused = () => [
    `http://127.0.0.1:${trapPort}/mcp`,
    `http://localhost:${trapPort}/mcp`,
    `http://[::1]:${trapPort}/mcp`,
    'http://10.0.0.5/mcp',
    'http://172.16.0.1/mcp',
    'http://192.168.1.1/mcp',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.0.1/mcp',
    'http://[fd00::1]/mcp',
    'http://[fe80::1]/mcp',
    'http://0.0.0.0/mcp',
    'http://[::ffff:127.0.0.1]/mcp',
  ];

  it('refuses private, loopback, link-local, CGNAT, unique-local and unspecified targets before connecting', async () => {
    for (const [i, url] of refused().entries()) {
      const response = await gw.request(`${BASE}/connections`, { method: 'POST', token: agent.token, body: { server_name: `s${i}`, url } });
      expect(response.status, url).toBe(400);
      const body = await response.json();
      expect(body.error_code).toBe('VALIDATION_ERROR');
      expect(body.details).toMatchObject({ field: 'url', reason: 'url_not_allowed' });
    }
    expect(trapConnections).toBe(0);
    const list = await (await gw.request(`${BASE}/connections`, { token: agent.token })).json();
    expect(list.total).toBe(0);
  });

  it('answers an unresolvable name exactly like a refused internal one, so answers do not map internal DNS', async () => {
    const prober = await gw.agent('dns-prober', 'ssrf-ns');
    const answer = async (server_name: string, url: string) => {
      const response = await gw.request(`${BASE}/connections`, { method: 'POST', token: prober.token, body: { server_name, url } });
      const { error_code, message, details } = await response.json();
      return { status: response.status, error_code, message, details };
    };
    const internal = await answer('internal', `http://localhost:${trapPort}/mcp`);
    const missing = await answer('missing', 'http://no-such-host.invalid/mcp');
    expect(missing).toEqual(internal);
    expect(internal).toMatchObject({ status: 400, error_code: 'VALIDATION_ERROR', details: { reason: 'url_not_allowed' } });
    expect(internal.message).toContain('TMWS_MCP_ALLOWED_HOSTS');
  });

  it('allows a listed range', async () => {
    const admin = await permissive.agent('ssrf-allowed', 'ssrf-ns');
    const response = await permissive.request(`${BASE}/connections`, {
      method: 'POST',
      token: admin.token,
      body: { server_name: 'allowed', url: upstream.url },
    });
    expect(response.status).toBe(201);
  });
});
