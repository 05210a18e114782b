/**
 * Upstream credentials are stored sealed (README "Upstream headers"): after a
 * create with `headers`, the secret value appears nowhere in the database file,
 * its WAL, or any API answer, yet the upstream receives it on every request.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

const SECRET = 'sk-live-0123456789abcdef-never-in-clear';
let gw: TestGateway;
let upstream: TestUpstream;

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), startTestUpstream({ requiredHeaders: { authorization: `Bearer ${SECRET}` } })]);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

function databaseFiles(): Buffer[] {
  if (gw.config.database.target.driver !== 'sqlite') throw new Error('this test reads the SQLite files');
  const dbPath = gw.config.database.target.path;
  const dir = dirname(dbPath);
  return readdirSync(dir)
    .filter((name) => name.startsWith('tmws.db'))
    .map((name) => readFileSync(join(dir, name)));
}

describe('upstream headers at rest', () => {
  it('reach the upstream but are stored sealed and never returned', async () => {
    const agent = await gw.agent('sealer', 'sealed');
    const created = await gw.request('/api/v1/mcp/connections', {
      method: 'POST',
      token: agent.token,
      body: { server_name: 'guarded', url: upstream.url, headers: { Authorization: `Bearer ${SECRET}` } },
    });
    const text = await created.text();
    expect(created.status, text).toBe(201);
    expect(text).not.toContain(SECRET);
    const { id } = JSON.parse(text) as { id: string };

    const executed = await gw.request(`/api/v1/mcp/connections/${id}/tools/echo/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: { message: 'hi' } },
    });
    expect(executed.status).toBe(200);
    expect(upstream.state().unauthorized).toBe(0);

    const files = databaseFiles();
    expect(files.length).toBeGreaterThan(0);
    expect(files.some((f) => f.includes(Buffer.from('guarded')))).toBe(true);
    for (const file of files) expect(file.includes(Buffer.from(SECRET))).toBe(false);

    const read = await (await gw.request(`/api/v1/mcp/connections/${id}`, { token: agent.token })).text();
    expect(read).not.toContain(SECRET);
  });
});
