import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverythingUpstream, type EverythingUpstream } from '../fixtures/everything-upstream.js';
import { createConnection } from '../helpers/connections.js';
import { NODE_22, packageFile } from '../helpers/node22.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';

/**
 * A real MCP client nobody here wrote: the MCP Inspector's CLI mode, on the
 * pinned Node 22 binary it needs, against the gateway's `/mcp` — the command
 * the README gives users.
 */

const INSPECTOR = packageFile('@modelcontextprotocol/inspector', 'clients', 'launcher', 'build', 'index.js');

let gw: TestGateway;
let upstream: EverythingUpstream;
let agent: TestAgent;
let home: string;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'tmws-inspector-'));
  [gw, upstream] = await Promise.all([startGateway(), startEverythingUpstream()]);
  agent = await gw.agent('inspector-agent', 'inspector-ns');
  await createConnection(gw, agent, 'every', upstream.url);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
  rmSync(home, { recursive: true, force: true });
});

/** `inspector --cli <gateway>/mcp --header "Authorization: Bearer …" <args>`, its standard output parsed as JSON. */
async function inspector(...args: string[]): Promise<unknown> {
  const argv = [INSPECTOR, '--cli', `${gw.url}/mcp`, '--transport', 'http', '--header', `Authorization: Bearer ${agent.token}`, ...args];
  const stdout = await new Promise<string>((resolve, reject) => {
    // Its own catalog file goes to a private HOME, not the user's.
    const env = { ...process.env, HOME: home, MCP_CATALOG_PATH: join(home, 'mcp.json') };
    execFile(NODE_22, argv, { env, timeout: 60_000 }, (error, out, err) =>
      error ? reject(new Error(`inspector failed: ${error.message}\n${String(err)}`)) : resolve(String(out)),
    );
  });
  return JSON.parse(stdout) as unknown;
}

describe('MCP Inspector CLI on /mcp', () => {
  it('lists the aggregated tools and calls one', { timeout: 120_000 }, async () => {
    const listed = (await inspector('--method', 'tools/list')) as { tools: { name: string }[] };
    expect(listed.tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['every__add', 'search_tools', 'call_tool']));
    const called = await inspector('--method', 'tools/call', '--tool-name', 'every__add', '--tool-arg', 'a=2', 'b=40');
    expect(called).toMatchObject({ structuredContent: { sum: 42 }, content: [{ type: 'text', text: '{"sum":42}' }] });
  });
});
